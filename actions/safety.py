"""The information-not-advice notice that follows the domain's own answers.

The urgent-symptom, hand-off, decline and administrative answers are domain responses that Rasa
sends itself (data/rules.yml), and the marks staff look for (`red_flag_raised`,
`handoff_requested`) are set by Rasa from the intent (domain.yml), so none of them waits on the
action server. This action only adds the session's first-answer notice.
"""
from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.common import send_notice_if_first


class ActionInformationNotice(Action):
    """Runs beside responses that live in domain.yml, so that the session's first answer,
    whatever it is, carries the notice; says nothing afterwards."""

    def name(self) -> Text:
        return "action_information_notice"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[Dict]:
        send_notice_if_first(dispatcher, tracker)
        return []
