"""The cached SQLite tracker store reads back exactly what Rasa's own SQLTrackerStore reads from the
same database file, turn after turn, across a new session, a restart and an evicted conversation."""
import pytest
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, SessionStarted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot.tracker_store import CachedSQLTrackerStore
from tests.conftest import PROJECT_ROOT
from tests.helpers import stored_rows

DOMAIN = Domain.load(PROJECT_ROOT / "domain.yml")


@pytest.fixture
def database(tmp_path):
    return tmp_path / "tracker.db"


def cached_store(database, **kwargs):
    return CachedSQLTrackerStore(domain=DOMAIN, dialect="sqlite", db=str(database), **kwargs)


def rasa_store(database):
    return SQLTrackerStore(domain=DOMAIN, dialect="sqlite", db=str(database))


def session_start():
    return [ActionExecuted("action_session_start"), SessionStarted(), ActionExecuted("action_listen")]


def turn(text, language="en"):
    return [
        UserUttered(text, {"name": "ask_risks", "confidence": 0.9}, [{"entity": "language", "value": language}]),
        SlotSet("language", language),
        ActionExecuted("action_answer_topic"),
        BotUttered(f"answer to {text}", {"language": language}),
        ActionExecuted("action_listen"),
    ]


async def handle(store, sender, events):
    """What Rasa's processor does with a message: read the conversation, add to it, save it."""
    tracker = await store.retrieve(sender) or DialogueStateTracker.from_events(sender, [], DOMAIN.slots)
    tracker.update_with_events(events, DOMAIN)
    await store.save(tracker)


async def read(store, sender):
    tracker = await store.retrieve(sender)
    return None if tracker is None else [event.as_dict() for event in tracker.events]


async def test_every_turn_reads_back_as_rasas_own_store_reads_it(database):
    store = cached_store(database)
    assert await read(store, "patient") is None
    await handle(store, "patient", session_start() + turn("first"))
    for number in range(6):
        await handle(store, "patient", turn(f"question {number}", "th"))
        assert await read(store, "patient") == await read(rasa_store(database), "patient")
    assert stored_rows(database, "patient") == 3 + 7 * 5  # each event written once, none lost


async def test_a_new_session_is_read_from_where_the_database_starts_it(database):
    store = cached_store(database)
    await handle(store, "patient", session_start() + turn("first"))
    await handle(store, "patient", turn("second"))
    await handle(store, "patient", session_start() + turn("after a break", "ko"))
    await handle(store, "patient", turn("and then", "ko"))
    events = await read(store, "patient")
    assert events == await read(rasa_store(database), "patient")
    assert [e["text"] for e in events if e["event"] == "user"] == ["after a break", "and then"]
    assert stored_rows(database, "patient") == 2 * 3 + 4 * 5


async def test_a_restarted_server_finds_every_conversation(database):
    before = cached_store(database)
    for sender in ("a", "b"):
        await handle(before, sender, session_start() + turn(f"hello from {sender}"))
        await handle(before, sender, turn("more"))
    after = cached_store(database)
    for sender in ("a", "b"):
        assert await read(after, sender) == await read(before, sender) == await read(rasa_store(database), sender)


async def test_a_conversation_pushed_out_of_memory_is_read_from_the_database_again(database):
    store = cached_store(database, max_cached_conversations=2)
    for sender in ("a", "b", "c"):
        await handle(store, sender, session_start() + turn("hello"))
        await handle(store, sender, turn("again"))
    # Another writer adds to "a", which the store no longer holds in memory: it must see the change.
    await handle(rasa_store(database), "a", turn("written elsewhere"))
    events = await read(store, "a")
    assert events == await read(rasa_store(database), "a")
    assert events[-2]["text"] == "answer to written elsewhere"
    await handle(store, "a", turn("last"))
    assert stored_rows(database, "a") == 3 + 4 * 5
