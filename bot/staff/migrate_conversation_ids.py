"""Renames conversations stored before conversation ids carried their channel (bot/conversation_ids.py).

A conversation is given the prefix of the channel its first patient message came through, as
Rasa stored it (`input_channel`): `U4af…` from LINE becomes `line:U4af…`, a REST sender `whatsapp:+66…`
becomes `rest:whatsapp:+66…`. A conversation that already starts with its channel's prefix is left
alone, so running this twice changes nothing. One whose messages came through more than one channel
was reachable by the attack the prefixes close; it keeps its first channel's prefix and is listed,
for the data-protection officer to review.

Stop Rasa first (its cache would not see the new names), then:

    .venv/bin/python -m bot.staff.migrate_conversation_ids            # what would change
    .venv/bin/python -m bot.staff.migrate_conversation_ids --apply    # change it, in one transaction
"""
from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional

import sqlalchemy as sa

from bot.conversation_ids import CONVERSATION_PREFIXES, conversation_id
from bot.paths import PROJECT_ROOT
from bot.staff.pseudonym import pseudonym
from bot.staff.store import EVENTS, tracker_db_url
from bot.tracker_store import use_wal

# Rasa's HTTP API (/conversations/<id>/messages) stores no input channel; REST is its nearest channel.
UNKNOWN_CHANNEL = "rest"


@dataclass
class Migration:
    renames: Dict[str, str] = field(default_factory=dict)  # old id -> new id
    mixed_channels: List[str] = field(default_factory=list)  # old ids reached through several channels


def _channels_in_order(connection: sa.engine.Connection) -> Dict[str, List[str]]:
    """Each conversation's input channels, in the order of its patient messages."""
    channels: Dict[str, List[str]] = {}
    rows = connection.execute(
        sa.select(EVENTS.c.sender_id, EVENTS.c.data).where(EVENTS.c.type_name == "user").order_by(EVENTS.c.id))
    for sender_id, data in rows:
        try:
            channel = json.loads(data).get("input_channel")
        except (TypeError, ValueError, AttributeError):
            channel = None
        known = channel if channel in CONVERSATION_PREFIXES else UNKNOWN_CHANNEL
        seen = channels.setdefault(sender_id, [])
        if known not in seen:
            seen.append(known)
    for (sender_id,) in connection.execute(sa.select(EVENTS.c.sender_id).distinct()):
        channels.setdefault(sender_id, [UNKNOWN_CHANNEL])  # no patient message at all
    return channels


def plan(connection: sa.engine.Connection) -> Migration:
    migration = Migration()
    existing = set()
    for sender_id, channels in _channels_in_order(connection).items():
        existing.add(sender_id)
        owner = channels[0]
        if len(channels) > 1:
            migration.mixed_channels.append(sender_id)
        # Twilio's ids are "whatsapp:+<number>", already the prefix of their channel.
        if not sender_id.startswith(CONVERSATION_PREFIXES[owner] + ":"):
            migration.renames[sender_id] = conversation_id(owner, sender_id)
    clashes = set(migration.renames.values()) & existing
    if clashes:
        raise SystemExit(f"{len(clashes)} new ids already exist; nothing was changed. Pseudonyms: "
                         + ", ".join(sorted(pseudonym(c) for c in clashes)[:10]))
    return migration


def apply(connection: sa.engine.Connection, migration: Migration) -> None:
    for old, new in migration.renames.items():
        connection.execute(EVENTS.update().where(EVENTS.c.sender_id == old).values(sender_id=new))


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--apply", action="store_true", help="rename; without it, only say what would change")
    parser.add_argument("--endpoints", type=Path, default=PROJECT_ROOT / "endpoints.yml")
    arguments = parser.parse_args(argv)
    url = tracker_db_url(arguments.endpoints, PROJECT_ROOT)
    engine = sa.create_engine(url)
    if url.get_backend_name() == "sqlite":
        use_wal(engine)
    with engine.begin() as connection:  # one transaction: every conversation renamed, or none
        migration = plan(connection)
        if arguments.apply:
            apply(connection, migration)
    verb = "renamed" if arguments.apply else "would rename"
    print(f"{verb} {len(migration.renames)} conversations to carry their channel")
    if migration.mixed_channels:
        # Pseudonyms, never the ids: this output may be pasted into a ticket.
        print(f"{len(migration.mixed_channels)} conversations had messages from more than one channel "
              "(review them; pseudonyms): " + ", ".join(pseudonym(s) for s in migration.mixed_channels))
    if not arguments.apply and migration.renames:
        print("run again with --apply to rename them")
    return 0


if __name__ == "__main__":
    sys.exit(main())
