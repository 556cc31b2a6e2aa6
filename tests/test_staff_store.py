"""The staff's conversation store reads what Rasa's own SQLTrackerStore wrote: the list with its
filters and pages, one conversation turn by turn, personal data masked, damaged rows shown as
unreadable, new messages picked up, and the database found from endpoints.yml as Rasa finds it."""
import asyncio
import sqlite3
from datetime import datetime, timezone
from pathlib import Path
from time import perf_counter

import pytest
import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, SessionStarted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot.staff.pseudonym import masked_conversation_id
from bot.staff.store import LOW_CONFIDENCE, ConversationNotFound, ConversationStore, InvalidQuery

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DOMAIN = Domain.load(PROJECT_ROOT / "domain.yml")
HOSPITAL_ANSWER = "โทรหาพยาบาลได้ที่ 02-123-4567 ค่ะ"  # the hospital's own number: never masked


def at(day, hour=9, minute=0):
    """A unix time on a day of November 2026, UTC."""
    return datetime(2026, 11, day, hour, minute, tzinfo=timezone.utc).timestamp()


def session_start(time):
    return [ActionExecuted("action_session_start", timestamp=time), SessionStarted(timestamp=time),
            ActionExecuted("action_listen", timestamp=time)]


def turn(text, time, *, intent="ask_overview", confidence=0.95, language="en", channel="rest", procedure=None,
         slots=(), action="action_answer_topic", answer="An answer.", buttons=(), safety=None):
    """A patient's message and the assistant's answer, as Rasa stores them."""
    entities = [{"entity": "language", "value": language, "start": 0, "end": len(text)}]
    if procedure:
        value, words = procedure
        entities.append({"entity": "procedure", "value": value, "start": text.index(words),
                         "end": text.index(words) + len(words)})
        slots = (("procedure", value),) + tuple(slots)
    others = ["ask_risks", "ask_recovery", "ask_duration", "ask_compare", "greet"]
    ranking = [{"name": intent, "confidence": confidence}] + [
        {"name": name, "confidence": round((1 - confidence) / (rank + 2), 4)} for rank, name in enumerate(others)]
    return [
        UserUttered(text, {"name": intent, "confidence": confidence}, entities,
                    parse_data={"intent_ranking": ranking, **({"safety": safety} if safety else {})},
                    timestamp=time, input_channel=channel,
                    message_id=f"{channel}-{int(time)}"),
        SlotSet("language", language, timestamp=time),
        *(SlotSet(name, value, timestamp=time) for name, value in slots),
        ActionExecuted(action, timestamp=time),
        BotUttered(answer, {"buttons": [{"title": title, "payload": "/affirm"} for title in buttons]}, timestamp=time),
        ActionExecuted("action_listen", timestamp=time),
    ]


# Four patients, one a day from 20 November; the Chinese patient comes back on the 25th.
CONVERSATIONS = {
    "thai-patient": [
        session_start(at(20)) + turn(
            "สวัสดีค่ะ เบอร์0812345678ค่ะ อยากทราบเรื่อง microdiscectomy", at(20), language="th", channel="line",
            procedure=("microdiscectomy", "microdiscectomy"), buttons=("ความเสี่ยง", "การพักฟื้น"))
        + turn("ขอคุยกับพยาบาลค่ะ", at(20, 9, 5), intent="request_human", confidence=0.9, language="th",
               channel="line", slots=(("handoff_requested", True),), action="action_hand_off",
               answer=HOSPITAL_ANSWER),
    ],
    "korean-patient": [
        session_start(at(21)) + turn(
            "내시경 디스크 수술 후 다리에 힘이 빠져요 주민번호 900101-1234567", at(21), intent="report_red_flag",
            confidence=0.97, language="ko", channel="kakao", procedure=("endoscopic_discectomy", "내시경 디스크"),
            slots=(("red_flag_raised", True),), action="action_escalate",
            # What the safety layer stores when it overrides the classifier (its matched words unmasked).
            safety={"kind": "urgent", "symptoms": ["leg_weakness"], "matched": ["다리에 힘이 빠", "900101-1234567"],
                    "classifier_intent": "ask_recovery", "classifier_confidence": 0.41, "overridden": True}),
    ],
    "english-patient": [
        session_start(at(22)) + turn(
            "my email is jane@example.com, what are the risks of MISS?", at(22), intent="ask_risks",
            confidence=0.88, procedure=("miss", "MISS"))
        + turn("blorp", at(22, 9, 2), intent="nlu_fallback", confidence=0.7, action="action_default_fallback"),
    ],
    "chinese-patient": [
        session_start(at(23)) + turn("显微椎板切除术是什么", at(23), confidence=0.45, language="zh", channel="wechat",
                                     procedure=("microlaminectomy", "显微椎板切除术")),
        session_start(at(25)) + turn("恢复要多久", at(25), intent="ask_recovery", language="zh", channel="wechat"),
    ],
}
NEWEST_FIRST = ["chinese-patient", "english-patient", "korean-patient", "thai-patient"]


async def write(database, sender, events):
    """What Rasa does with a message: read the conversation back, add the new events, save it."""
    store = SQLTrackerStore(domain=DOMAIN, dialect="sqlite", db=str(database))
    tracker = await store.retrieve(sender) or DialogueStateTracker.from_events(sender, [], DOMAIN.slots)
    tracker.update_with_events(events, DOMAIN, override_timestamp=False)
    await store.save(tracker)
    store.engine.dispose()


def write_all(database, conversations):
    for sender, visits in conversations.items():
        for events in visits:
            asyncio.run(write(database, sender, events))


@pytest.fixture(scope="module")
def database(tmp_path_factory):
    database = tmp_path_factory.mktemp("staff") / "tracker.db"
    write_all(database, CONVERSATIONS)
    return database


@pytest.fixture
def store(database):
    return ConversationStore(f"sqlite:///{database}")


@pytest.fixture
def own_database(tmp_path):
    """A database for a test that changes it."""
    database = tmp_path / "tracker.db"
    write_all(database, {"thai-patient": CONVERSATIONS["thai-patient"]})
    return database


def listed_ids(listing):
    """The ids a listing shows, with masked ones (the default) turned back into the stored ids."""
    return [unmasked_id(conversation["id"]) for conversation in listing["conversations"]]


def unmasked_id(shown_id):
    """The stored id of a masked one, among the ids these tests store."""
    known = list(CONVERSATIONS) + ["english-patient", "korean-patient"]
    return next((sender for sender in known if masked_conversation_id(sender) == shown_id), shown_id)


def event_rows_read(store):
    """The ids of the event rows (with their data) the store reads from here on, as SQLite returns them."""
    read = []

    def count(cursor, row):
        if any(column[0] == "data" for column in cursor.description):
            read.append(row[0])
        return row

    sa.event.listen(store.engine, "connect", lambda connection, _: setattr(connection, "row_factory", count))
    return read


# --- The list --------------------------------------------------------------------------------------

def test_the_list_summarises_each_conversation_most_recently_active_first(store):
    listing = store.list_conversations()
    assert (listing["total"], listing["page"], listing["page_size"]) == (4, 1, 20)
    assert listed_ids(listing) == NEWEST_FIRST
    thai = listing["conversations"][3]
    assert thai == {
        "id": masked_conversation_id("thai-patient"),  # a masked list never shows an id
        "started": "2026-11-20T09:00:00+00:00",
        "last_active": "2026-11-20T09:05:00+00:00",
        "turns": 2,
        "languages": ["th"],
        "procedures": ["microdiscectomy"],
        "channels": ["line"],
        "handoff": True,
        "red_flag": False,
        "fallback": False,
        "low_confidence": False,
        "lowest_confidence": 0.9,
        "first_message": "สวัสดีค่ะ เบอร์[phone]ค่ะ อยากทราบเรื่อง microdiscectomy",
        "unreadable_events": 0,
    }
    chinese = listing["conversations"][0]
    assert (chinese["started"], chinese["last_active"], chinese["turns"]) == (
        "2026-11-23T09:00:00+00:00", "2026-11-25T09:00:00+00:00", 2)
    assert chinese["lowest_confidence"] == 0.45 < LOW_CONFIDENCE


@pytest.mark.parametrize("filters, expected", [
    ({"language": "th"}, ["thai-patient"]),
    ({"language": "zh"}, ["chinese-patient"]),
    ({"procedure": "miss"}, ["english-patient"]),
    ({"procedure": "endoscopic_discectomy"}, ["korean-patient"]),
    ({"handoff": True}, ["thai-patient"]),
    ({"handoff": False}, ["chinese-patient", "english-patient", "korean-patient"]),
    ({"red_flag": "true"}, ["korean-patient"]),
    ({"red_flag": "false"}, ["chinese-patient", "english-patient", "thai-patient"]),
    ({"fallback": "1"}, ["english-patient"]),
    ({"fallback": "0"}, ["chinese-patient", "korean-patient", "thai-patient"]),
    ({"low_confidence": True}, ["chinese-patient"]),
    ({"low_confidence": "false"}, ["english-patient", "korean-patient", "thai-patient"]),
    ({"date_from": "2026-11-21", "date_to": "2026-11-22"}, ["english-patient", "korean-patient"]),
    ({"date_from": "2026-11-24"}, ["chinese-patient"]),
    ({"date_to": "2026-11-20"}, ["thai-patient"]),
    ({"date_from": "2026-11-24", "date_to": "2026-11-24"}, []),  # the Chinese patient was away that day
    ({"language": "en", "fallback": "true", "handoff": "false"}, ["english-patient"]),
    ({"language": "", "handoff": None}, NEWEST_FIRST),  # a form's "any" choice
])
def test_each_filter_and_its_opposite(store, filters, expected):
    listing = store.list_conversations(**filters)
    assert listed_ids(listing) == expected
    assert listing["total"] == len(expected)


def test_pages_split_the_list_without_overlap(store):
    pages = [store.list_conversations(page=page, page_size="3") for page in (1, 2, 3)]
    assert [listed_ids(page) for page in pages] == [NEWEST_FIRST[:3], NEWEST_FIRST[3:], []]
    assert {page["total"] for page in pages} == {4}


def test_personal_data_is_masked_unless_asked_otherwise(store):
    masked = {unmasked_id(c["id"]): c["first_message"] for c in store.list_conversations()["conversations"]}
    unmasked = {c["id"]: c["first_message"] for c in store.list_conversations(mask=False)["conversations"]}
    assert masked["korean-patient"] == "내시경 디스크 수술 후 다리에 힘이 빠져요 주민번호 [national ID]"
    assert masked["english-patient"] == "my email is [email], what are the risks of MISS?"
    assert unmasked["english-patient"] == "my email is jane@example.com, what are the risks of MISS?"
    assert unmasked["thai-patient"] == "สวัสดีค่ะ เบอร์0812345678ค่ะ อยากทราบเรื่อง microdiscectomy"


@pytest.mark.parametrize("filters, parameter", [
    ({"language": "fr"}, "language"),
    ({"procedure": "spinal_fusion"}, "procedure"),
    ({"date_from": "2026-13-01"}, "date_from"),
    ({"date_to": "25/11/2026"}, "date_to"),
    ({"date_from": "2026-11-25", "date_to": "2026-11-20"}, "date_from"),
    ({"handoff": "yes"}, "handoff"),
    ({"low_confidence": 2}, "low_confidence"),
    ({"page": 0}, "page"),
    ({"page": "two"}, "page"),
    ({"page_size": 0}, "page_size"),
    ({"page_size": "101"}, "page_size"),
    ({"page_size": True}, "page_size"),
])
def test_a_request_it_cannot_answer_says_which_parameter_is_wrong(store, filters, parameter):
    with pytest.raises(InvalidQuery, match=parameter):
        store.list_conversations(**filters)


# --- One conversation --------------------------------------------------------------------------------

def test_a_conversation_turn_by_turn(store):
    conversation = store.conversation("thai-patient")
    # A masked page names the conversation by its masked id, and that id opens it again.
    assert store.conversation(conversation["id"])["summary"] == conversation["summary"]
    assert (conversation["id"], conversation["total_turns"], conversation["offset"], conversation["limit"]) == (
        masked_conversation_id("thai-patient"), 3, 0, 50)
    assert conversation["summary"]["handoff"] is True
    opening, first, second = conversation["turns"]
    assert opening == {"index": 0, "time": "2026-11-20T09:00:00+00:00", "patient": None, "answers": [],
                       "actions": ["action_session_start"], "slots": {}, "unreadable": []}
    assert first["index"] == 1
    assert first["patient"] == {
        "text": "สวัสดีค่ะ เบอร์[phone]ค่ะ อยากทราบเรื่อง microdiscectomy",
        "intent": "ask_overview",
        "confidence": 0.95,
        "ranking": [{"name": "ask_overview", "confidence": 0.95}, {"name": "ask_risks", "confidence": 0.025},
                    {"name": "ask_recovery", "confidence": 0.0167}, {"name": "ask_duration", "confidence": 0.0125},
                    {"name": "ask_compare", "confidence": 0.01}],
        "entities": [
            {"entity": "language", "value": "th", "text": "สวัสดีค่ะ เบอร์[phone]ค่ะ อยากทราบเรื่อง microdiscectomy"},
            {"entity": "procedure", "value": "microdiscectomy", "text": "microdiscectomy"},
        ],
        "language": "th",
        "channel": "line",
        "message_id": f"line-{int(at(20))}",
        "safety": None,
    }
    assert first["answers"] == [{"text": "An answer.", "buttons": ["ความเสี่ยง", "การพักฟื้น"]}]
    assert first["actions"] == ["action_answer_topic"]
    assert first["slots"] == {"language": "th", "procedure": "microdiscectomy"}
    assert second["time"] == "2026-11-20T09:05:00+00:00"
    assert second["slots"] == {"language": "th", "handoff_requested": True}
    assert second["answers"] == [{"text": HOSPITAL_ANSWER, "buttons": []}]


def test_unmasked_the_patient_text_and_entities_are_as_written(store):
    first = store.conversation("thai-patient", mask="false")["turns"][1]["patient"]
    assert first["text"] == "สวัสดีค่ะ เบอร์0812345678ค่ะ อยากทราบเรื่อง microdiscectomy"
    assert first["entities"][0]["text"] == first["text"]


def test_a_second_visit_continues_the_same_conversation(store):
    turns = store.conversation("chinese-patient")["turns"]
    assert [t["index"] for t in turns] == [0, 1, 2]
    assert turns[1]["actions"] == ["action_answer_topic", "action_session_start"]  # the next visit starts here
    assert turns[2]["patient"]["text"] == "恢复要多久"


def test_an_unknown_conversation_is_not_found(store):
    with pytest.raises(ConversationNotFound):
        store.conversation("nobody")


@pytest.mark.parametrize("paging, parameter", [
    ({"offset": -1}, "offset"), ({"offset": "first"}, "offset"), ({"limit": 0}, "limit"), ({"limit": "201"}, "limit"),
])
def test_a_turn_page_it_cannot_show_says_which_parameter_is_wrong(store, paging, parameter):
    with pytest.raises(InvalidQuery, match=parameter):
        store.conversation("thai-patient", **paging)


@pytest.fixture(scope="module")
def long_conversation(tmp_path_factory):
    """A patient who wrote 3000 messages."""
    database = tmp_path_factory.mktemp("long") / "tracker.db"
    events = session_start(at(1))
    for number in range(1, 3001):
        time = at(1) + number * 60
        events += [UserUttered(f"question {number}", {"name": "ask_risks", "confidence": 0.9}, timestamp=time),
                   ActionExecuted("action_answer_topic", timestamp=time),
                   BotUttered(f"answer {number}", {}, timestamp=time),
                   ActionExecuted("action_listen", timestamp=time)]
    asyncio.run(write(database, "long", events))
    return database


def test_a_long_conversation_is_read_one_page_at_a_time(long_conversation):
    store = ConversationStore(f"sqlite:///{long_conversation}")
    assert store.list_conversations()["conversations"][0]["turns"] == 3000
    rows_read = event_rows_read(store)
    started = perf_counter()
    page = store.conversation("long", offset=1500, limit=50)
    assert perf_counter() - started < 2  # loosely: the whole conversation took much longer to write
    assert page["total_turns"] == 3001
    assert [t["index"] for t in page["turns"]] == list(range(1500, 1550))
    assert [t["patient"]["text"] for t in page["turns"]][:2] == ["question 1500", "question 1501"]
    assert page["turns"][0]["answers"] == [{"text": "answer 1500", "buttons": []}]
    assert len(rows_read) == 50 * 4  # each turn's user, action, bot and listen events, nothing else
    last = store.conversation("long", offset=2995, limit=50)
    assert [t["index"] for t in last["turns"]] == [2995, 2996, 2997, 2998, 2999, 3000]
    assert store.conversation("long", offset=3001)["turns"] == []


# --- Damaged rows ------------------------------------------------------------------------------------

def test_damaged_rows_are_shown_as_unreadable_without_stopping_the_page(own_database):
    damaged = [
        ("bot", "{not json"),
        ("stack", '{"event": "stack", "update": "[]"}'),  # known to newer Rasa versions: skipped, not shown
        ("telepathy", '{"event": "telepathy"}'),
        ("action", "[1, 2]"),
        ("slot", '{"event": "slot", "value": 1}'),
        ("bot", '{"event": ["bot"]}'),
        ("user", "call me on 081-234-5678 {broken"),
    ]
    with sqlite3.connect(own_database) as db:
        db.executemany("INSERT INTO events (sender_id, type_name, timestamp, data) VALUES ('thai-patient', ?, ?, ?)",
                       [(type_name, at(20, 10), data) for type_name, data in damaged])
    store = ConversationStore(f"sqlite:///{own_database}")
    assert store.list_conversations()["conversations"][0]["unreadable_events"] == 6  # all but the stack event
    turns = store.conversation("thai-patient")["turns"]
    assert [t["index"] for t in turns] == [0, 1, 2, 3]
    before_user, user_row = turns[2]["unreadable"], turns[3]["unreadable"]
    assert [(entry["type_name"], entry["raw"]) for entry in before_user] == [damaged[0]] + damaged[2:6]
    assert "not JSON" in before_user[0]["error"] and "unknown event type 'telepathy'" in before_user[1]["error"]
    assert "not a JSON object" in before_user[2]["error"] and "name" in before_user[3]["error"]
    assert "unknown event type" in before_user[4]["error"]
    assert turns[3]["patient"] is None
    assert user_row[0]["raw"] == "call me on [phone] {broken"
    assert store.conversation("thai-patient", mask=False)["turns"][3]["unreadable"][0]["raw"] == damaged[6][1]


# --- New messages ------------------------------------------------------------------------------------

def test_a_new_message_appears_in_the_next_listing_reading_only_the_new_events(own_database):
    asyncio.run(write(own_database, "english-patient", CONVERSATIONS["english-patient"][0]))
    store = ConversationStore(f"sqlite:///{own_database}")
    assert listed_ids(store.list_conversations()) == ["english-patient", "thai-patient"]
    rows_read = event_rows_read(store)
    asyncio.run(write(own_database, "thai-patient", turn("ขอบคุณค่ะ", at(26), intent="thank", language="th")))
    listing = store.list_conversations()
    assert listed_ids(listing) == ["thai-patient", "english-patient"]
    thai = listing["conversations"][0]
    assert (thai["turns"], thai["last_active"]) == (3, "2026-11-26T09:00:00+00:00")
    assert len(rows_read) == 5  # the new turn's events only
    assert store.conversation("thai-patient")["turns"][3]["patient"]["text"] == "ขอบคุณค่ะ"


# --- Where the database is ---------------------------------------------------------------------------

def write_endpoints(directory, text):
    path = directory / "endpoints.yml"
    path.write_text(text, encoding="utf-8")
    return path


def test_our_endpoints_name_an_sqlite_file_relative_to_the_project(tmp_path):
    endpoints = write_endpoints(tmp_path, (PROJECT_ROOT / "endpoints.yml").read_text(encoding="utf-8"))
    store = ConversationStore.from_endpoints(endpoints, tmp_path)
    assert store.list_conversations()["total"] == 0  # no file yet: empty, and none is created
    assert not (tmp_path / "var" / "tracker.db").exists()
    (tmp_path / "var").mkdir()
    write_all(tmp_path / "var" / "tracker.db", {"korean-patient": CONVERSATIONS["korean-patient"]})
    assert listed_ids(store.list_conversations()) == ["korean-patient"]


def test_a_postgresql_password_comes_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("DB_PASSWORD", "s3cr@t/pw")
    endpoints = write_endpoints(tmp_path, """
tracker_store:
  type: SQL
  dialect: "postgresql"
  url: "db.hospital.example"
  port: 5433
  db: "rasa"
  username: "rasa"
  password: ${DB_PASSWORD}
  login_db: "postgres"
  query:
    sslmode: require
""")
    url = ConversationStore.from_endpoints(endpoints, tmp_path).url  # builds the URL, connects nowhere
    assert (url.drivername, url.host, url.port, url.database) == ("postgresql", "db.hospital.example", 5433, "rasa")
    assert (url.username, url.password, dict(url.query)) == ("rasa", "s3cr@t/pw", {"sslmode": "require"})


@pytest.mark.parametrize("tracker_store", [
    "tracker_store:\n  type: redis\n  url: localhost\n",
    "tracker_store:\n  type: rasa.core.tracker_store.InMemoryTrackerStore\n",
    "action_endpoint:\n  url: http://localhost:5055/webhook\n",  # no tracker store: Rasa keeps them in memory
])
def test_a_tracker_store_that_is_not_sql_is_refused(tmp_path, tracker_store):
    with pytest.raises(ValueError, match="SQL tracker stores only"):
        ConversationStore.from_endpoints(write_endpoints(tmp_path, tracker_store), tmp_path)


def test_a_turn_the_safety_layer_escalated_says_why_with_its_words_masked(store):
    [_, turn] = store.conversation("korean-patient")["turns"]
    assert turn["patient"]["intent"] == "report_red_flag"
    safety = turn["patient"]["safety"]
    assert safety["kind"] == "urgent" and safety["symptoms"] == ["leg_weakness"]
    assert safety["classifier_intent"] == "ask_recovery" and safety["classifier_confidence"] == 0.41
    assert safety["matched"][0] == "다리에 힘이 빠" and "1234567" not in safety["matched"][1]
