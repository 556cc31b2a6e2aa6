"""Telegram: Rasa's Telegram channel with the webhook's secret token checked and no network call at start-up.

Rasa 3.6's TelegramInput calls Telegram's setWebhook while Rasa starts (Rasa does not start
without network) and getMe on every message, and it trusts any POST to its webhook. This channel:

- checks the `X-Telegram-Bot-Api-Secret-Token` header, which Telegram sends with every update
  once the webhook is registered with a `secret_token` (a one-off step: docs/channels/telegram.md);
  a missing token gets 401, a wrong one 403, and the update is never read;
- reads updates defensively: text goes to the bot cleaned, a tapped button sends its payload,
  stickers, photos, voice notes, locations and files send MEDIA_MESSAGE (a caption is read as
  text); a malformed update gets 400, update kinds we do not handle (edits, polls, group joins
  ...) an acknowledged 200;
- acknowledges an update at once (200) and answers it in the background, each chat's updates in
  arrival order; an update Telegram sends again (same `update_id`) is answered once;
- answers through aiogram's Bot at `api_endpoint` (Telegram, or the tests' stand-in); buttons
  become an inline keyboard, one button a row, whose callback_data is the button's payload.

Name `telegram`: the webhook is /webhooks/telegram/webhook.
"""
from __future__ import annotations

import asyncio
from collections import OrderedDict
import hashlib
import json
import logging
from typing import Any, Awaitable, Callable, Dict, List, Optional, Text, Tuple

import aiohttp
from aiogram.bot.api import Methods, TelegramAPIServer
from aiogram.utils.exceptions import TelegramAPIError
from rasa.core.channels.channel import InputChannel, UserMessage
from rasa.core.channels.telegram import TelegramInput, TelegramOutput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.conversation_ids import conversation_id, vendor_user_id
from bot.channels.common import (
    MEDIA_MESSAGE, AnsweredEvents, PerPatientOrder, Refused, check_body_size, check_shared_secret, patient_text, refusal_response,
    valid_sender,
)

logger = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"

# Telegram refuses a keyboard whose callback_data is longer than this (in UTF-8 bytes).
CALLBACK_DATA_LIMIT = 64

# Seconds to wait for Telegram's API before giving up on one answer.
API_TIMEOUT_SECONDS = 15

# Message parts that are not the patient's words: what Telegram sends when these arrive.
MEDIA_KINDS = ("sticker", "photo", "voice", "audio", "video", "video_note", "animation",
               "document", "location", "venue", "contact")

# Telegram sends /start when a patient opens the bot; /help is the other command every bot has.
# Both greet the patient, in the language of their Telegram app when it is one of ours.
GREETING_COMMANDS = {"/start", "/help"}
LANGUAGES = ("th", "ko", "en", "zh")

# Failures to reach Telegram: logged, never allowed to fail the turn (Rasa would not store it).
SENDING_ERRORS = (TelegramAPIError, aiohttp.ClientError, asyncio.TimeoutError)


class CallbackData:
    """Button payloads as Telegram callback_data, and back.

    Every payload the bot offers today fits in 64 bytes (tests/test_channels_builtin.py checks
    them all). A longer one is sent as a short digest and remembered here, in memory, for the most
    recent `max_remembered` payloads; a digest forgotten after a restart is answered with the
    button's title instead (see SecretTelegramInput._tapped_button).
    """

    PREFIX = "#"

    def __init__(self, max_remembered: int = 10_000) -> None:
        self._payloads: "OrderedDict[str, str]" = OrderedDict()
        self._max_remembered = max_remembered

    def encode(self, payload: str) -> str:
        if len(payload.encode("utf-8")) <= CALLBACK_DATA_LIMIT and not payload.startswith(self.PREFIX):
            return payload
        key = self.PREFIX + hashlib.sha256(payload.encode("utf-8")).hexdigest()[:40]
        self._payloads[key] = payload
        self._payloads.move_to_end(key)
        while len(self._payloads) > self._max_remembered:
            self._payloads.popitem(last=False)
        return key

    def decode(self, data: str) -> Optional[str]:
        """The payload `data` stands for; None for a digest no longer remembered."""
        if data.startswith(self.PREFIX):
            return self._payloads.get(data)
        return data


class TelegramReplies(TelegramOutput):
    """Rasa's Telegram output, at a configurable API address, with failures logged instead of raised."""

    def __init__(self, access_token: Text, api_endpoint: Text, callback_data: CallbackData) -> None:
        # TelegramOutput.__init__ only passes the token on; aiogram's Bot also takes the server.
        super(TelegramOutput, self).__init__(
            access_token, server=TelegramAPIServer.from_base(api_endpoint), timeout=API_TIMEOUT_SECONDS)
        self.callback_data = callback_data

    async def send_response(self, recipient_id: Text, message: Dict[Text, Any]) -> None:
        # recipient_id is our conversation id, "telegram:<chat id>".
        recipient_id = vendor_user_id("telegram", recipient_id)
        try:
            await super().send_response(recipient_id, message)
        except SENDING_ERRORS as error:
            logger.error("telegram: could not send an answer to chat %s: %s", recipient_id, describe(error))

    async def send_text_message(self, recipient_id: Text, text: Text, **kwargs: Any) -> None:
        for part in text.strip().split("\n\n"):
            await self._send_message(recipient_id, part)

    async def send_text_with_buttons(
        self, recipient_id: Text, text: Text, buttons: List[Dict[Text, Any]], **kwargs: Any
    ) -> None:
        await self._send_message(recipient_id, text, self.inline_keyboard(buttons))

    def inline_keyboard(self, buttons: List[Dict[Text, Any]]) -> Dict[str, Any]:
        """One button a row: titles in Thai or Korean are too long to sit side by side on a phone."""
        rows = [[{"text": str(b["title"]), "callback_data": self.callback_data.encode(str(b["payload"]))}]
                for b in buttons if b.get("title") and b.get("payload")]
        return {"inline_keyboard": rows}

    async def _send_message(self, chat_id: Text, text: Text, keyboard: Optional[Dict[str, Any]] = None) -> None:
        # Bot.request, not Bot.send_message: we never use the Message Telegram returns, so an
        # answer that does not parse as one must not fail the turn.
        data: Dict[str, Any] = {"chat_id": chat_id, "text": text}
        if keyboard:
            data["reply_markup"] = json.dumps(keyboard, ensure_ascii=False)
        await self.request(Methods.SEND_MESSAGE, data)

    async def acknowledge_button(self, callback_query_id: str) -> None:
        """Stops the spinner Telegram shows on a tapped button until the bot acknowledges it."""
        try:
            await self.request(Methods.ANSWER_CALLBACK_QUERY, {"callback_query_id": callback_query_id})
        except SENDING_ERRORS as error:
            logger.warning("telegram: could not acknowledge a tapped button: %s", describe(error))

    async def close_session(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()


def describe(error: Exception) -> str:
    # Telegram's own error descriptions are safe to log; a transport error's text could include
    # the request URL, which carries the bot token.
    return str(error) if isinstance(error, TelegramAPIError) else type(error).__name__


def _object(value: Any) -> Dict[str, Any]:
    """`value` if it is a JSON object, else an empty one: an update's parts are read without trusting them."""
    return value if isinstance(value, dict) else {}


def _chat_sender(message: Dict[str, Any]) -> str:
    sender = valid_sender(_object(message.get("chat")).get("id"))
    if sender is None:
        raise Refused("The message has no usable chat id.")
    return sender


def _app_language(user: Any) -> Optional[str]:
    code = user.get("language_code") if isinstance(user, dict) else None
    language = code.split("-")[0].lower() if isinstance(code, str) else None
    return language if language in LANGUAGES else None


def message_text(message: Dict[str, Any]) -> Optional[str]:
    """What a patient's message says to the bot; None when there is nothing to answer."""
    text = message.get("text")
    if text is not None and not isinstance(text, str):
        raise Refused("'text' must be a string.")
    if text is not None:
        command = text.strip().split("@")[0].lower()  # "/start@SpineBot" in a group
        if command in GREETING_COMMANDS:
            language = _app_language(message.get("from"))
            return "/greet" + (json.dumps({"language": language}) if language else "")
        return patient_text(text)
    if any(kind in message for kind in MEDIA_KINDS):
        # A photo's caption is the patient's question; without one, the bot says it reads text only.
        return patient_text(message.get("caption")) or MEDIA_MESSAGE
    return None


class SecretTelegramInput(TelegramInput):
    """Telegram's webhook, refusing updates without the secret token Telegram was given."""

    @classmethod
    def name(cls) -> Text:
        return "telegram"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> InputChannel:
        if not credentials or not credentials.get("access_token") or not credentials.get("secret_token"):
            cls.raise_missing_credentials_exception()
        return cls(credentials["access_token"], str(credentials["secret_token"]),
                   credentials.get("api_endpoint") or "https://api.telegram.org")

    def __init__(self, access_token: Text, secret_token: Text, api_endpoint: Text) -> None:
        super().__init__(access_token, verify=None, webhook_url=None, debug_mode=False)
        self.secret_token = secret_token
        self.api_endpoint = api_endpoint
        self.callback_data = CallbackData()
        self._replies: Optional[TelegramReplies] = None
        self._order = PerPatientOrder()
        self._answered = AnsweredEvents(self.name())

    def get_output_channel(self) -> TelegramReplies:
        # One Bot (one HTTP session) for the process. No setWebhook here: registering the
        # webhook is a set-up step, and Rasa must start without reaching Telegram.
        if self._replies is None:
            self._replies = TelegramReplies(self.access_token, self.api_endpoint, self.callback_data)
        return self._replies

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        telegram_webhook = Blueprint("telegram_webhook", __name__)
        replies = self.get_output_channel()

        @telegram_webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @telegram_webhook.route("/webhook", methods=["POST"])
        async def webhook(request: Request) -> HTTPResponse:
            try:
                check_body_size(request.body)
                check_shared_secret(request.headers, SECRET_HEADER, self.secret_token)
                turn = self._read_update(request.body)
            except Refused as refused:
                return refusal_response(refused, self.name())
            if turn is None:
                return response.json({"status": "ignored"})
            update_id, sender, text, callback_query_id = turn
            if not self._answered.first_time(update_id):
                return response.json({"status": "duplicate"})
            # Telegram resends an update whose 200 is late, so the 200 goes out now and the turn is
            # answered in the background, each chat's turns in arrival order.
            metadata = self.get_metadata(request)
            conversation = conversation_id(self.name(), sender)
            self._order.run(conversation, lambda: self._answer(
                on_new_message, replies, conversation, text, callback_query_id, metadata))
            return response.json({"status": "ok"})

        @telegram_webhook.listener("after_server_stop")
        async def close_session(*_: Any) -> None:
            await replies.close_session()

        return telegram_webhook

    async def _answer(self, on_new_message: Callable[[UserMessage], Awaitable[Any]], replies: "TelegramReplies",
                      conversation: str, text: Optional[str], callback_query_id: Optional[str],
                      metadata: Optional[Dict[str, Any]]) -> None:
        try:
            if callback_query_id:
                await replies.acknowledge_button(callback_query_id)
            if text:
                await on_new_message(UserMessage(text, replies, conversation, input_channel=self.name(),
                                                 metadata=metadata))
        except Exception:  # one failed turn must not stop the chat's next ones
            logger.exception("telegram: could not answer %s", conversation)

    def _read_update(self, body: bytes) -> Optional[Tuple[Any, str, Optional[str], Optional[str]]]:
        """(update id, chat id, text for the bot or None, id of a tapped button to acknowledge), or None
        to ignore the update."""
        try:
            update = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            raise Refused("The update is not valid JSON.")
        if not isinstance(update, dict) or "update_id" not in update:
            raise Refused("The update must be a JSON object with an 'update_id'.")

        if "callback_query" in update:
            query = update["callback_query"]
            if not isinstance(query, dict) or not isinstance(query.get("id"), str):
                raise Refused("'callback_query' must be an object with an 'id'.")
            # The chat the button was in; Telegram leaves the message out when it is too old.
            message = query.get("message")
            if isinstance(message, dict):
                sender = _chat_sender(message)
            else:
                sender = valid_sender(_object(query.get("from")).get("id"))
            if sender is None:
                raise Refused("The tapped button has no usable chat.")
            # Acknowledged even when there is nothing to send the bot: the spinner must stop.
            return update["update_id"], sender, self._tapped_button(query), query["id"]

        if "message" in update:
            message = update["message"]
            if not isinstance(message, dict):
                raise Refused("'message' must be an object.")
            sender = _chat_sender(message)
            text = message_text(message)
            return (update["update_id"], sender, text, None) if text else None

        # Edited messages, channel posts, polls, members joining ...: nothing a patient asked.
        return None

    def _tapped_button(self, query: Dict[str, Any]) -> Optional[str]:
        data = query.get("data")
        if not isinstance(data, str) or not data:
            return None
        payload = self.callback_data.decode(data)
        if payload is not None:
            return payload
        # A long payload's digest from before a restart: the button's title, for NLU to understand.
        keyboard = _object(_object(query.get("message")).get("reply_markup")).get("inline_keyboard")
        titles = [b.get("text") for row in (keyboard if isinstance(keyboard, list) else [])
                  if isinstance(row, list) for b in row
                  if isinstance(b, dict) and b.get("callback_data") == data]
        return patient_text(titles[0]) if titles else None
