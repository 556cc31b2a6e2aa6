"""LINE Messaging API channel: LINE's webhook at /webhooks/line/webhook, answers by reply (or push).

A webhook call is checked in this order, and refused at the first failure without being
processed or stored: size (413), X-Line-Signature present (401) and matching the raw body
(403), then the body's shape (400). Only then are its events answered.

What reaches the bot: a text message's cleaned text; a tapped quick reply's postback data (the
button's payload, e.g. `/ask_risks{"procedure": "miss"}`); for a sticker, image, video, voice
note, location or file, MEDIA_MESSAGE, which the bot answers politely in the patient's language.
Other events (follow, unfollow, join, beacon, ...) and group or multi-person chats are
acknowledged and ignored: the assistant talks with one patient at a time.

Set-up on LINE's side: docs/channels/line.md.
"""
from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Text

import aiohttp
from linebot import AsyncLineBotApi
from linebot.aiohttp_async_http_client import AiohttpAsyncHttpClient
from linebot.exceptions import LineBotApiError
from linebot.models import PostbackAction, QuickReply, QuickReplyButton, TextSendMessage
from linebot.webhook import SignatureValidator
from rasa.core.channels.channel import InputChannel
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.channels.common import (
    AnsweredEvents, PerPatientOrder,
    MEDIA_MESSAGE, OnNewMessage, Refused, check_body_size, collect_answers, patient_text, refusal_response,
    short_label, valid_sender,
)

logger = logging.getLogger(__name__)

# LINE's own limits (Messaging API reference).
MAX_MESSAGES_PER_CALL = 5
MAX_TEXT_CHARS = 5000
MAX_QUICK_REPLY_ITEMS = 13
MAX_LABEL_CHARS = 20
MAX_POSTBACK_DATA_CHARS = 300
MAX_DISPLAY_TEXT_CHARS = 300

# LINE guarantees a reply token for one minute after the webhook; an answer later than this is pushed.
REPLY_TOKEN_SECONDS = 50.0

# Webhook event ids already accepted, so an event LINE redelivers (or anyone replays) is answered once.

DEFAULT_API_ENDPOINT = "https://api.line.me"


@dataclass(frozen=True)
class PatientMessage:
    """One LINE event the bot answers."""

    user_id: str
    text: str  # what the bot receives: cleaned text, a button's payload, or MEDIA_MESSAGE
    reply_token: str
    event_id: Optional[str]


def check_signature(raw_body: bytes, signature: Optional[str], channel_secret: str) -> None:
    """Refuses a body that LINE did not sign with this channel's secret (401 unsigned, 403 forged)."""
    if not signature:
        raise Refused("The X-Line-Signature header is missing.", status=401)
    try:
        body = raw_body.decode("utf-8")
    except UnicodeDecodeError:
        # LINE signs UTF-8 JSON, and line-bot-sdk's validator verifies text: other bytes are not LINE's.
        raise Refused("The body is not UTF-8 text, so X-Line-Signature cannot be verified.", status=403)
    if not SignatureValidator(channel_secret).validate(body, signature):
        raise Refused("X-Line-Signature does not match the body.", status=403)


def webhook_events(raw_body: bytes) -> List[Dict[str, Any]]:
    """The `events` of a signed webhook body (empty for LINE's verification call)."""
    try:
        payload = json.loads(raw_body)
    except (ValueError, RecursionError):  # RecursionError: nesting deeper than Python's parser goes
        raise Refused("The request body is not valid JSON.")
    if not isinstance(payload, dict) or not isinstance(payload.get("events"), list):
        raise Refused("The request body must be a JSON object with an 'events' list.")
    for position, event in enumerate(payload["events"]):
        if not isinstance(event, dict) or not isinstance(event.get("type"), str):
            raise Refused(f"events[{position}] must be an object with a 'type'.")
    return payload["events"]


def _field(event: Dict[str, Any], position: int, *path: str) -> Any:
    """event[path[0]][path[1]]..., or a 400 naming the missing field."""
    value: Any = event
    for key in path:
        if not isinstance(value, dict) or key not in value:
            raise Refused(f"events[{position}] ({event['type']}) has no '{'.'.join(path)}'.")
        value = value[key]
    return value


def _string_field(event: Dict[str, Any], position: int, *path: str) -> str:
    value = _field(event, position, *path)
    if not isinstance(value, str) or not value:
        raise Refused(f"events[{position}] ({event['type']}): '{'.'.join(path)}' must be a non-empty string.")
    return value


def patient_message(event: Dict[str, Any], position: int) -> Optional[PatientMessage]:
    """The message for the bot in one event; None for an event the bot does not answer."""
    if event["type"] not in ("message", "postback"):
        return None
    # In standby mode another channel module answers the chat; LINE sends no reply token.
    if event.get("mode") == "standby":
        return None
    if _string_field(event, position, "source", "type") != "user":
        return None  # group or multi-person chat: not a conversation with one patient
    user_id = valid_sender(_string_field(event, position, "source", "userId"))
    if user_id is None:
        raise Refused(f"events[{position}]: 'source.userId' is not a usable user id.")
    reply_token = _string_field(event, position, "replyToken")
    event_id = event.get("webhookEventId") if isinstance(event.get("webhookEventId"), str) else None

    if event["type"] == "postback":
        text = patient_text(_string_field(event, position, "postback", "data"))
    elif _string_field(event, position, "message", "type") == "text":
        written = _field(event, position, "message", "text")
        if not isinstance(written, str):
            raise Refused(f"events[{position}] (message): 'message.text' must be a string.")
        text = patient_text(written)
    else:
        # Sticker, image, video, audio, location, file, or a kind LINE adds later: not text to read.
        text = MEDIA_MESSAGE
    if text is None:
        return None  # nothing left after cleaning (only invisible characters)
    return PatientMessage(user_id, text, reply_token, event_id)


def quick_reply(buttons: List[Dict[str, Any]]) -> Optional[QuickReply]:
    """The bot's buttons as LINE quick replies: a tap sends the payload back as a postback."""
    items: List[QuickReplyButton] = []
    payloads_seen = set()
    for button in buttons:
        title = str(button.get("title") or "").strip()
        payload = str(button.get("payload") or "")
        if not title or not payload or payload in payloads_seen:
            continue
        if len(payload) > MAX_POSTBACK_DATA_CHARS:
            logger.warning("line: button %r left out: its payload is longer than LINE allows", title)
            continue
        payloads_seen.add(payload)
        # display_text is what the chat shows as the patient's message when the button is tapped.
        # Not numbered, as no list is added to the text: the bracketed short name ("MISS") is
        # what tells the procedures apart on LINE.
        label = short_label(title, MAX_LABEL_CHARS, prefer_bracketed_name=True)
        action = PostbackAction(label=label, data=payload, display_text=title[:MAX_DISPLAY_TEXT_CHARS])
        items.append(QuickReplyButton(action=action))
    return QuickReply(items=items[:MAX_QUICK_REPLY_ITEMS]) if items else None


def line_messages(answers: List[Dict[str, Any]]) -> List[TextSendMessage]:
    """The bot's answers as at most 5 LINE text messages, its buttons as quick replies on the last."""
    texts = [answer["text"] for answer in answers if isinstance(answer.get("text"), str) and answer["text"].strip()]
    buttons = [button for answer in answers for button in answer.get("buttons") or []]
    for answer in answers:
        if any(answer.get(kind) for kind in ("image", "attachment", "custom", "elements")):
            logger.warning("line: only texts and buttons are sent; this answer's other parts are left out: %s",
                           sorted(k for k in answer if k not in ("recipient_id", "text", "buttons")))
    if not texts:
        if buttons:
            logger.warning("line: buttons without a text cannot be sent as quick replies; left out")
        return []
    if len(texts) > MAX_MESSAGES_PER_CALL:
        # One call carries at most 5 messages: the later answers share the fifth bubble.
        texts = texts[: MAX_MESSAGES_PER_CALL - 1] + ["\n\n".join(texts[MAX_MESSAGES_PER_CALL - 1:])]
    messages = [TextSendMessage(text=text[:MAX_TEXT_CHARS]) for text in texts]
    messages[-1].quick_reply = quick_reply(buttons)
    return messages


class LineInput(InputChannel):
    """LINE Messaging API: signature-checked webhook in, reply (or push) messages out."""

    @classmethod
    def name(cls) -> Text:
        return "line"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> InputChannel:
        credentials = credentials or {}
        if not credentials.get("channel_secret") or not credentials.get("channel_access_token"):
            cls.raise_missing_credentials_exception()
        return cls(credentials["channel_secret"], credentials["channel_access_token"],
                   credentials.get("api_endpoint") or DEFAULT_API_ENDPOINT)

    def __init__(self, channel_secret: Text, channel_access_token: Text,
                 api_endpoint: Text = DEFAULT_API_ENDPOINT) -> None:
        self.channel_secret = channel_secret
        self.channel_access_token = channel_access_token
        self.api_endpoint = api_endpoint.rstrip("/")
        self._order = PerPatientOrder()
        self._answered = AnsweredEvents(self.name())
        self._session: Optional[aiohttp.ClientSession] = None
        self._api: Optional[AsyncLineBotApi] = None

    def accept(self, raw_body: bytes, signature: Optional[str]) -> List[PatientMessage]:
        """The messages to answer in one webhook call; else Refused saying why it is not processed."""
        check_body_size(raw_body)
        check_signature(raw_body, signature, self.channel_secret)
        events = webhook_events(raw_body)
        # Every event is checked before any is answered: a malformed call is refused as a whole.
        messages = [m for position, event in enumerate(events) if (m := patient_message(event, position))]
        return [m for m in messages if self._answered.first_time(m.event_id)]

    def blueprint(self, on_new_message: OnNewMessage) -> Blueprint:
        line_webhook = Blueprint("line_webhook", __name__)

        @line_webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @line_webhook.route("/webhook", methods=["POST"])
        async def webhook(request: Request) -> HTTPResponse:
            try:
                messages = self.accept(request.body or b"", request.headers.get("X-Line-Signature"))
            except Refused as refused:
                return refusal_response(refused, self.name())
            # LINE wants its 200 within seconds, while an answer can take longer under load: the
            # call is acknowledged now and its events answered in the background. Each patient's
            # events run one after another in arrival order (PerPatientOrder), so answers keep the
            # order of the questions; a late answer is pushed when its reply token has expired.
            received = time.monotonic()
            for message in messages:
                self._order.run(message.user_id,
                                lambda message=message: self._answer(on_new_message, message, received))
            return response.json({"status": "ok"})

        @line_webhook.listener("after_server_stop")
        async def close_http_session(*_: Any) -> None:
            if self._session is not None:
                await self._session.close()

        return line_webhook

    async def _answer(self, on_new_message: OnNewMessage, message: PatientMessage, received: float) -> None:
        try:
            answers = await collect_answers(on_new_message, message.text, message.user_id, self.name())
            messages = line_messages(answers or [])
            if messages:
                await self._deliver(message, messages, time.monotonic() - received)
        except Exception:  # one failed turn must not stop the patient's next ones
            logger.exception("line: could not answer %s", message.user_id)

    async def _deliver(self, message: PatientMessage, messages: List[TextSendMessage], waited: float) -> None:
        """Reply with the event's reply token (free); push to the patient when the token cannot be used."""
        api = self._line_api()
        if waited < REPLY_TOKEN_SECONDS:
            try:
                await api.reply_message(message.reply_token, messages)
                return
            except LineBotApiError as error:
                # 400 is LINE's answer to an expired, used or unknown reply token ("Invalid reply token").
                if error.status_code != 400:
                    raise
                logger.info("line: reply token refused (%s); pushing to %s instead", error.message, message.user_id)
        else:
            logger.info("line: the answer took %.0f s, past the reply token's life; pushing", waited)
        await api.push_message(message.user_id, messages)

    def _line_api(self) -> AsyncLineBotApi:
        # The aiohttp session must be made inside the server's running event loop, hence lazily.
        if self._api is None:
            self._session = aiohttp.ClientSession()
            self._api = AsyncLineBotApi(self.channel_access_token, AiohttpAsyncHttpClient(self._session),
                                        endpoint=self.api_endpoint)
        return self._api
