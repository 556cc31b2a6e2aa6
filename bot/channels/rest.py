"""Rasa's REST channel, for integrations: the API's token required, and its input validated first.

The token is the one of Rasa's HTTP API (bot/api_token.py), given the way Rasa's API takes it
(``?token=``) or as ``Authorization: Bearer <token>``; without it the answer is 401, and with no
token configured at all the channel refuses every message (503) rather than stand open.

Vanilla Rasa 3.6 answers 500 to an empty body, ``null`` or ``[]``; this channel answers
400 with a message that says what is wrong, and passes only a cleaned text on to the bot.
Its conversations are ``rest:<sender>`` (bot/channels/common.py), so a caller can name no other
channel's conversation. ``POST /webhooks/rest/erase`` (token required) erases one conversation.
Registered in credentials.yml under its module path; its name stays ``rest`` so the
webhook is still ``/webhooks/rest/webhook``.
"""
from __future__ import annotations

import asyncio
import json
import logging
import os
from typing import Any, Dict, Optional, Text, Tuple

from rasa.core.channels.rest import RestInput
from sanic import response
from sanic.request import Request

from bot import api_token
from bot.conversation_ids import conversation_id
from bot.channels.common import Refused, refusal_response, required_message
from bot.text_input import MAX_SENDER_CHARS
from bot.tracker_store import erase_conversation
from bot.warm_up import warm_up

logger = logging.getLogger(__name__)

MAX_METADATA_BYTES = 2048


def check_token(request: Request) -> None:
    """Refused 401 unless the request carries the API's token (see the module docstring)."""
    expected = os.environ.get(api_token.ENV_VAR)
    if not expected:
        raise Refused("The REST channel is closed: the server has no API token (RASA_AUTH_TOKEN).", status=503)
    provided = request.args.get("token")
    authorization = request.headers.get("Authorization") or ""
    if not provided and authorization.lower().startswith("bearer "):
        provided = authorization[len("bearer "):].strip()
    if not api_token.matches(provided, expected):
        raise Refused("This channel needs the API's token: ?token=<token> or 'Authorization: Bearer <token>'.",
                      status=401)


def parse_rest_payload(raw_body: bytes) -> Tuple[str, str, Optional[Dict[str, Any]]]:
    """(sender, cleaned message, metadata) from a REST request body; else Refused 400 saying why."""
    if not raw_body or not raw_body.strip():
        raise Refused("The request body is empty; send JSON like {\"sender\": \"id\", \"message\": \"text\"}.")
    try:
        payload = json.loads(raw_body)
    except (ValueError, UnicodeDecodeError):
        raise Refused("The request body is not valid JSON.")
    if not isinstance(payload, dict):
        raise Refused("The request body must be a JSON object with 'sender' and 'message'.")
    sender = payload.get("sender")
    if not isinstance(sender, str) or not sender.strip():
        raise Refused("'sender' must be a non-empty string.")
    if len(sender) > MAX_SENDER_CHARS:
        raise Refused(f"'sender' must be at most {MAX_SENDER_CHARS} characters.")
    text = required_message(payload.get("message"))
    metadata = payload.get("metadata")
    if metadata is not None and not isinstance(metadata, dict):
        raise Refused("'metadata' must be a JSON object.")
    # Metadata is stored with every message; an integration's (a ticket id, a page) is small.
    if metadata and len(json.dumps(metadata, ensure_ascii=False).encode()) > MAX_METADATA_BYTES:
        raise Refused(f"'metadata' must be at most {MAX_METADATA_BYTES} bytes of JSON.", status=413)
    return sender, text, metadata


def erased_conversation(raw_body: bytes) -> str:
    """The conversation id of an erasure request; else Refused 400 saying why."""
    try:
        payload = json.loads(raw_body or b"")
    except (ValueError, UnicodeDecodeError):
        raise Refused("The request body is not valid JSON; send {\"conversation\": \"<id>\"}.")
    conversation = payload.get("conversation") if isinstance(payload, dict) else None
    if not isinstance(conversation, str) or not conversation.strip() or len(conversation) > 255:
        raise Refused("'conversation' must be a conversation id.")
    return conversation


class ValidatedRestInput(RestInput):
    """The REST channel, refusing malformed requests with 400 instead of failing with 500."""

    @classmethod
    def name(cls) -> Text:
        return "rest"

    def blueprint(self, on_new_message):  # type: ignore[no-untyped-def]
        blueprint = super().blueprint(on_new_message)

        # Every deployment has this channel, so the model is warmed up here (bot/warm_up.py).
        @blueprint.listener("after_server_start")
        async def warm(app, _loop):  # type: ignore[no-untyped-def]
            await warm_up(getattr(app.ctx, "agent", None))

        @blueprint.route("/erase", methods=["POST"])
        async def erase(request: Request):  # type: ignore[no-untyped-def]
            """Erases one conversation, for the staff console (a reviewer's erasure) and the patient's own
            request: {"conversation": id} with the API's token. Done here, in the Rasa process, under the
            conversation's lock, so no turn runs meanwhile and no cached copy outlives it."""
            try:
                check_token(request)
                conversation = erased_conversation(request.body)
            except Refused as refused:
                return refusal_response(refused, self.name())
            agent = request.app.ctx.agent
            async with agent.lock_store.lock(conversation):
                deleted = await asyncio.to_thread(erase_conversation, agent.tracker_store, conversation)
            logger.info("rest: a conversation was erased (%d events)", deleted)
            return response.json({"erased": deleted})

        @blueprint.on_request
        async def validate(request: Request):  # type: ignore[no-untyped-def]
            if request.method != "POST" or not request.path.endswith("/webhook"):
                return None
            try:
                check_token(request)
                sender, text, metadata = parse_rest_payload(request.body)
            except Refused as refused:
                return refusal_response(refused, self.name())
            # Hand the cleaned values to RestInput's handler through the request context.
            request.ctx.validated = (sender, text, metadata)
            return None

        return blueprint

    async def _extract_sender(self, req: Request) -> Optional[Text]:
        # "rest:<sender>": an integration names its own conversations, never another channel's.
        return conversation_id(self.name(), req.ctx.validated[0])

    def _extract_message(self, req: Request) -> Optional[Text]:
        return req.ctx.validated[1]

    def get_metadata(self, request: Request) -> Optional[Dict[Text, Any]]:
        return request.ctx.validated[2]
