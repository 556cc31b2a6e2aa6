"""Rasa's SQLTrackerStore, with each active conversation's current session kept in memory.

Rasa reads a conversation back from the database before every message and counts its stored events
after it. Under load (20 patients at once) that was a third of the server's time (py-spy). This store
keeps, for the most recently active conversations, the same JSON text it wrote to the database, so a
message costs one write and no read. The database stays the record: every event is written before the
cache changes, a conversation not in the cache is read from the database, and a new session (or any
doubt) sends the next read to the database again.

One Rasa process per database: another process writing the same conversations would not be seen.
For several Rasa processes use Rasa's own ``type: SQL`` (endpoints.yml says how).

On SQLite the database is in WAL mode with a busy timeout (`use_wal`): in the default rollback-journal
mode a long read, such as the staff console scanning conversations, made a patient's write fail with
"database is locked", and Rasa then kept that turn in memory only.
"""
from __future__ import annotations

import itertools
import json
from collections import OrderedDict
from typing import Any, Iterator, List, Optional

import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.events import SessionStarted
from rasa.shared.core.trackers import DialogueStateTracker


# How long a write waits for a lock (ms) before it fails; a checkpoint or a writer ahead of it is brief.
SQLITE_BUSY_TIMEOUT_MS = 10_000


def use_wal(engine: "sa.engine.Engine", busy_timeout_ms: int = SQLITE_BUSY_TIMEOUT_MS, wal: bool = True) -> None:
    """Every new SQLite connection of `engine` in WAL mode (readers never block the writer) and with a
    busy timeout; `wal=False` for read-only connections, which cannot change the journal mode."""
    @sa.event.listens_for(engine, "connect")
    def _configure(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        if wal:
            cursor.execute("PRAGMA journal_mode = WAL")
        cursor.close()

    engine.dispose()  # connections opened before the listener (Rasa's create_all) are not reused


class CachedSQLTrackerStore(SQLTrackerStore):
    def __init__(self, *args: Any, max_cached_conversations: int = 2000, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.engine.dialect.name == "sqlite":
            use_wal(self.engine)
        self.max_cached_conversations = int(max_cached_conversations)
        # sender id -> the latest session's events as stored (JSON text), least recently used first
        self._latest_sessions: "OrderedDict[str, List[str]]" = OrderedDict()

    async def retrieve(self, sender_id: str) -> Optional[DialogueStateTracker]:
        """The latest session of a conversation, as Rasa's SQLTrackerStore returns it."""
        stored = self._latest_sessions.get(sender_id)
        if stored is None:
            with self.session_scope() as session:
                rows = self._event_query(session, sender_id, fetch_events_from_all_sessions=False).all()
                stored = [row.data for row in rows]
        if not stored or not self.domain:
            return None
        tracker = DialogueStateTracker.from_dict(sender_id, [json.loads(text) for text in stored], self.domain.slots)
        # Rasa skips event types it no longer knows; then the counts differ and only the database can say
        # which events are new, so such a conversation is never cached.
        if len(tracker.events) == len(stored):
            self._remember(sender_id, stored)
        else:
            self._forget(sender_id)
        return tracker

    async def save(self, tracker: DialogueStateTracker) -> None:
        stored = self._latest_sessions.get(tracker.sender_id)
        await super().save(tracker)
        if stored is None:
            return
        new_events = list(itertools.islice(tracker.events, len(stored), None))
        if any(isinstance(event, SessionStarted) for event in new_events):
            # The database decides where the new session starts; read it from there next time.
            self._forget(tracker.sender_id)
        else:
            self._remember(tracker.sender_id, stored + [json.dumps(event.as_dict()) for event in new_events])

    def _additional_events(self, session: Any, tracker: DialogueStateTracker) -> Iterator:
        """The tracker's events not yet in the database; counted from the cache when it has them."""
        stored = self._latest_sessions.get(tracker.sender_id)
        if stored is None:
            return super()._additional_events(session, tracker)
        return itertools.islice(tracker.events, len(stored), None)

    def _remember(self, sender_id: str, stored: List[str]) -> None:
        self._latest_sessions[sender_id] = stored
        self._latest_sessions.move_to_end(sender_id)
        while len(self._latest_sessions) > self.max_cached_conversations:
            self._latest_sessions.popitem(last=False)

    def _forget(self, sender_id: str) -> None:
        self._latest_sessions.pop(sender_id, None)

    def erase(self, sender_id: str) -> int:
        """Deletes every stored event of a conversation and forgets its cached session; the number deleted."""
        self._forget(sender_id)
        with self.session_scope() as session:
            deleted = session.query(self.SQLEvent).filter(self.SQLEvent.sender_id == sender_id).delete()
            session.commit()
        self._forget(sender_id)  # a turn cannot have cached it meanwhile: callers hold its lock
        return deleted


def erase_conversation(tracker_store: Any, sender_id: str) -> int:
    """Erases a conversation from Rasa's tracker store, whichever wrappers Rasa put around it (its
    fail-safe store and that store's in-memory fallback included); the number of SQL rows deleted."""
    deleted = 0
    stores = [tracker_store]
    while stores:
        store = stores.pop()
        stores += [inner for inner in (getattr(store, "_tracker_store", None),
                                       getattr(store, "_fallback_tracker_store", None)) if inner is not None]
        if isinstance(store, CachedSQLTrackerStore):
            deleted += store.erase(sender_id)
        elif isinstance(store, SQLTrackerStore):
            with store.session_scope() as session:
                deleted += session.query(store.SQLEvent).filter(store.SQLEvent.sender_id == sender_id).delete()
                session.commit()
        elif isinstance(getattr(store, "store", None), dict):  # Rasa's InMemoryTrackerStore
            store.store.pop(sender_id, None)
    return deleted
