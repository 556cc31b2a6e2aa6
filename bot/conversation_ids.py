"""Conversation ids: every one names its channel, so that no channel can reach another's conversations.

A vendor's user id becomes `<prefix>:<vendor id>` (`line:U4af…`, `whatsapp:+66…`, `web:…`), and a
REST caller's sender becomes `rest:<sender>`: a caller who sends `whatsapp:+66…` as its sender
gets a conversation of its own, `rest:whatsapp:+66…`, never the patient's. Conversations stored
before these prefixes existed are renamed by `python -m bot.staff.migrate_conversation_ids`.
"""
from __future__ import annotations

from typing import Any, Optional

# Every conversation id starts with its channel's prefix, so that no channel can name another's
# conversation: a REST caller's "whatsapp:+66..." becomes "rest:whatsapp:+66...", a conversation of
# its own. Keys are Rasa's channel names (InputChannel.name()), values what staff read.
CONVERSATION_PREFIXES = {
    "rest": "rest", "socketio": "web", "line": "line", "kakao": "kakao", "wechat": "wechat",
    "telegram": "telegram", "facebook": "messenger", "twilio": "whatsapp",
}


def conversation_id(channel: str, vendor_user_id: Any) -> str:
    """Our conversation id for the user the vendor of `channel` knows as `vendor_user_id`."""
    return f"{CONVERSATION_PREFIXES[channel]}:{vendor_user_id}"


def vendor_user_id(channel: str, conversation: str) -> str:
    """The vendor's user id inside one of `channel`'s conversation ids, to send answers to.

    A conversation id of another channel is refused (ValueError): an answer must never go out on
    a channel its conversation did not come from.
    """
    prefix = CONVERSATION_PREFIXES[channel] + ":"
    if not conversation.startswith(prefix):
        raise ValueError(f"{conversation!r} is not a conversation of the {channel} channel")
    return conversation[len(prefix):]


def channel_of(conversation: str) -> Optional[str]:
    """The Rasa channel name a conversation id belongs to; None for an id without a known prefix."""
    prefix = conversation.split(":", 1)[0]
    for channel, known in CONVERSATION_PREFIXES.items():
        if known == prefix and ":" in conversation:
            return channel
    return None
