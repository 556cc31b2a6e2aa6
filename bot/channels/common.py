"""What the messaging-app channels share: the same bot, reached the same way from every app.

A channel only translates: the vendor's message into a UserMessage, the bot's answers into the
vendor's format. Conversation logic, language and safety answers stay in the bot.
"""
from __future__ import annotations

import asyncio
from collections import OrderedDict
import logging
import re
from typing import Any, Awaitable, Callable, Dict, Iterable, List, Optional, Text, Tuple
import unicodedata

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage

from bot.text_input import MAX_SENDER_CHARS, clean_message

logger = logging.getLogger(__name__)

# Sent to the bot for a sticker, image, voice note, location or file: the `share_media` intent,
# whose rule answers politely, in the patient's language, that only text can be read.
MEDIA_MESSAGE = "/share_media"

# Webhook bodies larger than this are refused with 413 before they are parsed. A vendor's text
# event is a few kB; a patient's message is cut to 1,000 characters anyway (bot/text_input.py).
MAX_BODY_BYTES = 256 * 1024

# Most apps show at most this many quick replies (LINE 13, Kakao 10, Messenger 13).
MAX_QUICK_REPLIES = 10

OnNewMessage = Callable[[UserMessage], Awaitable[Any]]


def oversized_body(body: Optional[bytes]) -> Optional[str]:
    """Why a webhook body must be refused with 413, or None when its size is acceptable."""
    if len(body or b"") > MAX_BODY_BYTES:
        return f"The request body is larger than {MAX_BODY_BYTES} bytes."
    return None


def patient_text(text: Any) -> Optional[str]:
    """The cleaned message text, or None when there is nothing a patient wrote."""
    if not isinstance(text, str):
        return None
    return clean_message(text) or None


def valid_sender(sender: Any) -> Optional[str]:
    """The vendor's user id as our conversation id, or None when it is unusable."""
    if isinstance(sender, (int, str)) and str(sender).strip() and len(str(sender)) <= MAX_SENDER_CHARS:
        return str(sender)
    return None


async def collect_answers(
    on_new_message: OnNewMessage,
    text: Text,
    sender_id: Text,
    input_channel: Text,
    metadata: Optional[Dict[Text, Any]] = None,
    timeout: Optional[float] = None,
) -> Optional[List[Dict[Text, Any]]]:
    """The bot's answers to one message, for channels that must answer in the HTTP response.

    Returns None when the bot took longer than `timeout` seconds; the turn still completes and
    is stored, so the patient's next message finds the conversation as it should be.
    """
    collector = CollectingOutputChannel()
    message = UserMessage(text, collector, sender_id, input_channel=input_channel, metadata=metadata)
    handling = asyncio.ensure_future(on_new_message(message))
    try:
        await asyncio.wait_for(asyncio.shield(handling), timeout)
    except asyncio.TimeoutError:
        logger.warning("%s: the answer to %s took longer than %.1f s", input_channel, sender_id, timeout)
        return None
    return collector.messages


def split_long_text(text: str, fits: Callable[[str], bool]) -> List[str]:
    """`text` in pieces that each `fits`, cut at a line break or space where there is one."""
    pieces: List[str] = []
    rest = text.strip()
    while rest and not fits(rest):
        # The longest prefix that fits (at least one character, so this always moves on).
        low, high = 1, len(rest)
        while low < high:
            middle = (low + high + 1) // 2
            if fits(rest[:middle]):
                low = middle
            else:
                high = middle - 1
        prefix = rest[:low]
        for boundary in ("\n\n", "\n", " "):
            cut = prefix.rfind(boundary)
            if cut > len(prefix) // 2:
                prefix = prefix[:cut]
                break
        pieces.append(prefix.strip())
        rest = rest[len(prefix):].strip()
    if rest:
        pieces.append(rest)
    return pieces


def usable_buttons(buttons: Iterable[Dict[str, Any]]) -> List[Dict[str, str]]:
    """The buttons a patient can pick (those with a title and a payload), both as strings.

    Channels show, number and remember (OfferedButtons) this same list, so a typed "2" is the
    second option the patient saw.
    """
    return [{"title": str(b["title"]), "payload": str(b["payload"])}
            for b in buttons if b.get("title") and b.get("payload")]


def numbered_titles(buttons: Iterable[Dict[str, Any]]) -> List[str]:
    """The usable buttons' titles as "1. title", "2. title", ..., numbered as OfferedButtons.resolve counts them."""
    return [f"{number}. {button['title']}" for number, button in enumerate(usable_buttons(buttons), start=1)]


def numbered_options(text: str, buttons: Iterable[Dict[str, Any]]) -> str:
    """`text` with the buttons' titles listed under it, numbered from 1, for apps without (usable) quick replies."""
    return "\n\n".join(part for part in (text.strip(), "\n".join(numbered_titles(buttons))) if part)


# A title's short name in brackets at its end: "... (MISS)", "... (ไมโครดิสเอกโตมี)".
_SHORT_NAME_IN_BRACKETS = re.compile(r"\(([^()]+)\)\s*$")


def short_label(title: str, max_chars: int, prefer_bracketed_name: bool = False) -> str:
    """`title` within a vendor's label limit of `max_chars` characters.

    A longer title is cut with an ellipsis, never between a letter and its vowel or tone mark
    (Thai). With `prefer_bracketed_name`, a long title's short name in brackets at its end
    ("... (MISS)") is the label when it fits: it says more than the title's start, and the Thai
    titles of two procedures share their first 20 characters.
    """
    title = title.strip()
    if len(title) <= max_chars:
        return title
    if prefer_bracketed_name:
        short_name = _SHORT_NAME_IN_BRACKETS.search(title)
        if short_name and 0 < len(short_name.group(1).strip()) <= max_chars:
            return short_name.group(1).strip()
    cut = max_chars - 1
    while cut > 1 and unicodedata.category(title[cut]).startswith("M"):
        cut -= 1
    return title[:cut] + "…"


def labelled_options(text: str, buttons: Iterable[Dict[str, Any]], max_label_chars: int) -> Tuple[str, List[str]]:
    """The text and one quick-reply label per usable button, for an app whose labels hold `max_label_chars`.

    When every title fits, the labels are the titles and the text is unchanged. Otherwise the
    options are listed in full under the text, numbered, and each label shows its number and the
    start of its title, so options that begin alike ("ผ่าตัดหมอนรองกระดูก…") stay tellable apart.
    """
    buttons = usable_buttons(buttons)
    titles = [button["title"] for button in buttons]
    if all(len(title) <= max_label_chars for title in titles):
        return text, titles
    labels = [short_label(line, max_label_chars) for line in numbered_titles(buttons)]
    return numbered_options(text, buttons), labels


class OfferedButtons:
    """The buttons last offered to each patient, for apps whose quick replies send back only text.

    Kakao's and WeChat's quick replies (and a typed "2" for the second numbered option) come
    back as ordinary text. Mapping that text to the button's payload sends the bot the exact
    intent the button stood for, instead of asking NLU to guess it from a short label. Kept in
    memory, per Rasa process, for the most recent `max_senders` patients.
    """

    def __init__(self, max_senders: int = 10_000) -> None:
        self._offers: "OrderedDict[str, List[Dict[str, str]]]" = OrderedDict()
        self._max_senders = max_senders

    def remember(self, sender_id: str, buttons: List[Dict[str, Any]]) -> None:
        usable = usable_buttons(buttons)
        self._offers.pop(sender_id, None)
        if usable:
            self._offers[sender_id] = usable
            while len(self._offers) > self._max_senders:
                self._offers.popitem(last=False)

    def resolve(self, sender_id: str, text: str) -> str:
        """The payload of the button whose title (or 1-based number) is `text`; else `text` itself."""
        offered = self._offers.get(sender_id) or []
        typed = text.strip()
        for number, button in enumerate(offered, start=1):
            if typed == button["title"].strip() or typed == str(number):
                return button["payload"]
        return text
