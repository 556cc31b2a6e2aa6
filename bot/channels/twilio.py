"""WhatsApp through Twilio: Rasa's Twilio channel with Twilio's request signature checked first.

Rasa 3.6's TwilioInput answers anyone who posts to its webhook, and a failed call to Twilio's
REST API (no network, a refused number) fails the turn. This channel:

- checks `X-Twilio-Signature` with the twilio package's RequestValidator, against `webhook_url`
  (the public URL registered at Twilio: behind a proxy the URL Rasa sees is not the one Twilio
  signed) and the form fields, before anything else: missing 401, wrong 403;
- refuses oversized bodies (413) and messages without a sender or text (400); a photo, voice
  note, file or location without text sends MEDIA_MESSAGE;
- answers through Rasa's TwilioOutput (Twilio's REST API) in a worker thread with a timeout;
  a failure is logged and the turn is still stored;
- shows buttons as a numbered list under the question (Twilio's plain WhatsApp messages have no
  quick replies; Rasa's default sends each button as its own message with the raw payload).
  A reply of "2", or a button's title, sends that button's payload to the bot.

Name `twilio`: the webhook is /webhooks/twilio/webhook.
"""
from __future__ import annotations

import asyncio
import logging
from typing import Any, Awaitable, Callable, Dict, List, Optional, Text
from urllib.parse import parse_qs

from rasa.core.channels.channel import InputChannel, UserMessage
from rasa.core.channels.twilio import TwilioInput, TwilioOutput
from sanic import Blueprint, response
from sanic.request import Request, RequestParameters
from sanic.response import HTTPResponse
from twilio.base.exceptions import TwilioException
from twilio.http.http_client import TwilioHttpClient
from twilio.request_validator import RequestValidator

from bot.conversation_ids import vendor_user_id
from bot.channels.common import (
    MEDIA_MESSAGE, OfferedButtons, Refused, check_auth_header, check_body_size, numbered_options, patient_text,
    refusal_response, valid_sender,
)

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Twilio-Signature"

# Seconds to wait for Twilio's REST API before giving up on one message.
API_TIMEOUT_SECONDS = 15

# Twilio's HTTP client logs every request's fields, the patient's messages among them, at INFO.
_api_logger = logging.getLogger(__name__ + ".api")
_api_logger.setLevel(logging.WARNING)

WHATSAPP_PREFIX = "whatsapp:"

# An empty TwiML answer: the bot's answers go out through the REST API, not in this response.
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


class TwilioReplies(TwilioOutput):
    """Rasa's Twilio output, off the event loop, with failures logged and buttons as a numbered list."""

    def __init__(self, account_sid: Text, auth_token: Text, twilio_number: Text, offered: OfferedButtons) -> None:
        super().__init__(account_sid, auth_token, twilio_number)
        self.http_client = TwilioHttpClient(timeout=API_TIMEOUT_SECONDS, logger=_api_logger)
        self.offered = offered

    async def _send_message(self, message_data: Dict[Text, Any]) -> Any:
        # Rasa's version catches only Twilio's refusals; with no network, requests' errors
        # (OSErrors) would fail the turn. The client blocks, hence the worker thread.
        try:
            return await asyncio.to_thread(self.messages.create, **message_data)
        except TwilioException as error:
            logger.error("twilio: Twilio refused a message to %s: %s", message_data.get("to"), error)
        except OSError as error:
            logger.error("twilio: could not reach Twilio to send a message to %s: %s",
                         message_data.get("to"), type(error).__name__)
        return None

    async def send_response(self, recipient_id: Text, message: Dict[Text, Any]) -> None:
        # recipient_id is our conversation id, "whatsapp:+<number>", which is also Twilio's address.
        vendor_user_id("twilio", recipient_id)
        await super().send_response(recipient_id, message)

    async def send_text_with_buttons(
        self, recipient_id: Text, text: Text, buttons: List[Dict[Text, Any]], **kwargs: Any
    ) -> None:
        # Remembered before sending: a patient who got the list some other way can still answer "2".
        self.offered.remember(recipient_id, buttons)
        await self._send_message({"to": recipient_id, "from_": self.twilio_number,
                                  "body": numbered_options(text, buttons)})


def message_text(form: RequestParameters) -> Optional[str]:
    """What the patient's WhatsApp message says to the bot; else Refused 400 saying why."""
    body = patient_text(form.get("Body"))
    if body:
        return body
    try:
        media = int(form.get("NumMedia") or 0)
    except ValueError:
        raise Refused("'NumMedia' must be a number.")
    if media > 0 or (form.get("Latitude") and form.get("Longitude")):
        return MEDIA_MESSAGE
    raise Refused("The message has no 'Body' and no media.")


class SignedTwilioInput(TwilioInput):
    """Twilio's incoming-message webhook, refusing every request Twilio did not sign."""

    @classmethod
    def name(cls) -> Text:
        return "twilio"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> InputChannel:
        keys = ("account_sid", "auth_token", "twilio_number", "webhook_url")
        if not credentials or not all(credentials.get(key) for key in keys):
            cls.raise_missing_credentials_exception()
        return cls(*(str(credentials[key]) for key in keys))

    def __init__(self, account_sid: Text, auth_token: Text, twilio_number: Text, webhook_url: Text) -> None:
        super().__init__(account_sid, auth_token, twilio_number, debug_mode=False)
        self.webhook_url = webhook_url
        self.validator = RequestValidator(auth_token)
        self.offered = OfferedButtons()

    def get_output_channel(self) -> TwilioReplies:
        return TwilioReplies(self.account_sid, self.auth_token, self.twilio_number, self.offered)

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        twilio_webhook = Blueprint("twilio_webhook", __name__)

        @twilio_webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @twilio_webhook.route("/webhook", methods=["POST"])
        async def webhook(request: Request) -> HTTPResponse:
            try:
                check_body_size(request.body)
                # Read as Twilio signed it: every field, blank ones too. Bytes that are not UTF-8
                # become U+FFFD, and then the signature does not match.
                form = RequestParameters(
                    parse_qs(request.body.decode("utf-8", errors="replace"), keep_blank_values=True))
                check_auth_header(request.headers, SIGNATURE_HEADER,
                                  lambda signature: self.validator.validate(self.webhook_url, form, signature))
                sender = valid_sender(form.get("From"))
                if sender is None:
                    raise Refused("The message has no usable 'From'.")
                # Twilio's address of a WhatsApp user, "whatsapp:+<number>", is our conversation id
                # (bot/channels/common.py); an SMS number is not a patient of this channel.
                if not sender.startswith(WHATSAPP_PREFIX):
                    raise Refused("This webhook takes WhatsApp messages only ('From' must start with 'whatsapp:').")
                text = self.offered.resolve(sender, message_text(form))
            except Refused as refused:
                return refusal_response(refused, self.name())
            # A number answers the list sent just before it, never an older one.
            self.offered.remember(sender, [])
            await on_new_message(UserMessage(text, self.get_output_channel(), sender, input_channel=self.name(),
                                             metadata=self.get_metadata(request)))
            return response.text(EMPTY_TWIML, content_type="application/xml")

        return twilio_webhook
