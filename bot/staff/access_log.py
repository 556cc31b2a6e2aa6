"""Who opened which stored conversation, and when: one JSON line per access in var/staff_access.log.

Kept apart from the application log so it can be retained and handed to the hospital's data
protection officer on its own.
"""
from __future__ import annotations

import datetime
import json
import logging
import threading
from pathlib import Path

from bot.retention import prune_access_log
from bot.staff.pseudonym import PREFIX as PSEUDONYM_PREFIX, pseudonym

logger = logging.getLogger(__name__)


class AccessLog:
    def __init__(self, path: Path):
        self.path = path
        self._lock = threading.Lock()

    def record(self, user: str, action: str, conversation: str, address: str) -> None:
        entry = {"time": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
                 "user": user, "action": action, "conversation": conversation, "address": address}
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path, "a", encoding="utf-8") as log:
                log.write(json.dumps(entry, ensure_ascii=False) + "\n")
        # The application log is not the store: it names the conversation by pseudonym only.
        logger.info("staff %s: %s conversation %s", user, action,
                    conversation if conversation.startswith(PSEUDONYM_PREFIX) else pseudonym(conversation))

    def forget(self, conversation: str) -> int:
        """Drops every entry naming an erased conversation (bot/retention.py does the same for age)."""
        with self._lock:
            return prune_access_log(self.path, datetime.datetime.min.replace(tzinfo=datetime.timezone.utc),
                                    {conversation})
