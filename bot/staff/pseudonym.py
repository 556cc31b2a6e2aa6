"""Conversation ids as they may leave the conversation store: a keyed hash, never the id itself.

A conversation id is the vendor's user id, and for WhatsApp a phone number. Corrections and saved test
conversations are committed to git, so they name a conversation by `pseudonym(id)`: HMAC-SHA256 with a
key only this installation holds (`STAFF_PSEUDONYM_KEY`, or generated into var/pseudonym_key). Staff with
the store can still find the conversation (its pseudonym is the same); nobody with the files alone can
reverse it.
"""
from __future__ import annotations

import hashlib
import hmac
import os
from functools import lru_cache

from bot import local_secrets

ENV_VAR = "STAFF_PSEUDONYM_KEY"
KEY_FILE = local_secrets.VAR_DIR / "pseudonym_key"
PREFIX = "conv-"


@lru_cache(maxsize=1)
def _installation_key() -> bytes:
    return local_secrets.load_or_create(KEY_FILE, ENV_VAR, os.environ).encode()


def pseudonym(conversation_id: str, key: bytes = b"") -> str:
    """The conversation's pseudonym: the same id always gives the same one, under one key."""
    digest = hmac.new(key or _installation_key(), conversation_id.encode("utf-8"), hashlib.sha256).hexdigest()
    return PREFIX + digest[:20]  # 80 bits: no collision among a hospital's conversations


def masked_conversation_id(conversation_id: str, key: bytes = b"") -> str:
    """How a masked screen names a conversation: its channel, then its pseudonym (`whatsapp:conv-…`).

    The id itself is the patient's phone number on WhatsApp, so masked lists and pages never show it;
    the staff store turns a masked id back into the conversation (ConversationStore.resolve)."""
    channel, colon, _ = conversation_id.partition(":")
    return (channel + ":" if colon else "") + pseudonym(conversation_id, key)
