"""Nothing a patient says is lost while a long read holds the conversation store (issue 11, "Storage"):
in SQLite's rollback-journal mode a staff scan holding a read made the patient's write fail with
"database is locked", and Rasa kept the turn in memory only. The store is in WAL mode now."""
import sqlite3
import threading
import time
import uuid

from bot.tracker_store import SQLITE_BUSY_TIMEOUT_MS

HOLD_S = SQLITE_BUSY_TIMEOUT_MS / 1000 + 3  # longer than any write would wait for the lock


def stored_user_texts(db, sender):
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as connection:
        rows = connection.execute("SELECT data FROM events WHERE sender_id = ? AND type_name = 'user'", (sender,)).fetchall()
    return len(rows)


def test_patients_turns_are_stored_while_a_long_read_holds_the_database(assistant):
    assistant.say("warm-" + uuid.uuid4().hex[:6], "hello")  # the events table exists
    reader = sqlite3.connect(f"file:{assistant.tracker_db}?mode=ro", uri=True, isolation_level=None)
    reader.execute("BEGIN")
    cursor = reader.execute("SELECT * FROM events")
    cursor.fetchone()  # a read transaction is open, as during a staff scan
    senders = ["read-" + uuid.uuid4().hex[:8] for _ in range(5)]
    answered = {}

    def patient(sender):
        status, body = assistant.api("POST", "/webhooks/rest/webhook", {"sender": sender, "message": "what are the risks of UBE?"},
                                     timeout=60)
        answered[sender] = (status, body)

    threads = [threading.Thread(target=patient, args=(s,)) for s in senders]
    for thread in threads:
        thread.start()
    time.sleep(HOLD_S)
    reader.execute("COMMIT")
    reader.close()
    for thread in threads:
        thread.join(timeout=60)
    assert all(status == 200 and body for status, body in answered.values()), answered
    # Read from the database itself, not Rasa's memory: every turn is in the store.
    assert [stored_user_texts(assistant.tracker_db, "rest:" + s) for s in senders] == [1] * len(senders)
