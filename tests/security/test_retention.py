"""RETENTION_DAYS erases conversations idle for longer, from every table and the staff access log
(issue 11, "Retention and erasure")."""
import json
import sqlite3
import subprocess
import sys
import time

import pytest
import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore

from bot.retention import DEFAULT_DAYS, apply_retention, retention_days
from bot.running_assistant import PROJECT_ROOT
from bot.staff.store import ConversationStore

DAY = 86400
NOW = 1_800_000_000.0


def _database(tmp_path, conversations):
    """conversations: id -> the ages, in days, of its events."""
    database = tmp_path / "tracker.db"
    SQLTrackerStore(dialect="sqlite", db=str(database)).engine.dispose()
    with sqlite3.connect(database) as db:
        for sender, ages in conversations.items():
            for age in ages:
                db.execute("INSERT INTO events (sender_id, type_name, timestamp, data) VALUES (?, 'user', ?, ?)",
                           (sender, NOW - age * DAY, json.dumps({"event": "user", "text": "hi", "timestamp": NOW - age * DAY})))
    return database


def _access_log(tmp_path, entries):
    path = tmp_path / "staff_access.log"
    path.write_text("".join(json.dumps({"time": time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(NOW - age * DAY)),
                                        "user": "alice", "action": "read", "conversation": conversation,
                                        "address": "127.0.0.1"}) + "\n" for conversation, age in entries))
    return path


def _stored(database):
    with sqlite3.connect(database) as db:
        return dict(db.execute("SELECT sender_id, count(*) FROM events GROUP BY sender_id").fetchall())


def test_conversations_idle_for_longer_are_erased_whole_and_recent_ones_kept_whole(tmp_path):
    database = _database(tmp_path, {"web:old": [400, 399], "line:came-back": [400, 2], "rest:new": [1]})
    log = _access_log(tmp_path, [("web:old", 10), ("line:came-back", 200), ("rest:new", 1), ("web:other", 400)])
    engine = sa.create_engine(f"sqlite:///{database}")
    report = apply_retention(engine, log, days=90, now=NOW)
    assert _stored(database) == {"line:came-back": 2, "rest:new": 1}
    remaining = [json.loads(line)["conversation"] for line in log.read_text().splitlines()]
    # Gone: the erased conversation's entries however recent, and every entry older than 90 days.
    assert remaining == ["rest:new"]
    assert (report.conversations_erased, report.access_entries_erased) == (1, 3)
    assert (log.stat().st_mode & 0o777) == 0o600
    # The staff console no longer finds it.
    store = ConversationStore(f"sqlite:///{database}")
    assert {c["id"] for c in store.list_conversations(mask=False)["conversations"]} == {"line:came-back", "rest:new"}


def test_retention_days_has_a_documented_default_and_refuses_nonsense():
    assert retention_days({}) == DEFAULT_DAYS == 365
    assert retention_days({"RETENTION_DAYS": "30"}) == 30
    for bad in ("0", "-5", "a year", "1.5"):
        with pytest.raises(ValueError, match="RETENTION_DAYS"):
            retention_days({"RETENTION_DAYS": bad})


def test_the_command_runs_on_demand_against_the_endpoints_store(tmp_path):
    database = _database(tmp_path, {"web:ancient": [3000], "web:today": [0]})
    endpoints = tmp_path / "endpoints.yml"
    endpoints.write_text(f'tracker_store:\n  type: SQL\n  dialect: "sqlite"\n  db: "{database}"\n')
    ran = subprocess.run([sys.executable, "-m", "bot.retention", "--endpoints", str(endpoints),
                          "--access-log", str(tmp_path / "none.log")], cwd=PROJECT_ROOT,
                         capture_output=True, text=True, timeout=120, env={"PATH": "/usr/bin:/bin", "RETENTION_DAYS": "30"})
    assert ran.returncode == 0, ran.stderr
    assert "erased 1 conversations idle for more than 30 days" in ran.stdout
    assert set(_stored(database)) == {"web:today"}
    refused = subprocess.run([sys.executable, "-m", "bot.retention", "--endpoints", str(endpoints)], cwd=PROJECT_ROOT,
                             capture_output=True, text=True, timeout=120, env={"PATH": "/usr/bin:/bin", "RETENTION_DAYS": "zero"})
    assert refused.returncode == 2 and "RETENTION_DAYS must be a whole number" in refused.stderr
