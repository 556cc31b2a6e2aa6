"""The safety layer in the NLU pipeline: after DIET and the FallbackClassifier, a message that
reports an urgent symptom becomes `report_red_flag`, and a question about taking a medicine becomes
`ask_medical_advice`, whatever the classifier thought and however unsure it was (bot/safety.py
says how the lexicons match). It runs in Rasa's own process, so it needs no action server.

What the classifier had said is kept in the parse result under `safety`, for staff reviewing why a
turn was escalated.
"""
from __future__ import annotations

import hashlib
from typing import Any, Dict, List, Optional, Text

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from bot.safety import default_lexicon, lexicon_files

SAFETY = "safety"
URGENT_INTENT = "report_red_flag"
MEDICINE_INTENT = "ask_medical_advice"
INTENT_FOR = {"urgent": URGENT_INTENT, "medicine": MEDICINE_INTENT}


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class SafetyIntentOverride(GraphComponent):
    """Overrides the predicted intent when the safety lexicons fire (place it last in the pipeline)."""

    def __init__(self, config: Dict[Text, Any]) -> None:
        self._config = config
        self._lexicon = default_lexicon()  # fails at model load, not at a patient's message, if a file is bad

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> GraphComponent:
        return cls(config)

    @classmethod
    def fingerprint_addon(cls, config: Dict[str, Any]) -> Optional[str]:
        # The lexicons are read at run time; a change to them must still retrain (Rasa only
        # fingerprints its own inputs), so the model always says which lexicon it was tested with.
        digest = hashlib.sha256()
        for path in lexicon_files():
            digest.update(path.read_bytes())
        return digest.hexdigest()

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            text = message.get(TEXT)
            if isinstance(text, str):
                self._apply(message, text)
        return messages

    def _apply(self, message: Message, text: str) -> None:
        finding = self._lexicon.assess(text)
        predicted = message.get(INTENT) or {}
        override = INTENT_FOR.get(finding.kind)
        # An urgent symptom the classifier already escalated stays escalated: the lexicon only adds.
        if predicted.get("name") == URGENT_INTENT:
            override = None
        details = {**finding.as_dict(), "classifier_intent": predicted.get("name"),
                   "classifier_confidence": predicted.get("confidence"), "overridden": bool(override)}
        message.set(SAFETY, details, add_to_output=True)
        if not override:
            return
        chosen = {"name": override, "confidence": 1.0}
        ranking = [r for r in message.get(INTENT_RANKING_KEY) or [] if r.get("name") != override]
        message.set(INTENT, chosen, add_to_output=True)
        message.set(INTENT_RANKING_KEY, [chosen] + ranking, add_to_output=True)
