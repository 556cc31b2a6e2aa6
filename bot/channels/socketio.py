"""Rasa's socket.io channel (the website widget's) with every event checked before the bot sees it.

Rasa 3.6's handlers assume a well-formed dict: `null`, a list, a number or metadata that is
not JSON raise inside the server and the sender hears nothing. Here a malformed event is
refused with a `message_refused` event that says what is wrong, and the connection stays up.
Registered in credentials.yml by module path; its name stays `socketio`, its path /socket.io.

Session ids are issued by the server, never chosen by the client: `session_confirm` gives the
browser `<id>.<signature>`, an HMAC with the server's key (WEB_SESSION_KEY, else var/web_session_key).
The conversation is `web:<id>`. A session id the server did not sign, such as a guessed one or a
conversation id copied from elsewhere, joins nothing: session_request answers it with a new
session, and user_uttered refuses it.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import secrets
from typing import Any, Dict, Optional, Text

from rasa.core.channels.channel import UserMessage
from rasa.core.channels.socketio import SocketIOInput, SocketIOOutput

from bot import local_secrets
from bot.conversation_ids import conversation_id
from bot.channels.common import OnNewMessage, Refused, required_message
from bot.text_input import MAX_SENDER_CHARS

logger = logging.getLogger(__name__)

REFUSED_EVENT = "message_refused"

SESSION_KEY_ENV_VAR = "WEB_SESSION_KEY"
SESSION_KEY_FILE = local_secrets.VAR_DIR / "web_session_key"


class WebSessions:
    """Session ids for the website's chat, signed by the server so that only the browser given one can use it."""

    def __init__(self, key: str) -> None:
        self._key = key.encode("utf-8")

    @classmethod
    def from_environment(cls) -> "WebSessions":
        # Several replicas must share the key: there it comes from the environment.
        return cls(local_secrets.load_or_create(SESSION_KEY_FILE, SESSION_KEY_ENV_VAR))

    def _signature(self, session: str) -> str:
        digest = hmac.new(self._key, b"web-session:" + session.encode("utf-8"), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest[:18]).decode("ascii")

    def issue(self) -> str:
        """A new session id to give a browser: 128 random bits and their signature."""
        session = secrets.token_urlsafe(16)
        return f"{session}.{self._signature(session)}"

    def conversation(self, signed_session: Any) -> Optional[str]:
        """The conversation (`web:<id>`) of a session id this server signed; None for any other value."""
        if not isinstance(signed_session, str) or signed_session.count(".") != 1:
            return None
        session, signature = signed_session.split(".")
        if not session or not hmac.compare_digest(signature.encode("utf-8"), self._signature(session).encode("utf-8")):
            return None
        return conversation_id("socketio", session)


def _session_id(data: Dict[str, Any], required: bool) -> Optional[str]:
    session_id = data.get("session_id")
    if session_id is None or session_id == "":
        if required:
            raise Refused("'session_id' is missing: ask for one with the session_request event first.")
        return None
    if not isinstance(session_id, str) or len(session_id) > MAX_SENDER_CHARS or not session_id.strip():
        raise Refused(f"'session_id' must be a non-empty string of at most {MAX_SENDER_CHARS} characters.")
    return session_id


def parse_user_event(data: Any, metadata_key: str, session_required: bool) -> tuple:
    """(cleaned text, session id or None, metadata dict) from a user_uttered event; else Refused saying why."""
    if not isinstance(data, dict):
        raise Refused("The event must be an object like {\"message\": \"text\", \"session_id\": \"id\"}.")
    text = required_message(data.get("message"))
    session_id = _session_id(data, session_required)
    metadata = data.get(metadata_key)
    if isinstance(metadata, str):
        try:
            metadata = json.loads(metadata)
        except ValueError:
            raise Refused(f"'{metadata_key}' is not valid JSON.")
    if metadata is not None and not isinstance(metadata, dict):
        raise Refused(f"'{metadata_key}' must be an object.")
    return text, session_id, metadata or {}


class ValidatedSocketIOInput(SocketIOInput):
    """The socket.io channel, refusing malformed events instead of failing inside the server."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sessions = WebSessions.from_environment()

    def blueprint(self, on_new_message: OnNewMessage):  # type: ignore[no-untyped-def]
        blueprint = super().blueprint(on_new_message)
        sio = self.sio
        assert sio is not None  # set by SocketIOInput.blueprint

        async def refuse(sid: Text, reason: str) -> None:
            logger.info("socket.io event from %s refused: %s", sid, reason)
            await sio.emit(REFUSED_EVENT, {"error": reason}, room=sid, namespace=self.namespace)

        # Registering a handler for an event again replaces Rasa's handler for it.
        @sio.on("session_request", namespace=self.namespace)
        async def session_request(sid: Text, data: Any = None) -> None:
            if data is None:
                data = {}
            if not isinstance(data, dict):
                await refuse(sid, "session_request takes an object like {\"session_id\": \"id\"} or nothing.")
                return
            try:
                offered = _session_id(data, required=False)
            except Refused as error:
                await refuse(sid, str(error))
                return
            # A session this server signed continues; anything else (none, expired key, guessed,
            # forged) gets a new one, and so a new conversation.
            session_id = offered if self.sessions.conversation(offered) else self.sessions.issue()
            await sio.enter_room(sid, self.sessions.conversation(session_id), namespace=self.namespace)
            await sio.emit("session_confirm", session_id, room=sid, namespace=self.namespace)

        @sio.on(self.user_message_evt, namespace=self.namespace)
        async def handle_message(sid: Text, data: Any = None) -> None:
            try:
                text, session_id, metadata = parse_user_event(data, self.metadata_key, self.session_persistence)
            except Refused as error:
                await refuse(sid, str(error))
                return
            if self.session_persistence:
                sender_id = self.sessions.conversation(session_id)
                if sender_id is None:
                    await refuse(sid, "This session was not issued by the server: ask for one with session_request.")
                    return
            else:
                # One conversation per connection; its room is named like a persistent one.
                sender_id = conversation_id(self.name(), sid)
                await sio.enter_room(sid, sender_id, namespace=self.namespace)
            output_channel = SocketIOOutput(sio, self.bot_message_evt)
            await on_new_message(
                UserMessage(text, output_channel, sender_id, input_channel=self.name(), metadata=metadata)
            )

        return blueprint
