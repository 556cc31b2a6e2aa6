"""The first stage of the two-stage fallback: "Did you mean …?" in the patient's language."""
from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.common import button, conversation_language, procedures_named
from bot.content import labels

FALLBACK_INTENTS = {"nlu_fallback", None}


class ActionAskAffirmation(Action):
    """Offers the most likely intent as a button, with the procedure the patient named, and a
    "something else" button. Replaces Rasa's default, which shows the raw intent name."""

    def name(self) -> Text:
        return "action_default_ask_affirmation"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[Dict]:
        language = conversation_language(tracker)
        ranking = tracker.latest_message.get("intent_ranking") or []
        candidates = [i["name"] for i in ranking if i.get("name") not in FALLBACK_INTENTS]
        procedures = procedures_named(tracker)
        table = labels()
        buttons = [
            button(table["intents"][intent][language], intent, {"procedure": procedures[0]} if procedures else None)
            for intent in candidates[:2] if intent in table["intents"]
        ]
        buttons.append(button(table["something_else"][language], "out_of_scope"))
        dispatcher.utter_message(response="utter_ask_affirm_intent", buttons=buttons)
        return []
