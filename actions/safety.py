"""Urgent symptoms, hand-off to staff and the information-not-advice notice."""
from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.common import send_notice_if_first
from bot.hospital import load_contacts


class ActionRedFlag(Action):
    """Urgent symptoms: contact the care team or emergency services now; never a diagnosis.
    The conversation is marked (`red_flag_raised`) so staff can find it."""

    def name(self) -> Text:
        return "action_red_flag"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[Dict]:
        dispatcher.utter_message(response="utter_red_flag", **load_contacts().as_template_values())
        send_notice_if_first(dispatcher, tracker)
        return [SlotSet("red_flag_raised", True)]


class ActionRequestHuman(Action):
    """Hands off to staff with the hospital's contact details and marks the conversation
    (`handoff_requested`) so staff can find it."""

    def name(self) -> Text:
        return "action_request_human"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[Dict]:
        send_notice_if_first(dispatcher, tracker)
        dispatcher.utter_message(response="utter_handoff", **load_contacts().as_template_values())
        return [SlotSet("handoff_requested", True)]


class ActionInformationNotice(Action):
    """Runs before responses that live in domain.yml, so that the session's first answer,
    whatever it is, carries the notice; says nothing afterwards."""

    def name(self) -> Text:
        return "action_information_notice"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[Dict]:
        send_notice_if_first(dispatcher, tracker)
        return []
