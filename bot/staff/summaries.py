"""What staff see of a conversation in the list, built one stored event at a time.

A summary remembers the id of the last event it has read, so the store can bring it up to date by
reading only the newer events.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any, Dict, Optional, Set

from bot.staff.pseudonym import masked_conversation_id
from bot.staff.events import UnreadableEvent, entities_of, intent_of, iso_time, read_event, utc_time
from bot.staff.privacy import mask_pii

LOW_CONFIDENCE = 0.5
FIRST_MESSAGE_CHARS = 120
FALLBACK_INTENT = "nlu_fallback"
FALLBACK_ACTIONS = ("action_default_fallback", "action_two_stage_fallback")


@dataclass
class ConversationSummary:
    sender_id: str
    last_event_id: int = 0
    started: Optional[float] = None
    last_active: Optional[float] = None
    active_days: Set[date] = field(default_factory=set)  # UTC days with any event, for date filters
    turns: int = 0
    languages: Set[str] = field(default_factory=set)
    procedures: Set[str] = field(default_factory=set)
    channels: Set[str] = field(default_factory=set)
    handoff: bool = False
    red_flag: bool = False
    fallback: bool = False
    lowest_confidence: Optional[float] = None
    first_message: Optional[str] = None  # as the patient wrote it; masked when shown
    unreadable_events: int = 0

    @property
    def low_confidence(self) -> bool:
        return self.lowest_confidence is not None and self.lowest_confidence < LOW_CONFIDENCE

    def add(self, row: Any) -> None:
        """Take in the conversation's next stored event (rows come in id order)."""
        self.last_event_id = row.id
        self._add_time(row.timestamp)
        # Counted from the row's type, as the store pages turns, so the two always agree.
        if row.type_name == "user":
            self.turns += 1
        try:
            event = read_event(row)
        except UnreadableEvent:
            self.unreadable_events += 1
            return
        if event is None:
            return
        if event["event"] == "user":
            self._add_user_message(event)
        elif event["event"] == "action" and event["name"] in FALLBACK_ACTIONS:
            self.fallback = True
        elif event["event"] == "slot":
            self._add_slot(event["name"], event["value"])

    def as_dict(self, mask: bool) -> Dict[str, Any]:
        first_message = self.first_message
        if first_message is not None:
            # Masked before it is cut, so no cut can leave half a phone number unmasked.
            first_message = (mask_pii(first_message) if mask else first_message)[:FIRST_MESSAGE_CHARS]
        return {
            "id": masked_conversation_id(self.sender_id) if mask else self.sender_id,
            "started": iso_time(self.started),
            "last_active": iso_time(self.last_active),
            "turns": self.turns,
            "languages": sorted(self.languages),
            "procedures": sorted(self.procedures),
            "channels": sorted(self.channels),
            "handoff": self.handoff,
            "red_flag": self.red_flag,
            "fallback": self.fallback,
            "low_confidence": self.low_confidence,
            "lowest_confidence": self.lowest_confidence,
            "first_message": first_message,
            "unreadable_events": self.unreadable_events,
        }

    def _add_time(self, timestamp: Any) -> None:
        moment = utc_time(timestamp)
        if moment is None:
            return
        self.started = timestamp if self.started is None else min(self.started, timestamp)
        self.last_active = timestamp if self.last_active is None else max(self.last_active, timestamp)
        self.active_days.add(moment.date())

    def _add_user_message(self, event: Dict[str, Any]) -> None:
        if self.first_message is None and isinstance(event.get("text"), str):
            self.first_message = event["text"]
        if isinstance(event.get("input_channel"), str):
            self.channels.add(event["input_channel"])
        for entity in entities_of(event):
            if entity["entity"] == "language" and isinstance(entity["value"], str):
                self.languages.add(entity["value"])
        intent = intent_of(event)
        if intent["name"] == FALLBACK_INTENT:
            self.fallback = True
        confidence = intent["confidence"]
        if confidence is not None and (self.lowest_confidence is None or confidence < self.lowest_confidence):
            self.lowest_confidence = confidence

    def _add_slot(self, name: str, value: Any) -> None:
        if name == "language" and isinstance(value, str):
            self.languages.add(value)
        elif name == "procedure" and isinstance(value, str):
            self.procedures.add(value)
        elif name == "handoff_requested" and value is True:
            self.handoff = True
        elif name == "red_flag_raised" and value is True:
            self.red_flag = True
