"""Retention: conversations idle for longer than RETENTION_DAYS are erased, with their references in
the staff access log.

    RETENTION_DAYS=365 .venv/bin/python -m bot.retention             # once, now (on demand)
    .venv/bin/python -m bot.retention --every-hours 24                # on a schedule (make run does this)

A conversation counts from its newest event: one a patient came back to last week is kept whole. The
default, DEFAULT_DAYS, is the hospital's to change; Thailand's PDPA, Korea's PIPA, China's PIPL and the
GDPR all ask that personal data be kept no longer than its purpose needs. The staff console's summaries
live in memory and drop an erased conversation at their next refresh (bot/staff/store.py).
"""
from __future__ import annotations

import argparse
import datetime
import json
import logging
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import List, Mapping, Optional

import sqlalchemy as sa

from bot.paths import PROJECT_ROOT
from bot.staff.store import EVENTS, tracker_db_url
from bot.tracker_store import use_wal

logger = logging.getLogger(__name__)

ENV_VAR = "RETENTION_DAYS"
DEFAULT_DAYS = 365
ACCESS_LOG = PROJECT_ROOT / "var" / "staff_access.log"
_DELETE_BATCH = 500  # conversations per DELETE: keeps each statement's conditions few


@dataclass
class RetentionReport:
    conversations_erased: int
    access_entries_erased: int


def retention_days(environ: Mapping[str, str] = os.environ) -> int:
    """RETENTION_DAYS, a whole number of days of at least 1; ValueError saying what is wrong."""
    value = (environ.get(ENV_VAR) or "").strip()
    if not value:
        return DEFAULT_DAYS
    if not value.isdigit() or int(value) < 1:
        raise ValueError(f"{ENV_VAR} must be a whole number of days, at least 1 (it is {value!r})")
    return int(value)


def expired_conversations(connection: sa.engine.Connection, cutoff: float) -> List[str]:
    """The conversations whose newest event is older than `cutoff` (a unix time)."""
    newest = sa.func.max(EVENTS.c.timestamp)
    query = sa.select(EVENTS.c.sender_id).group_by(EVENTS.c.sender_id).having(newest < cutoff)
    return [sender for (sender,) in connection.execute(query)]


def erase_conversations(connection: sa.engine.Connection, sender_ids: List[str]) -> None:
    for start in range(0, len(sender_ids), _DELETE_BATCH):
        connection.execute(EVENTS.delete().where(EVENTS.c.sender_id.in_(sender_ids[start:start + _DELETE_BATCH])))


def prune_access_log(path: Path, cutoff: datetime.datetime, erased: set) -> int:
    """Drops the access log's entries older than `cutoff`, and any naming an erased conversation."""
    if not path.is_file():
        return 0
    kept: List[str] = []
    dropped = 0
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            entry = json.loads(line)
            old = datetime.datetime.fromisoformat(entry["time"]) < cutoff
            named = entry.get("conversation") in erased
        except (ValueError, KeyError, TypeError):
            old, named = False, False  # a line we cannot read is kept for a person to look at
        if old or named:
            dropped += 1
        else:
            kept.append(line)
    if dropped:
        # Written beside it and renamed over it: a crash leaves the old log or the new one, never half.
        fresh = path.with_suffix(".tmp")
        descriptor = os.open(fresh, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as out:
            out.write("".join(line + "\n" for line in kept))
        os.replace(fresh, path)
    return dropped


def apply_retention(engine: sa.engine.Engine, access_log: Path, days: int,
                    now: Optional[float] = None) -> RetentionReport:
    now = time.time() if now is None else now
    cutoff = now - days * 86400
    with engine.begin() as connection:  # one transaction: a conversation goes whole or not at all
        has_events = sa.inspect(connection).has_table(EVENTS.name)
        expired = expired_conversations(connection, cutoff) if has_events else []
        erase_conversations(connection, expired)
    cutoff_time = datetime.datetime.fromtimestamp(cutoff, datetime.timezone.utc)
    entries = prune_access_log(access_log, cutoff_time, set(expired))
    logger.info("retention (%d days): erased %d conversations and %d access-log entries",
                days, len(expired), entries)
    return RetentionReport(len(expired), entries)


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--endpoints", type=Path, default=PROJECT_ROOT / "endpoints.yml")
    parser.add_argument("--access-log", type=Path, default=ACCESS_LOG)
    parser.add_argument("--every-hours", type=float, default=None, help="run again after this many hours, for ever")
    arguments = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        days = retention_days()
    except ValueError as error:
        print(f"Retention did not run: {error}.", file=sys.stderr)
        return 2
    url = tracker_db_url(arguments.endpoints, PROJECT_ROOT)
    if url.get_backend_name() == "sqlite" and not Path(url.database).is_file():
        engine = None  # nothing stored yet; Rasa creates the file
    else:
        engine = sa.create_engine(url)
        if url.get_backend_name() == "sqlite":
            use_wal(engine)
    while True:
        if engine is None and Path(url.database).is_file():
            engine = sa.create_engine(url)
            use_wal(engine)
        report = apply_retention(engine, arguments.access_log, days) if engine is not None else RetentionReport(0, 0)
        print(f"erased {report.conversations_erased} conversations idle for more than {days} days "
              f"and {report.access_entries_erased} access-log entries", flush=True)
        if arguments.every_hours is None:
            return 0
        time.sleep(arguments.every_hours * 3600)


if __name__ == "__main__":
    sys.exit(main())
