"""Answers to topic questions, from the hospital's content files, in the patient's language."""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.common import (
    button, conversation_language, just_asked_which_procedure, latest_intent, procedures_named,
    send_notice_if_first,
)
from bot.content import PROCEDURES, TOPICS, default_content
from bot.procedure_names import default_dictionary

# ask_risks -> risks, ...: the intent names are a contract, the topic names are the content's keys.
INTENT_TOPICS = {f"ask_{topic}": topic for topic in TOPICS}
# Questions whose answer does not depend on the procedure: the general MISS page answers them.
PROCEDURE_INDEPENDENT_TOPICS = {"doctor_questions"}
GENERAL_PROCEDURE = "miss"


def procedure_buttons(topic: str, language: str) -> List[Dict[str, str]]:
    """One button per procedure, titled in the patient's language, re-asking the pending question."""
    titles = default_dictionary()
    return [button(titles.title(p, language), f"ask_{topic}", {"procedure": p}) for p in PROCEDURES]


class ActionAnswerTopic(Action):
    """Answers ask_<topic> questions for the procedure(s) named now or earlier in the conversation.

    With no procedure known yet it gives the general answer (the MISS page), asks which procedure
    (one button per procedure) and keeps the question pending; the procedure's answer follows when
    the patient picks or names one.
    """

    def name(self) -> Text:
        return "action_answer_topic"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[Dict]:
        language = conversation_language(tracker)
        intent = latest_intent(tracker)
        pending = tracker.get_slot("pending_topic")
        if pending and intent == "ask_overview" and procedures_named(tracker) and just_asked_which_procedure(tracker):
            # "I'd like to know about the microdiscectomy" in reply to "which procedure?" picks one:
            # the patient wants the question they asked, not the procedure's overview.
            topic = pending
        else:
            topic = INTENT_TOPICS.get(intent) or pending or "overview"
        procedures = procedures_named(tracker) or self._earlier_procedure(tracker)
        if not procedures and topic in PROCEDURE_INDEPENDENT_TOPICS:
            procedures = [GENERAL_PROCEDURE]

        send_notice_if_first(dispatcher, tracker)
        content = default_content()
        if not procedures:
            dispatcher.utter_message(text=content.answer(GENERAL_PROCEDURE, topic, language).text)
            dispatcher.utter_message(response="utter_ask_procedure", buttons=procedure_buttons(topic, language))
            return [SlotSet("pending_topic", topic)]

        sent = set()
        for procedure in procedures:
            text = content.answer(procedure, topic, language).text
            if text not in sent:
                sent.add(text)
                dispatcher.utter_message(text=text)
        return [SlotSet("procedure", procedures[0]), SlotSet("pending_topic", None)]

    @staticmethod
    def _earlier_procedure(tracker: Tracker) -> List[str]:
        procedure: Optional[str] = tracker.get_slot("procedure")
        return [procedure] if procedure in PROCEDURES else []


class ActionListProcedures(Action):
    """Lists the procedures the hospital's documents cover, each a button to its overview."""

    def name(self) -> Text:
        return "action_list_procedures"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[Dict]:
        send_notice_if_first(dispatcher, tracker)
        dispatcher.utter_message(
            response="utter_procedures_intro",
            buttons=procedure_buttons("overview", conversation_language(tracker)),
        )
        return []
