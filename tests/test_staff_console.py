"""The staff console over real HTTP: the web server with the console, the trained assistant, and the
conversations it stores in its SQLite tracker store."""
import json
import sqlite3
import time
import uuid

import pytest
import requests
import yaml
from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLReader

from bot.staff.pseudonym import masked_conversation_id
from bot.conversation_ids import conversation_id
from bot.staff.conversation_format import load_conversations
from bot.staff.conversation_tests import AssistantClient, run_conversation
from bot.staff.pseudonym import pseudonym
from tests.staff_console_server import ACCOUNTS, ConsoleServer, staff_users

CONSOLE_PAGES = ["/staff/", "/staff/console.js", "/staff/console.css", "/staff/no-such-page"]
CONSOLE_APIS = [
    ("GET", "/staff/api/session"), ("GET", "/staff/api/options"), ("GET", "/staff/api/conversations"),
    ("GET", "/staff/api/conversations/someone"), ("GET", "/staff/api/conversations/someone/test.yml"),
    ("POST", "/staff/api/conversations/someone/save-test"), ("POST", "/staff/api/try"),
    ("GET", "/staff/api/corrections"), ("POST", "/staff/api/corrections"), ("POST", "/staff/api/corrections/remove"),
    ("GET", "/staff/api/corrections.yml"), ("GET", "/staff/api/coverage"), ("POST", "/staff/logout"),
]


@pytest.fixture(scope="module")
def console(assistant, tmp_path_factory):
    server = ConsoleServer(assistant, tmp_path_factory.mktemp("console"))
    yield server
    server.stop()


def logged_in(console, name="alice"):
    session = requests.Session()
    response = session.post(console.url + "/staff/login", data={"user": name, "password": ACCOUNTS[name][1]},
                            allow_redirects=False)
    assert response.status_code == 303 and response.headers["Location"] == "/staff/"
    return session


def patient_conversation(assistant, *messages):
    """The id of a new REST conversation with these messages, as the store keeps it."""
    sender = f"patient-{uuid.uuid4().hex[:10]}"
    for message in messages:
        assistant.say(sender, message)
    return conversation_id("rest", sender)


@pytest.mark.parametrize("path", CONSOLE_PAGES)
def test_without_a_login_every_console_page_answers_401(console, path):
    response = requests.get(console.url + path)
    assert response.status_code == 401
    assert 'action="/staff/login"' in response.text and "Staff console" in response.text


@pytest.mark.parametrize("method, path", CONSOLE_APIS)
def test_without_a_login_every_api_answers_401(console, method, path):
    for cookies in ({}, {"staff_session": "forged-" + uuid.uuid4().hex}):
        response = requests.request(method, console.url + path, json={}, cookies=cookies)
        assert response.status_code == 401, (method, path, cookies)
        assert response.json() == {"error": "Log in to the staff console first."}


def test_login_sets_a_strict_http_only_cookie_and_logout_ends_it(console):
    session = requests.Session()
    response = session.post(console.url + "/staff/login", data={"user": "bob", "password": ACCOUNTS["bob"][1]},
                            allow_redirects=False)
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/staff/" in cookie
    assert session.get(console.url + "/staff/api/session").json() == {"user": "bob", "role": "reviewer"}
    page = session.get(console.url + "/staff/")
    assert page.status_code == 200 and 'src="/staff/console.js"' in page.text
    assert page.headers["Cache-Control"] == "no-store"
    assert session.post(console.url + "/staff/logout", json={}).status_code == 200
    assert requests.get(console.url + "/staff/api/session", cookies={"staff_session": cookie.split(";")[0].split("=", 1)[1]}
                        ).status_code == 401


def test_wrong_passwords_are_refused_and_then_locked_out(assistant, tmp_path):
    server = ConsoleServer(assistant, tmp_path)
    try:
        for _ in range(5):
            response = requests.post(server.url + "/staff/login", data={"user": "alice", "password": "wrong-password"})
            assert response.status_code == 401 and "Wrong name or password." in response.text
        locked = requests.post(server.url + "/staff/login", data={"user": "alice", "password": ACCOUNTS["alice"][1]})
        assert locked.status_code == 429 and "Too many failed logins" in locked.text
    finally:
        server.stop()


def test_without_staff_accounts_the_console_is_off_and_says_how_to_turn_it_on(assistant, tmp_path):
    server = ConsoleServer(assistant, tmp_path, accounts={})
    try:
        page = requests.get(server.url + "/staff/")
        assert page.status_code == 401 and "set STAFF_USERS" in page.text
        login = requests.post(server.url + "/staff/login", data={"user": "alice", "password": ACCOUNTS["alice"][1]})
        assert login.status_code == 401
    finally:
        server.stop()


def test_api_posts_must_be_json(console):
    session = logged_in(console)
    response = session.post(console.url + "/staff/api/try", data={"message": "hello"})
    assert response.status_code == 415


def test_try_it_shows_what_the_assistant_understood_in_each_language(console):
    session = logged_in(console)
    first = session.post(console.url + "/staff/api/try", json={"message": "What are the risks of a microdiscectomy?"})
    assert first.status_code == 200, first.text
    turn = first.json()
    patient = turn["patient"]
    assert patient["language"] == "en" and patient["intent"] == "ask_risks" and patient["confidence"] > 0.5
    assert patient["ranking"][0]["name"] == "ask_risks" and len(patient["ranking"]) > 1
    assert {"entity": "procedure", "value": "microdiscectomy", "text": "microdiscectomy"} in patient["entities"]
    assert "action_answer_topic" in turn["actions"]
    assert turn["slots"]["procedure"] == "microdiscectomy" and turn["slots"]["language"] == "en"
    assert any("infection" in (answer["text"] or "").lower() for answer in turn["answers"])

    thai = session.post(console.url + "/staff/api/try",
                        json={"message": "พักฟื้นนานแค่ไหนคะ", "conversation": turn["conversation"]}).json()
    assert thai["patient"]["language"] == "th" and thai["patient"]["intent"] == "ask_recovery"
    assert thai["slots"]["language"] == "th" and thai["slots"]["procedure"] == "microdiscectomy"  # carried over


@pytest.mark.parametrize("body, message", [
    ({}, "message must be text"), ({"message": "   "}, "message must be text"), ({"message": "x" * 2001}, "1 to 2000"),
    ({"message": "hi", "conversation": "../etc"}, "conversation must be 1 to 32 letters or digits"),
])
def test_try_it_refuses_bad_input_with_a_clear_message(console, body, message):
    response = logged_in(console).post(console.url + "/staff/api/try", json=body)
    assert response.status_code == 400 and message in response.json()["error"]


def test_review_finds_conversations_by_filter_newest_first(console, assistant):
    session = logged_in(console)
    thai = patient_conversation(assistant, "ไมโครดิสเอกโตมีเสี่ยงไหมคะ")
    time.sleep(0.05)
    handoff = patient_conversation(assistant, "I want to talk to a nurse please")
    listing = session.get(console.url + "/staff/api/conversations", params={"page_size": 100, "mask": "false"}).json()
    ids = [c["id"] for c in listing["conversations"]]
    assert ids.index(handoff) < ids.index(thai)  # newest first
    assert not any(i.startswith("rest:staff-") for i in ids)  # the console's own tries are not patients'

    thai_only = session.get(console.url + "/staff/api/conversations", params={"language": "th", "page_size": 100, "mask": "false"}).json()
    assert thai in [c["id"] for c in thai_only["conversations"]]
    assert all("th" in c["languages"] for c in thai_only["conversations"])
    found = next(c for c in thai_only["conversations"] if c["id"] == thai)
    assert found["procedures"] == ["microdiscectomy"] and found["turns"] == 1

    handoffs = session.get(console.url + "/staff/api/conversations", params={"handoff": "true", "page_size": 100, "mask": "false"}).json()
    assert handoff in [c["id"] for c in handoffs["conversations"]] and thai not in [c["id"] for c in handoffs["conversations"]]
    today = time.strftime("%Y-%m-%d", time.gmtime())
    dated = session.get(console.url + "/staff/api/conversations", params={"date_from": today, "date_to": today, "mask": "false"}).json()
    assert dated["total"] >= 2
    old = session.get(console.url + "/staff/api/conversations", params={"date_to": "2020-01-01"}).json()
    assert old["total"] == 0

    with_staff = session.get(console.url + "/staff/api/conversations", params={"include_staff": "true",
                                                                             "page_size": 100}).json()
    assert with_staff["total"] >= listing["total"]


@pytest.mark.parametrize("query, message", [
    ({"date_from": "25/11/2026"}, "date_from"), ({"date_from": "2026-02-30"}, "date_from"),
    ({"date_from": "2026-11-25", "date_to": "2026-11-01"}, "must not be after"),
    ({"page_size": "1000"}, "page_size"), ({"page": "0"}, "page"), ({"page": "two"}, "page"),
    ({"language": "fr"}, "language"), ({"procedure": "fusion"}, "procedure"), ({"handoff": "maybe"}, "handoff"),
    ({"mask": "perhaps"}, "mask"), ({"colour": "red"}, "unknown parameter"),
])
def test_review_refuses_bad_parameters_with_400(console, query, message):
    response = logged_in(console).get(console.url + "/staff/api/conversations", params=query)
    assert response.status_code == 400 and message in response.json()["error"]


def test_a_conversation_is_masked_by_default_and_every_opening_is_logged(console, assistant):
    sender = patient_conversation(assistant, "my number is 081-234-5678 and my email is somchai@example.com",
                                  "what is a microdiscectomy")
    session = logged_in(console, "bob")
    masked = session.get(console.url + f"/staff/api/conversations/{sender}").json()
    # Turn 0 is the session's start; how many turns an answer takes is the model's business, not this test's.
    total = masked["total_turns"]
    assert total >= 3 and [t["index"] for t in masked["turns"]] == list(range(total))
    patient_texts = [(t.get("patient") or {}).get("text") for t in masked["turns"]]
    assert "my number is [phone] and my email is [email]" in patient_texts
    assert not any("081-234-5678" in (text or "") or "somchai@" in (text or "") for text in patient_texts)
    unmasked = session.get(console.url + f"/staff/api/conversations/{sender}", params={"mask": "false"}).json()
    assert any("081-234-5678" in ((t.get("patient") or {}).get("text") or "") for t in unmasked["turns"])
    second_page = session.get(console.url + f"/staff/api/conversations/{sender}",
                              params={"offset": total - 1, "limit": 1}).json()
    assert [t["index"] for t in second_page["turns"]] == [total - 1] and second_page["total_turns"] == total

    log = [json.loads(line) for line in (console.workdir / "staff_access.log").read_text().splitlines()]
    mine = [entry for entry in log if entry["conversation"] == sender]
    assert [(e["user"], e["action"]) for e in mine] == [("bob", "read"), ("bob", "read unmasked"), ("bob", "read")]
    assert all(entry["time"].startswith(time.strftime("%Y-%m-%d", time.gmtime())) for entry in mine)


def test_bad_conversation_requests_get_4xx(console):
    session = logged_in(console)
    assert session.get(console.url + "/staff/api/conversations/nobody-" + uuid.uuid4().hex).status_code == 404
    assert session.get(console.url + "/staff/api/conversations/" + "x" * 300).status_code == 400
    for query in ({"limit": "500"}, {"offset": "-1"}, {"limit": "ten"}):
        assert session.get(console.url + "/staff/api/conversations/someone", params=query).status_code == 400


def test_corrupt_stored_events_are_shown_as_such(console, assistant):
    sender = patient_conversation(assistant, "hello")
    with sqlite3.connect(assistant.tracker_db) as db:
        for type_name, data in (("user", "{not json"), ("martian", json.dumps({"event": "martian"}))):
            db.execute("INSERT INTO events (sender_id, type_name, timestamp, data) VALUES (?, ?, ?, ?)",
                       (sender, type_name, time.time(), data))
    session = logged_in(console)
    conversation = session.get(console.url + f"/staff/api/conversations/{sender}").json()
    unreadable = [u for t in conversation["turns"] for u in t["unreadable"]]
    assert {u["type_name"] for u in unreadable} == {"user", "martian"}
    assert all(u["error"] for u in unreadable)
    listing = session.get(console.url + "/staff/api/conversations", params={"page_size": 100}).json()
    assert next(c for c in listing["conversations"] if c["id"] == masked_conversation_id(sender))["unreadable_events"] == 2


def test_a_correction_becomes_rasa_training_data(console, assistant):
    sender = patient_conversation(assistant, "my phone is 0812345678, what about the knife thing for backs")
    session = logged_in(console)
    response = session.post(console.url + "/staff/api/corrections",
                            json={"conversation": sender, "turn": 1, "intent": "ask_overview", "procedure": "miss"})
    assert response.status_code == 201, response.text
    assert response.json()["text"] == "my phone is [phone], what about the knife thing for backs"

    exported = session.get(console.url + "/staff/api/corrections.yml")
    assert exported.status_code == 200 and "attachment" in exported.headers["Content-Disposition"]
    examples = RasaYAMLReader().reads(exported.text).training_examples
    taught = next(e for e in examples if e.get("text").startswith("my phone is [phone]"))
    assert taught.get("intent") == "ask_overview"
    assert taught.get("metadata")["example"]["corrected_by"] == "alice"
    assert taught.get("metadata")["example"]["procedure"] == "miss"
    on_disk = yaml.safe_load((console.workdir / "corrections" / "en.yml").read_text(encoding="utf-8"))
    assert on_disk["nlu"][0]["intent"] == "ask_overview"
    listed = session.get(console.url + "/staff/api/corrections").json()["corrections"]
    # Named by its pseudonym: the file is committed to git, and a conversation id can be a phone number.
    assert any(c["conversation"] == pseudonym(sender) for c in listed)
    assert sender not in (console.workdir / "corrections" / "en.yml").read_text(encoding="utf-8")

    again = session.post(console.url + "/staff/api/corrections",
                         json={"conversation": sender, "turn": 1, "intent": "ask_risks"})
    assert again.status_code == 201  # a second correction of the same message replaces the first
    examples = RasaYAMLReader().reads(session.get(console.url + "/staff/api/corrections.yml").text).training_examples
    assert [e.get("intent") for e in examples if e.get("text").startswith("my phone is")] == ["ask_risks"]
    removed = session.post(console.url + "/staff/api/corrections/remove",
                           json={"text": "my phone is [phone], what about the knife thing for backs", "language": "en"})
    assert removed.json() == {"removed": True}


@pytest.mark.parametrize("body, status, message", [
    ({"turn": 1, "intent": "ask_risks"}, 400, "conversation"),
    ({"conversation": "x", "turn": 0, "intent": "ask_risks"}, 400, "turn"),
    ({"conversation": "x", "turn": "1", "intent": "ask_risks"}, 400, "turn"),
    ({"conversation": "x", "turn": 1}, 400, "intent"),
])
def test_corrections_refuse_bad_input(console, body, status, message):
    response = logged_in(console).post(console.url + "/staff/api/corrections", json=body)
    assert response.status_code == status and message in response.json()["error"]


def test_corrections_refuse_unknown_intents_and_training_data_conflicts(console, assistant):
    session = logged_in(console)
    sender = patient_conversation(assistant, "hello")  # "hello" is a greet training example
    unknown = session.post(console.url + "/staff/api/corrections",
                           json={"conversation": sender, "turn": 1, "intent": "order_pizza"})
    assert unknown.status_code == 400 and "unknown intent" in unknown.json()["error"]
    conflict = session.post(console.url + "/staff/api/corrections",
                            json={"conversation": sender, "turn": 1, "intent": "goodbye"})
    assert conflict.status_code == 409 and "training example of greet" in conflict.json()["error"]
    missing = session.post(console.url + "/staff/api/corrections",
                           json={"conversation": sender, "turn": 5, "intent": "goodbye"})
    assert missing.status_code == 400 and "turn 5" in missing.json()["error"]


def test_a_conversation_saved_as_a_test_plays_back_green(console, assistant):
    sender = patient_conversation(assistant, "what is an endoscopic discectomy", "what are the risks",
                                  "I need to speak to a human")
    session = logged_in(console)
    saved = session.post(console.url + f"/staff/api/conversations/{sender}/save-test", json={})
    assert saved.status_code == 201
    path = console.workdir / "saved" / saved.json()["saved"]
    conversation, = load_conversations([path])
    assert [t.patient for t in conversation.turns] == ["what is an endoscopic discectomy", "what are the risks",
                                                      "I need to speak to a human"]
    assert conversation.turns[2].expect.hands_off is True and conversation.turns[1].expect.hands_off is False
    result = run_conversation(AssistantClient(assistant.url, assistant.token), conversation)
    assert result.passed, [t.problems for t in result.turns]


def test_a_saved_or_downloaded_test_never_holds_personal_data(console, assistant):
    sender = patient_conversation(assistant, "call me on 010-1234-5678 or at kim@example.kr")
    session = logged_in(console)
    download = session.get(console.url + f"/staff/api/conversations/{sender}/test.yml")
    assert download.status_code == 200 and "attachment" in download.headers["Content-Disposition"]
    assert "010-1234-5678" not in download.text and "kim@example.kr" not in download.text
    saved = session.post(console.url + f"/staff/api/conversations/{sender}/save-test", json={}).json()
    conversation, = load_conversations([console.workdir / "saved" / saved["saved"]])
    assert conversation.turns[0].patient == "call me on [phone] or at [email]"


def test_the_coverage_table_shows_every_procedure_topic_and_language(console):
    from bot.content import PROCEDURES, TOPICS, default_content

    table = logged_in(console).get(console.url + "/staff/api/coverage").json()
    assert len(table["rows"]) == len(PROCEDURES) * len(TOPICS)
    content = default_content()
    for row in table["rows"]:
        for language in table["languages"]:
            assert row["languages"][language]["status"] == content.answer(row["procedure"], row["topic"], language).coverage
    assert sum(table["totals"].values()) == len(table["rows"]) and table["totals"]["not_covered"] > 0


def test_the_web_server_as_make_run_starts_it_serves_the_console(assistant, tmp_path):
    import os
    import subprocess
    import sys

    from bot.running_assistant import PROJECT_ROOT, free_port, own_endpoints

    endpoints = tmp_path / "endpoints.yml"
    endpoints.write_text(own_endpoints(assistant.action_port, assistant.tracker_db), encoding="utf-8")
    port, staff_port = free_port(), free_port()
    env = dict(os.environ, STAFF_USERS=staff_users({"carol": ("viewer", "long-enough-password")}) + " broken-entry",
               RASA_AUTH_TOKEN=assistant.token)
    with open(tmp_path / "web.log", "wb") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "bot.web_server", "--port", str(port), "--staff-port", str(staff_port),
             "--rasa-url", assistant.url, "--rasa-api-url", assistant.url, "--endpoints", str(endpoints)],
            cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            url, staff_url = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{staff_port}"
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                try:
                    if requests.get(staff_url + "/health", timeout=2).status_code == 200:
                        break
                except requests.ConnectionError:
                    time.sleep(0.3)
            # The console is on its own port, never on the public page's origin.
            assert requests.get(url + "/health").status_code == 200
            assert requests.get(url + "/staff/api/coverage").status_code == 404
            assert requests.get(staff_url + "/staff/api/coverage").status_code == 401
            session = requests.Session()
            session.post(staff_url + "/staff/login", data={"user": "carol", "password": "long-enough-password"})
            sender = patient_conversation(assistant, "what is a microlaminectomy")
            listing = session.get(staff_url + "/staff/api/conversations", params={"page_size": 100}).json()
            assert masked_conversation_id(sender) in [c["id"] for c in listing["conversations"]]
            tried = session.post(staff_url + "/staff/api/try", json={"message": "hello"}).json()
            assert tried["patient"]["intent"] == "greet"
        finally:
            server.terminate()
            server.wait(timeout=20)
    logged = (tmp_path / "web.log").read_text()
    assert "STAFF_USERS: the role of 'broken-entry' must be one of viewer, reviewer" in logged


def test_a_tracker_store_the_console_cannot_read_turns_it_off_with_a_reason(tmp_path, caplog):
    from bot.web_server import parse_args, staff_settings

    endpoints = tmp_path / "endpoints.yml"
    endpoints.write_text("tracker_store:\n  type: redis\n  url: localhost\n", encoding="utf-8")
    assert staff_settings(parse_args(["--endpoints", str(endpoints)]), {}) is None
    assert "The staff console is off" in caplog.text


def test_the_console_address_without_a_slash_leads_to_the_login(console):
    response = requests.get(console.url + "/staff", allow_redirects=False)
    assert response.status_code == 302 and response.headers["Location"] == "/staff/"
    assert requests.get(console.url + "/staff").status_code == 401
