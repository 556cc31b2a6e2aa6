"""Our fixes to Rasa 3.6 (bot/rasa_fixes.py) give exactly Rasa's results, and are in place once the
model's components are imported."""
import jsonschema
import pytest
from rasa.core.actions.action import RemoteAction
from rasa.shared.core import events as rasa_events
from rasa.shared.utils.common import all_subclasses

from bot import rasa_fixes

GOOD_RESPONSES = [
    {"events": [], "responses": []},
    {"events": [{"event": "slot", "name": "language", "value": "th"}], "responses": [{"text": "สวัสดี", "buttons": []}]},
]
BAD_RESPONSES = [
    {"events": [{"name": "no event type"}], "responses": []},
    {"events": "not a list", "responses": []},
    {"events": [], "responses": "not a list"},
]


@pytest.mark.parametrize("response", GOOD_RESPONSES)
def test_a_valid_action_server_response_passes(response):
    assert rasa_fixes.validate_action_result(RemoteAction("action_x", None), response) is True


@pytest.mark.parametrize("response", BAD_RESPONSES)
def test_an_invalid_response_fails_with_the_error_jsonschema_validate_gives(response):
    with pytest.raises(jsonschema.ValidationError) as expected:
        jsonschema.validate(response, RemoteAction.action_response_format_spec())
    with pytest.raises(jsonschema.ValidationError) as ours:
        rasa_fixes.validate_action_result(RemoteAction("action_x", None), response)
    assert ours.value.message.startswith(expected.value.message)
    assert "Failed to validate Action server response" in ours.value.message


def test_every_event_type_resolves_to_the_class_rasa_finds():
    original = rasa_fixes._rasa_resolve_event_type
    names = {cls.type_name for cls in all_subclasses(rasa_events.Event)}
    assert {"user", "bot", "slot", "action", "session_started"} <= names
    for name in sorted(names):
        assert rasa_fixes.resolve_event_type(name) is original(name)
        assert rasa_fixes.resolve_event_type(name) is original(name)  # again, from memory


def test_unknown_event_types_behave_as_in_rasa():
    with pytest.raises(ValueError):
        rasa_fixes.resolve_event_type("no_such_event")
    assert rasa_fixes.resolve_event_type("no_such_event", rasa_events.BotUttered) is rasa_events.BotUttered
    assert rasa_fixes.resolve_event_type("topic") is None


def test_loading_our_components_installs_the_fixes():
    import bot.components  # noqa: F401  (what Rasa imports when it loads the model)

    assert RemoteAction._validate_action_result is rasa_fixes.validate_action_result
    assert rasa_events.Event.resolve_by_type("user") is rasa_events.UserUttered
    slot = rasa_events.Event.from_parameters({"event": "slot", "name": "language", "value": "th"})
    assert slot == rasa_events.SlotSet("language", "th")
