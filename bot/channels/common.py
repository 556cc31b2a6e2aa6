"""What the messaging-app channels share: the same bot, reached the same way from every app.

A channel only translates: the vendor's message into a UserMessage, the bot's answers into the
vendor's format. Conversation logic, language and safety answers stay in the bot.
"""
from __future__ import annotations

import asyncio
from collections import OrderedDict
import hmac
import logging
import re
from typing import Any, Awaitable, Callable, Dict, Iterable, List, Mapping, Optional, Text, Tuple
import unicodedata

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from sanic import response
from sanic.response import HTTPResponse

from bot.conversation_ids import conversation_id
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


class Refused(Exception):
    """A request a channel will not process: `status` is the HTTP status to answer, `str(error)` says why.

    One exception for every channel, so that the checks below serve them all. Each channel answers
    it in the shape its vendor expects: JSON through refusal_response, plain text for WeChat, a
    `message_refused` event on socket.io (which has no status).
    """

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def refusal_response(refused: Refused, channel: str) -> HTTPResponse:
    """The JSON answer `{"error": why}` to a refused request, logged under the channel's name.

    A missing or wrong credential (401, 403) is logged as a warning: someone other than the
    vendor may be calling the webhook.
    """
    level = logging.WARNING if refused.status in (401, 403) else logging.INFO
    logger.log(level, "%s: request refused (%s): %s", channel, refused.status, refused)
    return response.json({"error": str(refused)}, status=refused.status)


def check_body_size(body: Optional[bytes]) -> None:
    """Refuses (413) a webhook body too large to be a vendor's message, before it is parsed."""
    if len(body or b"") > MAX_BODY_BYTES:
        raise Refused(f"The request body is larger than {MAX_BODY_BYTES} bytes.", status=413)


def check_auth_header(headers: Mapping[str, str], header_name: str, is_genuine: Callable[[str], bool]) -> None:
    """Refuses a request whose `header_name` header, the proof that the vendor sent it, is missing (401) or wrong (403).

    `is_genuine` tells whether the header's value is that proof: a signature of the body (Messenger,
    Twilio) or our shared secret (check_shared_secret). One rule, so every channel answers a forged
    request alike.
    """
    given = headers.get(header_name)
    if not given:
        raise Refused(f"Missing {header_name}.", status=401)
    if not is_genuine(given):
        raise Refused(f"Wrong {header_name}.", status=403)


def check_shared_secret(headers: Mapping[str, str], header_name: str, expected: str) -> None:
    """Refuses a request without our shared secret in its `header_name` header: 401 missing, 403 wrong.

    For vendors that sign nothing but send back a secret the bot owner gave them (Kakao, Telegram).
    Compared in constant time, so the answer's timing does not tell how much of a guess was right.
    """
    check_auth_header(headers, header_name,
                      lambda given: hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8")))


def patient_text(text: Any) -> Optional[str]:
    """The cleaned message text, or None when there is nothing a patient wrote."""
    if not isinstance(text, str):
        return None
    return clean_message(text) or None


def required_message(value: Any) -> str:
    """The cleaned text of a request's 'message' field, which the website's channels (REST, socket.io) require.

    Their requests carry nothing but a message, so one that is not a string, or nothing once
    cleaned, is refused (400) with the reason, for whoever builds the client.
    """
    if not isinstance(value, str):
        raise Refused("'message' must be a string.")
    text = patient_text(value)
    if text is None:
        raise Refused("'message' is empty.")
    return text


def valid_sender(sender: Any) -> Optional[str]:
    """The vendor's user id, or None when it is unusable (conversation_id makes it ours)."""
    if isinstance(sender, (int, str)) and str(sender).strip() and len(str(sender)) <= MAX_SENDER_CHARS:
        return str(sender)
    return None


async def collect_answers(
    on_new_message: OnNewMessage,
    text: Text,
    vendor_user: Text,
    input_channel: Text,
    metadata: Optional[Dict[Text, Any]] = None,
    timeout: Optional[float] = None,
) -> Optional[List[Dict[Text, Any]]]:
    """The bot's answers to one message from `vendor_user` of `input_channel`, for channels that answer in the HTTP response.

    Returns None when the bot took longer than `timeout` seconds; the turn still completes and
    is stored, so the patient's next message finds the conversation as it should be.
    """
    collector = CollectingOutputChannel()
    sender_id = conversation_id(input_channel, vendor_user)
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


class PerPatientOrder:
    """Runs each patient's turns one after another in arrival order; different patients in parallel."""

    def __init__(self) -> None:
        self._latest: Dict[str, "asyncio.Task[None]"] = {}

    def run(self, user_id: str, turn: Callable[[], Awaitable[None]]) -> "asyncio.Task[None]":
        previous = self._latest.get(user_id)

        async def after_previous() -> None:
            if previous is not None:
                await asyncio.wait([previous])
            await turn()

        task = asyncio.ensure_future(after_previous())
        self._latest[user_id] = task  # also keeps the task referenced until it is done

        def forget(done: "asyncio.Task[None]") -> None:
            if self._latest.get(user_id) is done:
                del self._latest[user_id]

        task.add_done_callback(forget)
        return task


class AnsweredEvents:
    """The ids of the vendor's events already taken in, so that an event the vendor sends again (it
    does when our 200 is late or lost) is answered once. Kept in memory, per Rasa process, for the
    most recent `max_ids` events."""

    def __init__(self, channel: str, max_ids: int = 10_000) -> None:
        self.channel = channel
        self._ids: "OrderedDict[str, None]" = OrderedDict()
        self._max_ids = max_ids

    def first_time(self, event_id: Optional[Any]) -> bool:
        """True for an event not seen before, or one without an id; False for a resent one."""
        if event_id is None or event_id == "":
            return True
        key = str(event_id)
        if key in self._ids:
            logger.info("%s: event %s was already taken in; not answered again", self.channel, key)
            return False
        self._ids[key] = None
        while len(self._ids) > self._max_ids:
            self._ids.popitem(last=False)
        return True
