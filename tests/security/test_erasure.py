"""A reviewer's erasure removes a conversation from every table and file, and from the assistant's
memory, so the patient's next message starts afresh (issue 11, "Erasure and export by staff")."""
import json
import sqlite3

import pytest
import requests

from bot.conversation_ids import conversation_id
from bot.staff.pseudonym import pseudonym
from tests.staff_console_server import ConsoleServer, staff_session


@pytest.fixture(scope="module")
def console(assistant, tmp_path_factory):
    server = ConsoleServer(assistant, tmp_path_factory.mktemp("erasure"))
    yield server
    server.stop()


def _rows(database, conversation):
    with sqlite3.connect(database) as db:
        return db.execute("SELECT count(*) FROM events WHERE sender_id = ?", (conversation,)).fetchone()[0]


def test_an_erased_conversation_is_gone_from_every_table_file_and_memory(assistant, console):
    sender = "erase-me-0812345678"
    assistant.say(sender, "my number is 0812345678, what are the risks of a microdiscectomy?")
    conversation = conversation_id("rest", sender)
    assert assistant.api("GET", f"/conversations/{conversation}/tracker")[1]["slots"]["procedure"] == "microdiscectomy"
    reviewer = staff_session(console, "alice")
    assert reviewer.get(console.url + f"/staff/api/conversations/{conversation}", params={"mask": "false"}).ok
    assert _rows(assistant.tracker_db, conversation) > 0

    # A viewer may not, and nobody erases by accident.
    assert staff_session(console, "carol").post(console.url + f"/staff/api/conversations/{conversation}/erase",
                                           json={"confirm": True}).status_code == 403
    assert reviewer.post(console.url + f"/staff/api/conversations/{conversation}/erase", json={}).status_code == 400
    erased = reviewer.post(console.url + f"/staff/api/conversations/{conversation}/erase", json={"confirm": True})
    assert erased.status_code == 200 and erased.json()["erased"] > 0

    assert _rows(assistant.tracker_db, conversation) == 0
    log = (console.workdir / "staff_access.log").read_text(encoding="utf-8")
    assert conversation not in log and "0812345678" not in log
    assert {"action": "erase", "conversation": pseudonym(conversation)}.items() <= json.loads(log.splitlines()[-1]).items()
    assert reviewer.get(console.url + f"/staff/api/conversations/{conversation}").status_code == 404
    listing = reviewer.get(console.url + "/staff/api/conversations", params={"mask": "false", "page_size": 100}).json()
    assert conversation not in [c["id"] for c in listing["conversations"]]
    # The assistant kept no copy in memory: the next message is a new conversation that knows nothing.
    assistant.say(sender, "hello")
    slots = assistant.api("GET", f"/conversations/{conversation}/tracker")[1]["slots"]
    assert slots["procedure"] is None
    with sqlite3.connect(assistant.tracker_db) as db:
        texts = [json.loads(d).get("text") for (d,) in db.execute(
            "SELECT data FROM events WHERE sender_id = ? AND type_name = 'user'", (conversation,))]
    assert texts == ["hello"]


def test_erasing_needs_the_api_token_and_a_conversation(assistant):
    url = assistant.url + "/webhooks/rest/erase"
    assert requests.post(url, json={"conversation": "rest:anyone"}).status_code == 401
    assert requests.post(url, params={"token": assistant.token}, data=b"nonsense").status_code == 400
    assert requests.post(url, params={"token": assistant.token}, json={"conversation": 5}).status_code == 400
    assert requests.post(url, params={"token": assistant.token}, json={"conversation": "rest:nobody"}).json() == {"erased": 0}
