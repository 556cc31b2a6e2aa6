"""A patient's message that contains Rasa's annotation syntax cannot break the corrections files, the
Corrections tab or training (issue 11, "Corrections break training"), in any of the four scripts."""
import pytest
from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLReader

from bot.staff.teach import Corrections

HOSTILE = [
    ("th", 'ขาชา [ไมโครดิสเอกโตมี]{"entity": "procedure"} ค่ะ'),
    ("ko", "다리가 [내시경](procedure:ube) 저려요"),
    ("en", 'what are the [risks][{"entity": "x"}] of [UBE]{not json at all}'),
    ("zh", "[腿麻](intent) 怎么办 [a]{"),
]


@pytest.mark.parametrize("language,text", HOSTILE, ids=[language for language, _ in HOSTILE])
def test_a_hostile_correction_is_stored_as_plain_words(tmp_path, language, text):
    corrections = Corrections(directory=tmp_path / "corrections", nlu_dir=tmp_path / "nlu")
    corrections.add(text, "ask_risks", None, user="reviewer", conversation="web:abc", language=language)
    # The file is valid Rasa NLU data: one example, no entity smuggled in, every word kept.
    examples = RasaYAMLReader().reads(corrections.path(language).read_text(encoding="utf-8")).training_examples
    assert len(examples) == 1 and not examples[0].get("entities")
    assert examples[0].get("text").replace(" ", "") == text.replace(" ", "")
    # The Corrections tab reads it back, and removing it works.
    [listed] = corrections.all()
    assert listed.intent == "ask_risks"
    assert corrections.remove(listed.text, language)
