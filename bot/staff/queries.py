"""Staff requests checked and converted: values may arrive as strings from a query string.

Anything the store cannot answer raises InvalidQuery, whose message names the parameter and what it
allows (the console answers it with HTTP 400).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any, Optional, Tuple

from bot.content import PROCEDURES
from bot.conversation_ids import conversation_id
from bot.procedure_names import LANGUAGES
from bot.staff.summaries import ConversationSummary

# The staff tools talk to the assistant over REST as senders starting "staff-" (test conversations,
# "Try it"); listings leave those conversations out unless asked, so Review shows patients.
STAFF_SENDER_PREFIX = "staff-"
STAFF_CONVERSATION_PREFIX = conversation_id("rest", STAFF_SENDER_PREFIX)
FLAGS = ("handoff", "red_flag", "fallback", "low_confidence")  # the marks a conversation has or has not
MAX_PAGE_SIZE = 100
MAX_TURNS_PER_PAGE = 200
_TRUE = ("true", "1")
_FALSE = ("false", "0")
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


class InvalidQuery(ValueError):
    """A staff request the store cannot answer; the message says which parameter and what it allows."""


@dataclass(frozen=True)
class ConversationFilter:
    """Which conversations a listing shows. None means "either"; False means "without"."""

    language: Optional[str] = None
    procedure: Optional[str] = None
    date_from: Optional[date] = None
    date_to: Optional[date] = None
    handoff: Optional[bool] = None
    red_flag: Optional[bool] = None
    fallback: Optional[bool] = None
    low_confidence: Optional[bool] = None
    include_staff: bool = False

    @classmethod
    def parse(cls, **values: Any) -> "ConversationFilter":
        found = cls(
            language=_choice("language", values.get("language"), LANGUAGES),
            procedure=_choice("procedure", values.get("procedure"), PROCEDURES),
            date_from=_day("date_from", values.get("date_from")),
            date_to=_day("date_to", values.get("date_to")),
            **{flag: _yes_no(flag, values.get(flag)) for flag in FLAGS},
            include_staff=_yes_no("include_staff", values.get("include_staff")) is True,
        )
        if found.date_from and found.date_to and found.date_from > found.date_to:
            raise InvalidQuery(f"date_from ({found.date_from}) must not be after date_to ({found.date_to})")
        return found

    def matches(self, summary: ConversationSummary) -> bool:
        any_day = self.date_from is None and self.date_to is None
        return (
            (self.include_staff or not summary.sender_id.startswith(STAFF_CONVERSATION_PREFIX))
            and (self.language is None or self.language in summary.languages)
            and (self.procedure is None or self.procedure in summary.procedures)
            and all(getattr(self, flag) in (None, getattr(summary, flag)) for flag in FLAGS)
            and (any_day or any(self._in_dates(day) for day in summary.active_days))
        )

    def _in_dates(self, day: date) -> bool:
        return (self.date_from is None or day >= self.date_from) and (self.date_to is None or day <= self.date_to)


def listing_page(page: Any, page_size: Any) -> Tuple[int, int]:
    return _whole_number("page", page, 1), _whole_number("page_size", page_size, 1, MAX_PAGE_SIZE)


def turns_page(offset: Any, limit: Any) -> Tuple[int, int]:
    return _whole_number("offset", offset, 0), _whole_number("limit", limit, 1, MAX_TURNS_PER_PAGE)


def masking(value: Any) -> bool:
    """Whether personal data is masked: always, unless asked not to."""
    return _yes_no("mask", value) is not False


def _is_unset(value: Any) -> bool:
    # A form's "any" choice sends an empty value.
    return value is None or value == ""


def _choice(name: str, value: Any, allowed: Tuple[str, ...]) -> Optional[str]:
    if _is_unset(value):
        return None
    if value not in allowed:
        raise InvalidQuery(f"{name} must be one of {', '.join(allowed)}; got {value!r}")
    return value


def _day(name: str, value: Any) -> Optional[date]:
    if _is_unset(value):
        return None
    if type(value) is date:  # a datetime is a date too, but would not compare with the days
        return value
    if isinstance(value, str) and _DAY.fullmatch(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise InvalidQuery(f"{name} must be a date written YYYY-MM-DD, such as 2026-11-25; got {value!r}")


def _yes_no(name: str, value: Any) -> Optional[bool]:
    if _is_unset(value):
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in _TRUE + _FALSE:
        return value.lower() in _TRUE
    raise InvalidQuery(f"{name} must be true or false (or 1 or 0); got {value!r}")


def _whole_number(name: str, value: Any, lowest: int, highest: Optional[int] = None) -> int:
    number = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        number = int(value)
    if number is None or number < lowest or (highest is not None and number > highest):
        allowed = f"from {lowest} to {highest}" if highest is not None else f"of at least {lowest}"
        raise InvalidQuery(f"{name} must be a whole number {allowed}; got {value!r}")
    return number
