"""A patient never waits on a slow or stopped action server.

Rasa 3.6 waits up to 300 s for a custom action and, when it fails, carries on silently: a patient
whose question needed the action server got no answer at all. Installed by ``bot.components`` (so
it runs wherever the model is served), this gives every custom action a deadline
(``ACTION_SERVER_TIMEOUT`` seconds, default 3, inside Kakao's and WeChat's 5-second limits), and
when the action times out or cannot be reached:

- if the assistant has already answered this message (the safety answers are domain responses
  that Rasa sends itself, before the action that only adds the notice), nothing more is said;
- otherwise the patient gets `utter_service_unavailable`: try again shortly, the hospital's
  number, and the emergency number for anything urgent.

A rejection by the action server (HTTP 400) is still Rasa's to handle.
"""
from __future__ import annotations

import asyncio
import logging
import os
from typing import Any, List

from rasa.core.actions.action import ActionExecutionRejection, RemoteAction, create_bot_utterance
from rasa.shared.core.events import BotUttered, Event, UserUttered
from rasa.shared.exceptions import RasaException

logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT_SECONDS = 3.0
UNAVAILABLE_RESPONSE = "utter_service_unavailable"
_rasa_remote_run = RemoteAction.run


def action_timeout() -> float:
    """The deadline from ACTION_SERVER_TIMEOUT; a value that is not a positive number is refused."""
    raw = os.environ.get("ACTION_SERVER_TIMEOUT", "").strip()
    if not raw:
        return DEFAULT_TIMEOUT_SECONDS
    try:
        value = float(raw)
    except ValueError:
        value = 0
    if value <= 0:
        raise ValueError(f"ACTION_SERVER_TIMEOUT must be a positive number of seconds, not {raw!r}")
    return value


def answered_this_turn(tracker: Any) -> bool:
    """True when a bot message already followed the patient's latest message."""
    for event in reversed(tracker.events):
        if isinstance(event, UserUttered):
            return False
        if isinstance(event, BotUttered):
            return True
    return False


async def run_with_deadline(self: RemoteAction, output_channel, nlg, tracker, domain) -> List[Event]:
    try:
        return await asyncio.wait_for(_rasa_remote_run(self, output_channel, nlg, tracker, domain), action_timeout())
    except ActionExecutionRejection:
        raise
    except (asyncio.TimeoutError, RasaException) as error:
        logger.error("Custom action %r failed (%s); the patient is told the service is unavailable.",
                     self.name(), error or "timed out")
        if answered_this_turn(tracker):
            return []
        message = await nlg.generate(UNAVAILABLE_RESPONSE, tracker, output_channel.name())
        return [create_bot_utterance(message)] if message else []


def apply() -> None:
    """Install the deadline (idempotent); reads ACTION_SERVER_TIMEOUT now so a bad value stops start-up."""
    action_timeout()
    RemoteAction.run = run_with_deadline
