"""Conversations stored before ids carried their channel are renamed by the channel they came through."""
import json
import sqlite3

from rasa.core.tracker_store import SQLTrackerStore

from bot.staff import migrate_conversation_ids

# (stored id, the input channel of each patient message, in order)
STORED = [
    ("U4af4980629", ["line"]),
    ("3f2a9c", ["socketio", "socketio"]),
    ("whatsapp:+66812345678", ["twilio"]),           # Twilio's ids already carry the channel
    ("whatsapp:+66899999999", ["rest"]),             # a REST caller posing as a WhatsApp patient
    ("whatsapp:+66811111111", ["twilio", "rest"]),   # a patient's conversation the attack reached
    ("line:U0000000001", ["line"]),                  # already migrated
    ("api-only", [None]),                             # written through Rasa's HTTP API
]
EXPECTED = {
    "U4af4980629": "line:U4af4980629",
    "3f2a9c": "web:3f2a9c",
    "whatsapp:+66812345678": "whatsapp:+66812345678",
    "whatsapp:+66899999999": "rest:whatsapp:+66899999999",
    "whatsapp:+66811111111": "whatsapp:+66811111111",
    "line:U0000000001": "line:U0000000001",
    "api-only": "rest:api-only",
}


def _store(tmp_path):
    database = tmp_path / "tracker.db"
    engine = SQLTrackerStore(dialect="sqlite", db=str(database)).engine
    engine.dispose()
    with sqlite3.connect(database) as db:
        for sender, channels in STORED:
            for number, channel in enumerate(channels):
                db.execute("INSERT INTO events (sender_id, type_name, timestamp, intent_name, data) "
                           "VALUES (?, 'user', ?, 'greet', ?)",
                           (sender, 1.0 + number, json.dumps({"event": "user", "text": "hi", "input_channel": channel})))
                db.execute("INSERT INTO events (sender_id, type_name, timestamp, data) VALUES (?, 'bot', ?, ?)",
                           (sender, 1.5 + number, json.dumps({"event": "bot", "text": "Hello"})))
    endpoints = tmp_path / "endpoints.yml"
    endpoints.write_text(f'tracker_store:\n  type: SQL\n  dialect: "sqlite"\n  db: "{database}"\n')
    return database, endpoints


def _ids(database):
    with sqlite3.connect(database) as db:
        return {sender: count for sender, count in db.execute("SELECT sender_id, count(*) FROM events GROUP BY sender_id")}


def test_without_apply_nothing_changes(tmp_path, capsys):
    database, endpoints = _store(tmp_path)
    before = _ids(database)
    assert migrate_conversation_ids.main(["--endpoints", str(endpoints)]) == 0
    assert _ids(database) == before
    assert "would rename 4 conversations" in capsys.readouterr().out


def test_every_conversation_gets_its_channels_prefix_once_and_keeps_its_events(tmp_path, capsys):
    database, endpoints = _store(tmp_path)
    before = _ids(database)
    assert migrate_conversation_ids.main(["--apply", "--endpoints", str(endpoints)]) == 0
    after = _ids(database)
    assert after == {EXPECTED[old]: count for old, count in before.items()}
    output = capsys.readouterr().out
    assert "1 conversations had messages from more than one channel" in output
    assert "811111111" not in output  # named by pseudonym only
    # A second run finds nothing to do.
    assert migrate_conversation_ids.main(["--apply", "--endpoints", str(endpoints)]) == 0
    assert _ids(database) == after and "renamed 0 conversations" in capsys.readouterr().out
