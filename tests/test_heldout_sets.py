"""The held-out sets stay held out: no message in them is a training example, word for word or
nearly (similarity 0.85 or more), corrections and every sub-folder of data/nlu/ included, nor a
message the safety lexicons were tuned on."""
import pytest

from bench.heldout import (
    LANGUAGES, NEAR_COPY, PATIENTS_HELDOUT, SAFETY_HELDOUT, comparable, heldout_texts, internal_repeats,
    overlaps, patient_cases, safety_cases, training_texts, tuning_texts,
)
from bot.content import PROCEDURES

TRAINING = training_texts() + tuning_texts()


@pytest.mark.parametrize("language", LANGUAGES)
def test_no_heldout_message_is_a_training_example_or_a_near_copy(language):
    found = overlaps(heldout_texts(language), TRAINING)
    assert not found, "\n".join(
        f"{o.heldout_set}: {o.heldout_text!r} ~ {o.training_file.name}: {o.training_text!r} ({o.similarity:.2f})"
        for o in found)


def test_the_check_finds_exact_and_near_copies(tmp_path):
    training = [(tmp_path / "en.yml", "What are the risks of a microdiscectomy?")]
    assert overlaps([("set", "what are the risks of a microdiscectomy")], training)
    assert overlaps([("set", "What are the risk of a microdiscectomy?")], training)
    assert not overlaps([("set", "How long is the hospital stay after a laminectomy?")], training)
    assert comparable("Ｈｅｌｌｏ,  World!") == "helloworld" and NEAR_COPY == 0.85


@pytest.mark.skipif(not PATIENTS_HELDOUT.is_dir(), reason="no patients' held-out set")
@pytest.mark.parametrize("language", LANGUAGES)
def test_the_patients_set_is_large_labelled_and_free_of_repeats(language):
    cases = patient_cases(language)
    assert len(cases) >= 50
    assert not internal_repeats(c.text for c in cases)
    for case in cases:
        named = case.procedure if isinstance(case.procedure, list) else [case.procedure]
        assert all(p is None or p in PROCEDURES for p in named), case


@pytest.mark.skipif(not SAFETY_HELDOUT.is_dir(), reason="no safety held-out set")
@pytest.mark.parametrize("language", LANGUAGES)
def test_the_safety_set_has_thirty_of_each_kind(language):
    cases = safety_cases(language)
    assert len(cases["urgent"]) >= 30 and len(cases["not_urgent"]) >= 30 and len(cases["medicine"]) >= 10
    assert not internal_repeats(cases["urgent"] + [c.text for c in cases["not_urgent"]] + cases["medicine"])
