"""What every patient message goes through before NLU, whatever the channel.

Messages are cut to MAX_MESSAGE_CHARS: a patient's question fits easily, and a pasted
document or an attack of 20,000 characters would otherwise slow every component down.
"""
from __future__ import annotations

import re
import unicodedata

MAX_MESSAGE_CHARS = 1000
# A vendor's or client's user id; with its channel prefix (bot/channels/common.py) it fits the
# 255 characters of the tracker store's sender_id column.
MAX_SENDER_CHARS = 240

# Control and format characters (NUL, zero-width spaces, byte-order marks, bidi marks),
# but not the newline and tab a patient may type.
_INVISIBLE = re.compile(r"[\u0000-\u0008\u000B-\u001F\u007F-\u009F\u200B-\u200F\u2028-\u202E\u2060-\u206F\uFEFF]")


def clean_message(text: str) -> str:
    """The message as NLU should see it: normalised, without invisible characters, cut to the limit."""
    text = unicodedata.normalize("NFC", text)
    text = _INVISIBLE.sub("", text).strip()
    return text[:MAX_MESSAGE_CHARS]
