"""Rows of Rasa's `events` table, read for staff: what each stored event says, and the turns they make.

A row is anything with `id`, `type_name`, `timestamp` and `data` (the event as JSON text), as
SQLAlchemy returns them. The database may hold rows written by other Rasa versions, or damaged by
hand: such a row never stops a page from showing; it is listed as unreadable, with why.
"""
from __future__ import annotations

import json
import math
from datetime import datetime, timezone
from typing import Any, Dict, List, Optional

from rasa.shared.core.events import Event
from rasa.shared.utils.common import all_subclasses

from bot.staff.privacy import mask_pii

# Every type Rasa can store. Staff see four of them; the others (session starts, featurization,
# loops, reminders...) are bookkeeping and are skipped without complaint.
# "stack" (the dialogue stack) is written by newer Rasa (Pro) versions, which may share the database.
KNOWN_EVENT_TYPES = frozenset(event_class.type_name for event_class in all_subclasses(Event)) | {"stack"}
SHOWN_EVENT_TYPES = ("user", "bot", "action", "slot")
RAW_PREVIEW_CHARS = 300
RANKING_SIZE = 5


class UnreadableEvent(ValueError):
    """A row that does not hold an event staff can be shown; the message says what is wrong."""


def read_event(row: Any) -> Optional[Dict[str, Any]]:
    """The event a row holds if staff are shown its type, None for a known bookkeeping event.

    Raises UnreadableEvent for anything else: data that is not a JSON object, an unknown type, a type
    that disagrees with the row's `type_name`, or a shown event without the fields it needs."""
    if not isinstance(row.data, str):
        raise UnreadableEvent("data is not text")
    try:
        event = json.loads(row.data)
    except (ValueError, RecursionError) as error:
        raise UnreadableEvent(f"data is not JSON: {error}") from None
    if not isinstance(event, dict):
        raise UnreadableEvent("data is not a JSON object")
    event_type = event.get("event")
    if not isinstance(event_type, str) or event_type not in KNOWN_EVENT_TYPES:
        raise UnreadableEvent(f"unknown event type {event_type!r}")
    if event_type != row.type_name:
        raise UnreadableEvent(f"data holds a {event_type!r} event, the row says {row.type_name!r}")
    if event_type not in SHOWN_EVENT_TYPES:
        return None
    _check_fields(event)
    return event


def _check_fields(event: Dict[str, Any]) -> None:
    event_type = event["event"]
    has_text = "text" in event and isinstance(event["text"], (str, type(None)))  # None: e.g. an image-only answer
    if event_type in ("user", "bot") and not has_text:
        raise UnreadableEvent(f"{event_type} event without a 'text'")
    if event_type in ("action", "slot") and not isinstance(event.get("name"), str):
        raise UnreadableEvent(f"{event_type} event without a 'name'")
    if event_type == "slot" and "value" not in event:
        raise UnreadableEvent("slot event without a 'value'")
    nested = {"user": "parse_data", "bot": "data"}.get(event_type)
    if nested and not isinstance(event.get(nested, {}), dict):
        raise UnreadableEvent(f"{event_type} event whose {nested!r} is not an object")


def unreadable_entry(row: Any, error: str, mask: bool) -> Dict[str, Any]:
    # A damaged user event may still hold the patient's words, so its preview is masked too.
    raw = "" if row.data is None else str(row.data)[:RAW_PREVIEW_CHARS]
    return {"id": row.id, "type_name": row.type_name, "error": error, "raw": mask_pii(raw) if mask else raw}


def utc_time(timestamp: Any) -> Optional[datetime]:
    """A stored unix timestamp as a UTC datetime; None when missing or not a usable number."""
    if finite_number(timestamp) is None:
        return None
    try:
        return datetime.fromtimestamp(timestamp, timezone.utc)
    except (OverflowError, OSError, ValueError):
        return None


def iso_time(timestamp: Any) -> Optional[str]:
    moment = utc_time(timestamp)
    return None if moment is None else moment.isoformat()


def finite_number(value: Any) -> Optional[float]:
    """`value` as a float if it is a finite number (not a bool), else None."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


def intent_of(event: Dict[str, Any]) -> Dict[str, Any]:
    """A user event's {"name", "confidence"}, each None when the event has no usable one."""
    intent = event.get("parse_data", {}).get("intent")
    intent = intent if isinstance(intent, dict) else {}
    name = intent.get("name")
    return {"name": name if isinstance(name, str) else None, "confidence": finite_number(intent.get("confidence"))}


def entities_of(event: Dict[str, Any]) -> List[Dict[str, Any]]:
    """A user event's entities as {"entity", "value", "text"}; "text" is the words they were read from."""
    text = event.get("text") or ""
    found = event.get("parse_data", {}).get("entities")
    entities = []
    for entity in found if isinstance(found, list) else []:
        if not isinstance(entity, dict) or not isinstance(entity.get("entity"), str):
            continue
        start, end = entity.get("start"), entity.get("end")
        words = entity.get("text")
        if not isinstance(words, str):
            words = text[start:end] if isinstance(start, int) and isinstance(end, int) and start < end else None
        entities.append({"entity": entity["entity"], "value": entity.get("value"), "text": words})
    return entities


def language_of(event: Dict[str, Any]) -> Optional[str]:
    """The language a user event's `language` entity names, if any."""
    for entity in entities_of(event):
        if entity["entity"] == "language" and isinstance(entity["value"], str):
            return entity["value"]
    return None


def patient_message(event: Dict[str, Any], mask: bool) -> Dict[str, Any]:
    hide = mask_pii if mask else (lambda text: text)
    text = event.get("text")
    intent = intent_of(event)
    ranking = event.get("parse_data", {}).get("intent_ranking")
    entities = entities_of(event)
    for entity in entities:
        entity["value"] = hide(entity["value"]) if isinstance(entity["value"], str) else entity["value"]
        entity["text"] = hide(entity["text"]) if entity["text"] is not None else None
    return {
        "text": hide(text) if text is not None else None,
        "intent": intent["name"],
        "confidence": intent["confidence"],
        "ranking": [
            {"name": candidate.get("name"), "confidence": finite_number(candidate.get("confidence"))}
            for candidate in (ranking if isinstance(ranking, list) else [])
            if isinstance(candidate, dict)
        ][:RANKING_SIZE],
        "entities": entities,
        "language": language_of(event),
        "channel": event.get("input_channel"),
        "message_id": event.get("message_id") or event.get("parse_data", {}).get("message_id"),
        "safety": safety_override_of(event, hide),
    }


def safety_override_of(event: Dict[str, Any], hide) -> Optional[Dict[str, Any]]:
    """When the safety layer changed the intent (bot/components/safety_classifier.py): what it found
    and what the classifier had said; None otherwise. Matched words are masked like the text."""
    safety = event.get("parse_data", {}).get("safety")
    if not isinstance(safety, dict) or not safety.get("overridden"):
        return None
    words = safety.get("matched") if isinstance(safety.get("matched"), list) else []
    return {
        "kind": safety.get("kind") if isinstance(safety.get("kind"), str) else None,
        "symptoms": [s for s in safety.get("symptoms") or [] if isinstance(s, str)],
        "matched": [hide(w) for w in words if isinstance(w, str)],
        "classifier_intent": safety.get("classifier_intent") if isinstance(safety.get("classifier_intent"), str) else None,
        "classifier_confidence": finite_number(safety.get("classifier_confidence")),
    }


def bot_answer(event: Dict[str, Any]) -> Dict[str, Any]:
    buttons = event.get("data", {}).get("buttons")
    titles = [button.get("title") for button in (buttons if isinstance(buttons, list) else [])
              if isinstance(button, dict)]
    return {"text": event.get("text"), "buttons": titles}


def turns_from_rows(rows: Any, users_before: int, mask: bool) -> List[Dict[str, Any]]:
    """The turns a run of rows makes, oldest first.

    `rows` start at a user event (or at the conversation's very first event) and are ordered by id.
    A turn is a user message and what followed it; events before the first user message form turn 0.
    `users_before` is how many user messages came before these rows, so turn numbers match the
    patient's messages: turn 3 is the patient's third message."""
    turns: List[Dict[str, Any]] = []
    number = users_before
    for row in rows:
        if row.type_name == "user":
            number += 1
            turns.append(_new_turn(number, row.timestamp))
        elif not turns:
            turns.append(_new_turn(0, row.timestamp))
        _add_to_turn(turns[-1], row, mask)
    return turns


def _new_turn(index: int, timestamp: Any) -> Dict[str, Any]:
    return {"index": index, "time": iso_time(timestamp), "patient": None, "answers": [], "actions": [],
            "slots": {}, "unreadable": []}


def _add_to_turn(turn: Dict[str, Any], row: Any, mask: bool) -> None:
    try:
        event = read_event(row)
    except UnreadableEvent as error:
        turn["unreadable"].append(unreadable_entry(row, str(error), mask))
        return
    if event is None:
        return
    if event["event"] == "user":
        turn["patient"] = patient_message(event, mask)
    elif event["event"] == "bot":
        turn["answers"].append(bot_answer(event))
    elif event["event"] == "action" and event["name"] != "action_listen":
        turn["actions"].append(event["name"])
    elif event["event"] == "slot":
        # A slot can hold what the patient typed (a name, a number): masked like their messages.
        value = event["value"]
        turn["slots"][event["name"]] = mask_pii(value) if mask and isinstance(value, str) else value
