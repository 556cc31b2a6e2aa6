"""Dictionary-based entity extractors: they need no training and give normalised values.

- ``procedure``: every name in data/procedure_names.yml, as its canonical id;
- ``language``: the language the tokenizer judged from the script, filling the ``language`` slot.
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Text

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.extractors.extractor import EntityExtractorMixin
from rasa.shared.nlu.constants import ENTITIES, TEXT
from rasa.shared.nlu.training_data.message import Message

from bot.components._dictionary_fingerprint import procedure_names_fingerprint
from bot.components.tokenizer import LANGUAGE
from bot.procedure_names import default_dictionary


class _DictionaryExtractor(GraphComponent, EntityExtractorMixin):
    """Shared plumbing: no training, entities appended to what other extractors found."""

    def __init__(self, config: Dict[Text, Any]) -> None:
        self._config = config

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> GraphComponent:
        return cls(config)

    def entities_in(self, message: Message) -> List[Dict[Text, Any]]:
        raise NotImplementedError

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            if not isinstance(message.get(TEXT), str):
                continue
            found = self.add_extractor_name(self.entities_in(message))
            message.set(ENTITIES, message.get(ENTITIES, []) + found, add_to_output=True)
        return messages


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=False)
class ProcedureEntityExtractor(_DictionaryExtractor):
    """Finds procedure names in any of the four languages and normalises them to canonical ids."""

    @classmethod
    def fingerprint_addon(cls, config: Dict[str, Any]) -> Optional[str]:
        return procedure_names_fingerprint()

    def entities_in(self, message: Message) -> List[Dict[Text, Any]]:
        return [
            {"entity": "procedure", "value": m.procedure, "start": m.start, "end": m.end,
             "confidence_entity": 1.0}
            for m in default_dictionary().find(message.get(TEXT))
        ]


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=False)
class LanguageEntityExtractor(_DictionaryExtractor):
    """Turns the language the tokenizer judged into a ``language`` entity (none when no signal)."""

    def entities_in(self, message: Message) -> List[Dict[Text, Any]]:
        language = message.get(LANGUAGE)
        if not language:
            return []
        text = message.get(TEXT)
        return [{"entity": "language", "value": language, "start": 0, "end": len(text),
                 "confidence_entity": 1.0}]
