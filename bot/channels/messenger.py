"""Facebook Messenger: Rasa's Facebook channel with Meta's signature required and checked first.

Rasa 3.6's FacebookInput answers a request with a wrong signature 200 "not validated", crashes on
a header such as "md5=.." (it looks the hash up with getattr(hashlib, ...)), reads only the first
event of a batch, and lets a failed call to the Graph API fail the turn. This channel:

- requires `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body with the app secret>`,
  compared in constant time before the body is parsed: missing 401, wrong or malformed 403.
  The older SHA-1 `X-Hub-Signature` alone is refused: Meta signs every call with SHA-256, so a
  request with only the SHA-1 header is not one Meta sent, and SHA-1 is the weaker of the two;
- answers Meta's webhook verification (GET with hub.mode, hub.verify_token, hub.challenge) with
  the challenge, or 403 for a wrong verify token;
- refuses oversized bodies (413) and malformed ones (400), acknowledges events we do not handle
  (deliveries, reads, reactions, echoes) with 200, and hands every message of a batch, in order,
  to Rasa's Messenger handler;
- acknowledges a batch at once (200) and answers in the background, each patient's messages in
  arrival order; a message Meta sends again (same `mid`) is answered once;
- answers through the Graph API with fbmessenger (as Rasa does) in a worker thread with a
  timeout; a failure is logged and the turn is still stored. Buttons become quick replies.

Name `facebook`: the webhook is /webhooks/facebook/webhook.
"""
from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import re
from typing import Any, Awaitable, Callable, Dict, List, Optional, Text

import requests
from fbmessenger import MessengerClient
from fbmessenger.elements import Text as FBText
from fbmessenger.quick_replies import QuickReplies, QuickReply
from fbmessenger.sender_actions import SenderAction
from rasa.core.channels.channel import InputChannel, UserMessage
from rasa.core.channels.facebook import FacebookInput, Messenger, MessengerBot
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.conversation_ids import conversation_id, vendor_user_id
from bot.channels.common import (
    MAX_QUICK_REPLIES, MEDIA_MESSAGE, AnsweredEvents, PerPatientOrder, Refused, check_auth_header, check_body_size, labelled_options,
    patient_text, refusal_response, usable_buttons, valid_sender,
)

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Hub-Signature-256"
_SIGNATURE = re.compile(r"sha256=(?P<digest>[0-9a-fA-F]{64})")

# Seconds to wait for the Graph API before giving up on one call.
GRAPH_TIMEOUT_SECONDS = 10

# Messenger cuts a quick reply's title at 20 characters; we cut it ourselves, visibly.
QUICK_REPLY_TITLE_CHARS = 20


def hub_signature(app_secret: str, body: bytes) -> str:
    """The X-Hub-Signature-256 value Meta sends with `body`."""
    return "sha256=" + hmac.new(app_secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


class GraphClient(MessengerClient):
    """fbmessenger's client with a timeout, and failures logged instead of raised.

    Its errors are logged by type only: a requests error's text includes the URL, which carries
    the page access token.
    """

    def send(self, payload: Any, recipient_id: Text, messaging_type: Text = "RESPONSE",
             notification_type: Text = "REGULAR", timeout: Optional[float] = None, tag: Any = None) -> Any:
        return self._call("message", super().send, payload, recipient_id, messaging_type, notification_type,
                          timeout=timeout or GRAPH_TIMEOUT_SECONDS, tag=tag)

    def send_action(self, sender_action: Any, recipient_id: Text, timeout: Optional[float] = None) -> Any:
        return self._call("sender action", super().send_action, sender_action, recipient_id,
                          timeout=timeout or GRAPH_TIMEOUT_SECONDS)

    @staticmethod
    def _call(what: str, method: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        try:
            answer = method(*args, **kwargs)
        except (requests.RequestException, ValueError) as error:  # ValueError: an answer that is not JSON
            logger.error("facebook: could not send a %s to the Graph API: %s", what, type(error).__name__)
            return None
        if isinstance(answer, dict) and "error" in answer:
            error = answer["error"] if isinstance(answer["error"], dict) else {}
            logger.error("facebook: the Graph API refused a %s: %s (code %s)",
                         what, error.get("message"), error.get("code"))
        return answer


class MessengerReplies(MessengerBot):
    """Rasa's Messenger output with the Graph API called off the event loop, and buttons as quick replies.

    Rasa's version drops all buttons when there are more than 3 (the button template's limit);
    the bot offers one button per procedure, so quick replies (up to 13) are used instead.
    """

    async def send_response(self, recipient_id: Text, message: Dict[Text, Any]) -> None:
        # recipient_id is our conversation id, "messenger:<page-scoped id>".
        await super().send_response(vendor_user_id("facebook", recipient_id), message)

    async def send_text_message(self, recipient_id: Text, text: Text, **kwargs: Any) -> None:
        for part in text.strip().split("\n\n"):
            await self._send(recipient_id, FBText(text=part).to_dict())

    async def send_text_with_buttons(
        self, recipient_id: Text, text: Text, buttons: List[Dict[Text, Any]], **kwargs: Any
    ) -> None:
        await self._send(recipient_id, with_quick_replies(text, buttons))

    async def send_quick_replies(
        self, recipient_id: Text, text: Text, quick_replies: List[Dict[Text, Any]], **kwargs: Any
    ) -> None:
        await self.send_text_with_buttons(recipient_id, text, quick_replies)

    async def send_action(self, recipient_id: Text, sender_action: Text) -> None:
        await asyncio.to_thread(self.messenger_client.send_action, SenderAction(sender_action).to_dict(), recipient_id)

    async def _send(self, recipient_id: Text, message: Dict[str, Any]) -> None:
        # fbmessenger posts with the blocking `requests`; a worker thread keeps the server
        # answering other patients meanwhile.
        await asyncio.to_thread(self.messenger_client.send, message, recipient_id, "RESPONSE")


def with_quick_replies(text: Text, buttons: List[Dict[Text, Any]]) -> Dict[str, Any]:
    """A Messenger message: the text, and the bot's buttons as quick replies sending back their payloads.

    A quick reply shows at most 20 characters; when a title is longer (the Thai procedure names
    are 36 to 56), the options are numbered and listed in the text (labelled_options).
    """
    offered = usable_buttons(buttons)[:MAX_QUICK_REPLIES]
    text, labels = labelled_options(text, offered, QUICK_REPLY_TITLE_CHARS)
    replies = QuickReplies([QuickReply(title=label, payload=button["payload"])
                            for label, button in zip(labels, offered)])
    return FBText(text=text, quick_replies=replies).to_dict()


class PatientMessenger(Messenger):
    """Rasa's Messenger handler, reading every event of a batch and answering through MessengerReplies."""

    def __init__(self, client: GraphClient, on_new_message: Callable[[UserMessage], Awaitable[Any]],
                 order: PerPatientOrder, answered: AnsweredEvents) -> None:
        self.on_new_message = on_new_message
        self.client = client
        self.last_message: Dict[Text, Any] = {}
        self.order, self.answered = order, answered

    async def handle(self, payload: Dict, metadata: Optional[Dict[Text, Any]]) -> None:
        """Takes in every event of a batch (Rasa's version stops after the first; Meta batches several)
        and returns at once: the answers follow in the background (_handle_user_message)."""
        for entry in payload["entry"]:
            for event in entry.get("messaging") or []:
                body = event.get("message") or event.get("postback")
                # Meta resends a batch whose 200 is late: each message id is answered once.
                if isinstance(body, dict) and not self.answered.first_time(body.get("mid")):
                    continue
                self.last_message = event
                if event.get("message"):
                    await self.message(event, metadata)
                elif event.get("postback"):
                    await self.postback(event, metadata)

    async def message(self, message: Dict[Text, Any], metadata: Optional[Dict[Text, Any]]) -> None:
        body = message["message"]
        if body.get("is_echo"):  # our own answer, echoed back when the page subscribes to echoes
            return
        quick_reply = body.get("quick_reply")
        payload = quick_reply.get("payload") if isinstance(quick_reply, dict) else None
        if isinstance(payload, str) and payload:
            text: Optional[str] = payload
        elif body.get("text") is not None:
            text = patient_text(body.get("text"))
        elif body.get("attachments") or body.get("sticker_id"):
            # Images, stickers, voice, video, files, locations: the bot answers that it reads text only.
            text = MEDIA_MESSAGE
        else:
            text = None
        if text:
            await self._handle_user_message(text, self.get_user_id(), metadata)

    async def postback(self, message: Dict[Text, Any], metadata: Optional[Dict[Text, Any]]) -> None:
        payload = message["postback"].get("payload")
        if isinstance(payload, str) and payload:
            await self._handle_user_message(payload, self.get_user_id(), metadata)

    async def _handle_user_message(self, text: Text, sender_id: Text, metadata: Optional[Dict[Text, Any]]) -> None:
        # Each patient's messages are answered one after another, in arrival order.
        self.order.run(sender_id, lambda: self._answer(text, sender_id, metadata))

    async def _answer(self, text: Text, sender_id: Text, metadata: Optional[Dict[Text, Any]]) -> None:
        replies = MessengerReplies(self.client)
        await replies.send_action(sender_id, "mark_seen")
        await replies.send_action(sender_id, "typing_on")
        try:
            await self.on_new_message(UserMessage(text, replies, conversation_id(self.name(), sender_id),
                                                  input_channel=self.name(),
                                                  metadata=metadata))
        except Exception:
            # As Rasa's handler does: one failed turn must not fail the rest of Meta's batch.
            logger.exception("facebook: the bot failed to handle a message from %s", sender_id)
        finally:
            await replies.send_action(sender_id, "typing_off")


def page_events(body: bytes) -> Dict[str, Any]:
    """The JSON body, if it has the shape of Messenger page events; else Refused 400 saying why."""
    try:
        payload = json.loads(body)
    except ValueError:  # UnicodeDecodeError is a ValueError too
        raise Refused("The body is not valid JSON.")
    if not isinstance(payload, dict):
        raise Refused("The body must be a JSON object.")
    if payload.get("object") != "page":
        raise Refused("Only Messenger page events ('object': 'page') are handled here.")
    entries = payload.get("entry")
    if not isinstance(entries, list) or not all(isinstance(entry, dict) for entry in entries):
        raise Refused("'entry' must be a list of objects.")
    for entry in entries:
        events = entry.get("messaging", [])
        if not isinstance(events, list) or not all(isinstance(event, dict) for event in events):
            raise Refused("'messaging' must be a list of objects.")
        for event in events:
            for kind in ("message", "postback"):
                if kind in event and not isinstance(event[kind], dict):
                    raise Refused(f"'{kind}' must be an object.")
            if ("message" in event or "postback" in event) and not valid_sender(
                    (event.get("sender") if isinstance(event.get("sender"), dict) else {}).get("id")):
                raise Refused("A message has no usable 'sender.id'.")
    return payload


class SignedMessengerInput(FacebookInput):
    """Messenger's webhook, refusing every request not signed with the app secret."""

    @classmethod
    def name(cls) -> Text:
        return "facebook"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> InputChannel:
        if not credentials or not all(credentials.get(key) for key in ("verify", "secret", "page-access-token")):
            cls.raise_missing_credentials_exception()
        return cls(str(credentials["verify"]), str(credentials["secret"]), str(credentials["page-access-token"]))

    def __init__(self, fb_verify: Text, fb_secret: Text, fb_access_token: Text) -> None:
        super().__init__(fb_verify, fb_secret, fb_access_token)
        self._order = PerPatientOrder()
        self._answered = AnsweredEvents(self.name())

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        facebook_webhook = Blueprint("facebook_webhook", __name__)

        @facebook_webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @facebook_webhook.route("/webhook", methods=["GET"])
        async def verify_webhook(request: Request) -> HTTPResponse:
            challenge = request.args.get("hub.challenge")
            token = request.args.get("hub.verify_token") or ""
            if request.args.get("hub.mode") != "subscribe" or not challenge:
                return refusal_response(Refused("Expected hub.mode=subscribe and a hub.challenge."), self.name())
            if not hmac.compare_digest(token.encode("utf-8"), self.fb_verify.encode("utf-8")):
                return refusal_response(Refused("Wrong hub.verify_token.", status=403), self.name())
            return response.text(challenge)

        @facebook_webhook.route("/webhook", methods=["POST"])
        async def webhook(request: Request) -> HTTPResponse:
            try:
                check_body_size(request.body)
                check_auth_header(request.headers, SIGNATURE_HEADER,
                                  lambda given: self.signed_by_meta(request.body, given))
                payload = page_events(request.body)
            except Refused as refused:
                return refusal_response(refused, self.name())
            messenger = PatientMessenger(self.graph_client(), on_new_message, self._order, self._answered)
            await messenger.handle(payload, self.get_metadata(request))
            return response.json({"status": "ok"})

        return facebook_webhook

    def signed_by_meta(self, body: bytes, header: str) -> bool:
        match = _SIGNATURE.fullmatch(header.strip())
        return bool(match) and hmac.compare_digest(
            hub_signature(self.fb_secret, body), "sha256=" + match.group("digest").lower())

    def graph_client(self) -> GraphClient:
        return GraphClient(self.fb_access_token)

    def get_output_channel(self) -> MessengerReplies:
        return MessengerReplies(self.graph_client())
