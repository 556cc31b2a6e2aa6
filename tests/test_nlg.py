"""The safety answers are domain responses: Rasa's own response generator fills in the hospital's
contacts (bot/nlg.py), so they need no action server."""
import pytest
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import SlotSet
from rasa.shared.core.trackers import DialogueStateTracker

from bot.nlg import HospitalResponses
from tests.conftest import PROJECT_ROOT

DOMAIN = Domain.load(PROJECT_ROOT / "domain.yml")
CONTACT_RESPONSES = ["utter_red_flag", "utter_handoff", "utter_administrative", "utter_service_unavailable"]


def tracker_in(language):
    tracker = DialogueStateTracker.from_events("patient", [SlotSet("language", language)], DOMAIN.slots)
    return tracker


@pytest.mark.parametrize("response", CONTACT_RESPONSES)
@pytest.mark.parametrize("language", ["th", "ko", "en", "zh"])
async def test_contacts_are_filled_from_the_environment(response, language, monkeypatch):
    monkeypatch.setenv("HOSPITAL_PHONE", "02-555-0100")
    monkeypatch.setenv("EMERGENCY_NUMBER", "1669")
    message = await HospitalResponses(domain=DOMAIN).generate(response, tracker_in(language), "rest")
    assert "{" not in message["text"] and "}" not in message["text"]
    assert "02-555-0100" in message["text"]


async def test_every_placeholder_in_the_domain_is_one_the_generator_fills():
    generator = HospitalResponses(domain=DOMAIN)
    for name, variations in DOMAIN.responses.items():
        for language in ["th", "ko", "en", "zh", None]:
            message = await generator.generate(name, tracker_in(language), "rest")
            assert "{" not in (message or {}).get("text", ""), (name, language)


async def test_the_red_flag_answer_names_the_emergency_number_in_every_language(monkeypatch):
    monkeypatch.delenv("EMERGENCY_NUMBER", raising=False)  # data/hospital.yml's: Thailand's 1669
    generator = HospitalResponses(domain=DOMAIN)
    for language in ["th", "ko", "en", "zh"]:
        message = await generator.generate("utter_red_flag", tracker_in(language), "rest")
        assert "1669" in message["text"]
