"""Domain responses with the hospital's contact details filled in by Rasa itself.

The urgent-symptom, hand-off, decline and administrative answers name the hospital's phone,
e-mail, hours and emergency number. They are plain domain responses, so Rasa sends them without
the action server; this response generator (endpoints.yml, `nlg: type: bot.nlg.HospitalResponses`)
fills `{hospital_phone}` and the others from data/hospital.yml and the environment
(bot/hospital.py), read once when Rasa starts.
"""
from __future__ import annotations

from typing import Any, Dict, Optional, Text

from rasa.core.nlg.response import TemplatedNaturalLanguageGenerator
from rasa.shared.core.domain import Domain
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig

from bot.hospital import load_contacts


class HospitalResponses(TemplatedNaturalLanguageGenerator):
    """Rasa's templated responses, with the hospital's contacts as template values."""

    def __init__(self, endpoint_config: Optional[EndpointConfig] = None, domain: Optional[Domain] = None) -> None:
        super().__init__((domain or Domain.empty()).responses)
        self.contacts = load_contacts().as_template_values()

    async def generate(
        self, utter_action: Text, tracker: DialogueStateTracker, output_channel: Text, **kwargs: Any
    ) -> Optional[Dict[Text, Any]]:
        return await super().generate(utter_action, tracker, output_channel, **{**self.contacts, **kwargs})
