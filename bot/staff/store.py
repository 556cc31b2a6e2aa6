"""Stored patient conversations, read for the staff console from Rasa's SQL tracker store.

Rasa keeps every event of every conversation in one table, `events`. This store only reads it (an
SQLite file is opened read-only and never created). A hospital's database holds tens of thousands of
conversations, so the list is answered from summaries kept in memory: each request first asks the
database for each conversation's newest event id, then reads only the events its summaries have not
seen. One conversation's turns are read a page at a time, never the whole conversation.
"""
from __future__ import annotations

import json
import threading
from datetime import datetime, timezone
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Union
from urllib.parse import quote, unquote, urlsplit

import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore, create_engine_kwargs, validate_port
from rasa.shared.utils.common import class_from_module_path
from rasa.utils.endpoints import read_endpoint_config
from sqlalchemy.engine import URL, Connection, make_url

from bot.staff.events import turns_from_rows
from bot.staff.pseudonym import PREFIX as PSEUDONYM_PREFIX, masked_conversation_id
from bot.staff.queries import ConversationFilter, InvalidQuery, listing_page, masking, turns_page
from bot.staff.summaries import LOW_CONFIDENCE, ConversationSummary
from bot.tracker_store import use_wal

__all__ = ["ConversationNotFound", "ConversationStore", "InvalidQuery", "LOW_CONFIDENCE"]

EVENTS = SQLTrackerStore.SQLEvent.__table__  # Rasa's own definition of the table
_ROW_COLUMNS = (EVENTS.c.id, EVENTS.c.sender_id, EVENTS.c.type_name, EVENTS.c.timestamp, EVENTS.c.data)
# How many conversations one query brings up to date: keeps its conditions few (SQLite limits them).
_CONVERSATIONS_PER_QUERY = 100
_OUR_STORE = "bot.tracker_store.CachedSQLTrackerStore"


class ConversationNotFound(LookupError):
    """No stored conversation has this id."""


class ConversationStore:
    def __init__(self, db_url: Union[str, URL]) -> None:
        """`db_url`: an SQLAlchemy database URL, e.g. sqlite:////abs/path/tracker.db."""
        url = make_url(db_url)
        self._sqlite_file = _sqlite_file(url)
        if self._sqlite_file is not None and not url.database.startswith("file:"):
            url = _read_only_sqlite(self._sqlite_file)
        self.url = url
        # Rasa's engine options: the same PostgreSQL schema (POSTGRESQL_SCHEMA) and pool sizes.
        self.engine = sa.create_engine(url, **create_engine_kwargs(url))
        if self._sqlite_file is not None:
            use_wal(self.engine, wal=False)  # Rasa's store sets WAL; a read waits out a checkpoint
        self._summaries: Dict[str, ConversationSummary] = {}
        self._by_masked_id: Dict[str, str] = {}  # masked_conversation_id -> the conversation's id
        self._lock = threading.Lock()

    @classmethod
    def from_endpoints(cls, endpoints_path: Path, project_root: Path) -> "ConversationStore":
        """The database Rasa writes to, as the `tracker_store` section of endpoints.yml names it (tracker_db_url)."""
        return cls(tracker_db_url(endpoints_path, project_root))

    def list_conversations(
        self, *, language: Any = None, procedure: Any = None, date_from: Any = None, date_to: Any = None,
        handoff: Any = None, red_flag: Any = None, fallback: Any = None, low_confidence: Any = None,
        include_staff: Any = False, page: Any = 1, page_size: Any = 20, mask: Any = True,
    ) -> Dict[str, Any]:
        """One page of the conversations that pass every filter given, most recently active first.

        A filter left None lets every conversation through; False keeps those without the mark.
        The staff tools' own conversations are left out unless include_staff is true.
        Raises InvalidQuery for a value it cannot use."""
        wanted = ConversationFilter.parse(
            language=language, procedure=procedure, date_from=date_from, date_to=date_to, handoff=handoff,
            red_flag=red_flag, fallback=fallback, low_confidence=low_confidence, include_staff=include_staff,
        )
        page, page_size = listing_page(page, page_size)
        mask = masking(mask)
        with self._lock:
            with self._connection() as connection:
                self._bring_up_to_date(connection)
            matching = [summary for summary in self._summaries.values() if wanted.matches(summary)]
            matching.sort(key=_latest_activity, reverse=True)
            shown = matching[(page - 1) * page_size:page * page_size]
            return {"total": len(matching), "page": page, "page_size": page_size,
                    "conversations": [summary.as_dict(mask) for summary in shown]}

    def conversation(self, sender_id: str, *, offset: Any = 0, limit: Any = 50, mask: Any = True) -> Dict[str, Any]:
        """One conversation's summary and `limit` of its turns, skipping the first `offset` turns.

        Turn 0 holds what was stored before the patient's first message (it counts only if something
        was); turn n holds the patient's n-th message and what followed it.
        Raises ConversationNotFound for an unknown id, InvalidQuery for an unusable offset or limit."""
        offset, limit = turns_page(offset, limit)
        mask = masking(mask)
        sender_id = self.resolve(sender_id)
        with self._lock:
            with self._connection() as connection:
                self._bring_up_to_date(connection, sender_id)
                summary = self._summaries.get(sender_id)
                if summary is None:
                    raise ConversationNotFound(f"no stored conversation has the id {sender_id!r}")
                turn_starts = self._turn_starts(connection, sender_id)
                page = turn_starts[offset:offset + limit]
                rows = self._rows(connection, sender_id, page[0], _at(turn_starts, offset + limit)) if page else []
            opening_turns = 1 if turn_starts and turn_starts[0] is None else 0
            turns = turns_from_rows(rows, max(offset - opening_turns, 0), mask)
            return {"id": masked_conversation_id(sender_id) if mask else sender_id, "total_turns": len(turn_starts), "offset": offset, "limit": limit,
                    "summary": summary.as_dict(mask), "turns": turns}

    def export(self, sender_id: str) -> Dict[str, Any]:
        """Everything stored of one conversation, unmasked, as JSON for the patient who asked for it
        (their right of access and portability); the events exactly as Rasa stored them."""
        sender_id = self.resolve(sender_id)
        with self._lock, self._connection() as connection:
            rows = self._rows(connection, sender_id, None, None) if connection is not None else []
        if not rows:
            raise ConversationNotFound(f"no stored conversation has the id {sender_id!r}")
        events = []
        for row in rows:
            try:
                events.append(json.loads(row.data))
            except (TypeError, ValueError):
                events.append({"event": row.type_name, "timestamp": row.timestamp, "unreadable": True})
        return {"conversation": sender_id, "exported_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                "events": events}

    def resolve(self, conversation: str) -> str:
        """The conversation id that a masked one (from a masked list or page) stands for; any other id as it is."""
        if conversation in self._by_masked_id:
            return self._by_masked_id[conversation]
        if pseudonym_prefix_in(conversation) and not self._by_masked_id:
            with self._lock, self._connection() as connection:
                self._bring_up_to_date(connection)  # after a restart, before the first list
        return self._by_masked_id.get(conversation, conversation)

    @contextmanager
    def _connection(self) -> Iterator[Optional[Connection]]:
        """A connection, or None while there is nothing to read: no SQLite file or no `events` table
        yet (Rasa creates them when it first starts)."""
        if self._sqlite_file is not None and not self._sqlite_file.is_file():
            yield None
            return
        with self.engine.connect() as connection:
            yield connection if sa.inspect(connection).has_table(EVENTS.name) else None

    def _bring_up_to_date(self, connection: Optional[Connection], sender_id: Optional[str] = None) -> None:
        """Read the events the summaries have not seen: of every conversation, or of `sender_id`'s."""
        newest_ids = {}
        if connection is not None:
            newest = sa.select(EVENTS.c.sender_id, sa.func.max(EVENTS.c.id)).group_by(EVENTS.c.sender_id)
            if sender_id is not None:
                newest = newest.where(EVENTS.c.sender_id == sender_id)
            newest_ids = dict(connection.execute(newest).all())
        for gone in (set(self._summaries) if sender_id is None else {sender_id}) - set(newest_ids):
            self._summaries.pop(gone, None)
        behind = []
        for sender, newest_id in newest_ids.items():
            summary = self._summaries.get(sender)
            if summary is None or summary.last_event_id > newest_id:  # new, or the database was replaced
                summary = self._summaries[sender] = ConversationSummary(sender)
                self._by_masked_id[masked_conversation_id(sender)] = sender
            if summary.last_event_id < newest_id:
                behind.append(summary)
        for start in range(0, len(behind), _CONVERSATIONS_PER_QUERY):
            summaries = {summary.sender_id: summary for summary in behind[start:start + _CONVERSATIONS_PER_QUERY]}
            unseen = sa.or_(*(
                sa.and_(EVENTS.c.sender_id == summary.sender_id, EVENTS.c.id > summary.last_event_id)
                for summary in summaries.values()
            ))
            for row in connection.execute(sa.select(*_ROW_COLUMNS).where(unseen).order_by(EVENTS.c.id)):
                summaries[row.sender_id].add(row)

    @staticmethod
    def _turn_starts(connection: Connection, sender_id: str) -> List[Optional[int]]:
        """The id of the event each turn starts with: its user message; None for turn 0 (what was
        stored before the first user message), which exists only if something was."""
        of_sender = EVENTS.c.sender_id == sender_id
        user_ids = connection.execute(
            sa.select(EVENTS.c.id).where(of_sender, EVENTS.c.type_name == "user").order_by(EVENTS.c.id)
        ).scalars().all()
        first_id = connection.execute(sa.select(sa.func.min(EVENTS.c.id)).where(of_sender)).scalar()
        has_opening = first_id is not None and (not user_ids or first_id < user_ids[0])
        return ([None] if has_opening else []) + list(user_ids)

    @staticmethod
    def _rows(connection: Connection, sender_id: str, first_id: Optional[int], end_id: Optional[int]) -> List[Any]:
        """`sender_id`'s events from `first_id` (None: the first) up to, not including, `end_id` (None: the last)."""
        query = sa.select(*_ROW_COLUMNS).where(EVENTS.c.sender_id == sender_id).order_by(EVENTS.c.id)
        if first_id is not None:
            query = query.where(EVENTS.c.id >= first_id)
        if end_id is not None:
            query = query.where(EVENTS.c.id < end_id)
        return connection.execute(query).all()


def _is_sql_tracker_store(store_type: Optional[str]) -> bool:
    if not store_type:
        return False  # Rasa keeps conversations in memory
    if store_type.lower() == "sql":
        return True
    if "." not in store_type:
        return False  # redis, mongod, dynamo...
    try:
        store_class = class_from_module_path(store_type)
    except (ImportError, AttributeError):
        return False  # Rasa falls back to an in-memory store
    return isinstance(store_class, type) and issubclass(store_class, SQLTrackerStore)


def pseudonym_prefix_in(conversation: str) -> bool:
    return conversation.partition(":")[2].startswith(PSEUDONYM_PREFIX) or conversation.startswith(PSEUDONYM_PREFIX)


def tracker_db_url(endpoints_path: Path, project_root: Path) -> URL:
    """The URL of the database Rasa writes to, as the `tracker_store` section of endpoints.yml names it.

    Values such as ${DB_PASSWORD} are read from the environment, as Rasa reads them; a relative
    SQLite file is found from `project_root`. Raises ValueError for a store that is not SQL."""
    if not Path(endpoints_path).is_file():
        raise FileNotFoundError(f"no endpoints file at {endpoints_path}")
    config = read_endpoint_config(str(endpoints_path), "tracker_store")
    store_type = config.type if config else None
    if not _is_sql_tracker_store(store_type):
        raise ValueError(
            f"{endpoints_path}: the staff tools read SQL tracker stores only (type SQL, or a subclass "
            f"of Rasa's SQLTrackerStore such as {_OUR_STORE}); this tracker_store has type {store_type!r}"
        )
    options = config.kwargs
    dialect = options.get("dialect", "sqlite")
    db = options.get("db", "rasa.db")  # Rasa's defaults
    if dialect == "sqlite":
        db = str(Path(project_root) / db)  # an absolute path stays as it is
    return make_url(SQLTrackerStore.get_db_url(
        dialect, config.url, validate_port(options.get("port")), db, options.get("username"),
        options.get("password"),
        # Rasa uses login_db only to create `db`, then works in `db`: that is where the events are.
        None,
        options.get("query"),
    ))


def _sqlite_file(url: URL) -> Optional[Path]:
    """The file of an SQLite URL; None for other databases and for in-memory SQLite."""
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    if url.database.startswith("file:"):
        return Path(unquote(urlsplit(url.database).path))
    return Path(url.database).resolve()


def _read_only_sqlite(file: Path) -> URL:
    # SQLite's URI form with mode=ro never creates the file and never writes to it.
    return URL.create("sqlite", database="file:" + quote(str(file)), query={"mode": "ro", "uri": "true"})


def _latest_activity(summary: ConversationSummary) -> tuple:
    # Conversations without a usable time go last; the id breaks ties so pages never overlap.
    return summary.last_active is not None, summary.last_active or 0.0, summary.sender_id


def _at(items: List[Any], index: int) -> Any:
    return items[index] if index < len(items) else None
