"""Helpers shared by several test modules (test modules never import from each other)."""
from contextlib import contextmanager
import json
from pathlib import Path
import re
import sqlite3
import uuid

import pytest
from sanic import Sanic
import yaml

from bot.running_assistant import PROJECT_ROOT, free_port

# Debian's Chromium, driven by Playwright; never a downloaded browser.
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--disable-gpu"]
needs_chromium = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="/usr/bin/chromium is missing: install Debian's `chromium` package (the Makefile does in CI)")

# One question per language, with the content entry that answers it, for every channel's tests:
# (language, question, procedure, topic).
QUESTION_PER_LANGUAGE = [
    ("th", "ไมโครดิสเอกโตมีมีความเสี่ยงอะไรบ้างคะ", "microdiscectomy", "risks"),
    ("ko", "미세 후궁절제술 후 회복은 얼마나 걸리나요?", "microlaminectomy", "recovery"),
    ("en", "What is an endoscopic discectomy?", "endoscopic_discectomy", "overview"),
    ("zh", "脊柱微创手术适合哪些疾病", "miss", "indications"),
]

SCRIPTS = {"th": r"[\u0E00-\u0E7F]", "ko": r"[\uAC00-\uD7AF]", "zh": r"[\u4E00-\u9FFF]", "en": r"[A-Za-z]"}


def language_of(text):
    """The language whose script has the most characters in `text`."""
    counts = {lang: len(re.findall(p, text)) for lang, p in SCRIPTS.items()}
    return max(counts, key=counts.get)


def media_answer(language):
    """The bot's polite "text only" answer in `language`, from domain.yml."""
    domain = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text(encoding="utf-8"))
    for variation in domain["responses"]["utter_media_not_supported"]:
        if {"type": "slot", "name": "language", "value": language} in variation.get("condition", []):
            return variation["text"]
    raise AssertionError(f"utter_media_not_supported has no {language} variation")


async def serve_channel(input_channel, on_new_message):
    """(server, webhook URL) of `input_channel` alone on a real Sanic server on loopback."""
    # Test mode lets Sanic start several apps in one process (as sanic-testing does).
    Sanic.test_mode = True
    app = Sanic(f"channel_test_{uuid.uuid4().hex[:8]}")
    app.blueprint(input_channel.blueprint(on_new_message), url_prefix=f"/webhooks/{input_channel.name()}")
    port = free_port()
    server = await app.create_server(host="127.0.0.1", port=port, return_asyncio_server=True)
    await server.startup()
    return server, f"http://127.0.0.1:{port}/webhooks/{input_channel.name()}/webhook"


# --- What the tracker store holds, read straight from its SQLite file ----------------------------
# (not through Rasa's HTTP API, which can create a conversation when asked for one)

@contextmanager
def _read_only(tracker_db):
    # Read-only, so a check never creates the file or holds a write lock; waits while Rasa writes.
    db = sqlite3.connect(f"file:{tracker_db}?mode=ro", uri=True, timeout=10)
    try:
        yield db
    finally:
        db.close()


def web_conversation(session_id):
    """The conversation a widget's (server-signed) session id `<id>.<signature>` stands for."""
    return "web:" + session_id.split(".")[0]


def stored_rows(tracker_db, sender_id, type_name=None):
    """How many events of one conversation are stored (only those of `type_name` when given)."""
    query = "SELECT count(*) FROM events WHERE sender_id = ?" + (" AND type_name = ?" if type_name else "")
    with _read_only(tracker_db) as db:
        return db.execute(query, (str(sender_id), type_name) if type_name else (str(sender_id),)).fetchone()[0]


def user_events(tracker_db, sender_id):
    """The stored 'user' events of one conversation, oldest first."""
    with _read_only(tracker_db) as db:
        rows = db.execute("SELECT data FROM events WHERE sender_id = ? AND type_name = 'user' ORDER BY id",
                          (str(sender_id),)).fetchall()
    return [json.loads(data) for (data,) in rows]


def stored_user_texts(tracker_db, sender_id):
    """The texts of one conversation's stored 'user' events, oldest first."""
    return [event["text"] for event in user_events(tracker_db, sender_id)]


def user_intents(tracker_db, sender_id):
    """The intents of one conversation's stored 'user' events, oldest first."""
    with _read_only(tracker_db) as db:
        rows = db.execute("SELECT intent_name FROM events WHERE sender_id = ? AND type_name = 'user' ORDER BY id",
                          (str(sender_id),)).fetchall()
    return [intent for (intent,) in rows]


def stored_turns(tracker_db, sender_id, count=1, timeout=60.0):
    """The patient's stored messages once there are `count` of them (channels that answer in the
    background store a turn after their 200). Rasa stores a turn after sending its answers."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        events = user_events(tracker_db, sender_id)
        if len(events) >= count or time.monotonic() > deadline:
            return events
        time.sleep(0.2)
