"""Fixes to Rasa 3.6 itself, applied by ``bot.components`` (the module Rasa imports when it loads
our model), so they are in place wherever the model runs: ``rasa run``, ``rasa shell``, ``rasa test``.

Each fix keeps Rasa's behaviour and only removes a measured cost. Tests: tests/test_rasa_fixes.py.
"""
from __future__ import annotations

import functools
from typing import Any, Dict, Optional, Type

from jsonschema import exceptions, validators
from rasa.core.actions.action import RemoteAction
from rasa.shared.constants import DOCS_BASE_URL
from rasa.shared.core.events import Event

_rasa_resolve_event_type = Event.resolve_by_type
_event_classes_by_name: Dict[str, Type[Event]] = {}


@functools.lru_cache(maxsize=1)
def action_response_validator():
    """One validator for the action server's response format, built and checked once.

    Rasa 3.6 calls ``jsonschema.validate`` for every custom action it runs, and that re-checks the
    schema itself against the draft 2020-12 meta-schema each time: 18 ms a call on our machines, close
    to half the server's time under load (profiled with py-spy). A compiled validator takes 0.3 ms.
    """
    schema = RemoteAction.action_response_format_spec()
    validator_class = validators.validator_for(schema)
    validator_class.check_schema(schema)
    return validator_class(schema)


def validate_action_result(self: RemoteAction, result: Dict[str, Any]) -> bool:
    """Rasa's ``RemoteAction._validate_action_result``, same errors and message, compiled validator."""
    error = exceptions.best_match(action_response_validator().iter_errors(result))
    if error is None:
        return True
    error.message += (
        f". Failed to validate Action server response from API, "
        f"make sure your response from the Action endpoint is valid. "
        f"For more information about the format visit "
        f"{DOCS_BASE_URL}/custom-actions"
    )
    raise error


def resolve_event_type(type_name: str, default: Optional[Type[Event]] = None) -> Optional[Type[Event]]:
    """Rasa's ``Event.resolve_by_type``, remembering what it found.

    Rasa walks every Event subclass for every stored event it reads back, so loading a conversation
    from the tracker store spent a third of its time listing classes (py-spy, 20 users). Classes are
    found by Rasa's own method the first time and remembered; unknown names still go to it.
    """
    found = _event_classes_by_name.get(type_name)
    if found is None:
        found = _rasa_resolve_event_type(type_name, default)
        if found is not None and found is not default:
            _event_classes_by_name[type_name] = found
    return found


def apply() -> None:
    """Install the fixes (idempotent)."""
    RemoteAction._validate_action_result = validate_action_result
    Event.resolve_by_type = staticmethod(resolve_event_type)
