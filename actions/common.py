"""Helpers every action shares: the conversation's language, the procedures named, the notice."""
from __future__ import annotations

import json
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot.content import PROCEDURES

DEFAULT_LANGUAGE = "en"


def conversation_language(tracker: Tracker) -> str:
    """The language of the patient's latest message that had one (the `language` slot)."""
    return tracker.get_slot("language") or DEFAULT_LANGUAGE


def latest_intent(tracker: Tracker) -> Optional[Text]:
    return (tracker.latest_message.get("intent") or {}).get("name")


def procedures_named(tracker: Tracker) -> List[str]:
    """Procedures named in the latest message, in order, without repeats."""
    values = [e.get("value") for e in tracker.latest_message.get("entities") or [] if e.get("entity") == "procedure"]
    return [v for v in dict.fromkeys(values) if v in PROCEDURES]


def just_asked_which_procedure(tracker: Tracker) -> bool:
    """True when the assistant's last message before this one asked which procedure (utter_ask_procedure)."""
    seen_patient = False
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            if seen_patient:
                return False
            seen_patient = True
        elif event.get("event") == "bot" and seen_patient:
            return (event.get("metadata") or {}).get("utter_action") == "utter_ask_procedure"
    return False


def first_answer_of_session(tracker: Tracker) -> bool:
    """True until the assistant has said anything in this session."""
    for event in reversed(tracker.events):
        if event.get("event") == "bot":
            return False
        if event.get("event") == "session_started":
            return True
    return True


def send_notice_if_first(dispatcher: CollectingDispatcher, tracker: Tracker) -> None:
    """The first answer of a session carries the information-not-advice notice."""
    if first_answer_of_session(tracker):
        dispatcher.utter_message(response="utter_information_notice")


def button(title: str, intent: str, entities: Optional[Dict[str, Any]] = None) -> Dict[str, str]:
    """A button whose payload sends the intent (and entities) straight back, skipping NLU."""
    payload = f"/{intent}" + (json.dumps(entities, ensure_ascii=False) if entities else "")
    return {"title": title, "payload": payload}
