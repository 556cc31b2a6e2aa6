"""The safety lexicons (data/safety/) in context: every symptom escalates in every language when a
patient or relative reports it, and stays a question when it is asked about as a risk; every
medicine question is declined. The cases are tests/data/safety_lexicon_cases.yml, one or more per
lexicon entry and language; the held-out safety set is measured by `make bench`, not here."""
from pathlib import Path

import pytest
import yaml

from bot.safety import LANGUAGES, LexiconError, SafetyLexicon, default_lexicon, normalise, term_pattern

CASES = yaml.safe_load((Path(__file__).resolve().parent / "data" / "safety_lexicon_cases.yml").read_text(encoding="utf-8"))
LEXICON = default_lexicon()
SYMPTOM_IDS = [s.id for s in LEXICON.symptoms]


def symptom_cases(kind):
    return [(symptom, language, text)
            for symptom, languages in CASES["symptoms"].items()
            for language, cases in languages.items()
            for text in cases.get(kind) or []]


def medicine_cases(kind):
    return [(language, text) for language, cases in CASES["medicines"].items() for text in cases.get(kind) or []]


def test_every_symptom_has_cases_in_every_language():
    assert set(CASES["symptoms"]) == set(SYMPTOM_IDS)
    for symptom, languages in CASES["symptoms"].items():
        for language in LANGUAGES:
            assert len(languages[language]["urgent"]) >= 3, (symptom, language)
            assert languages[language]["not_urgent"], (symptom, language)


@pytest.mark.parametrize("symptom,language,text", symptom_cases("urgent"))
def test_a_reported_symptom_escalates(symptom, language, text):
    finding = LEXICON.assess(text)
    assert finding.kind == "urgent", finding
    assert symptom in finding.symptoms, finding


@pytest.mark.parametrize("symptom,language,text", symptom_cases("not_urgent"))
def test_a_question_about_the_risk_is_not_an_alarm(symptom, language, text):
    assert LEXICON.assess(text).kind != "urgent"


@pytest.mark.parametrize("language,text", medicine_cases("declined"))
def test_a_medicine_question_is_declined(language, text):
    assert LEXICON.assess(text).kind in {"medicine", "urgent"}


@pytest.mark.parametrize("language,text", medicine_cases("not_medicine"))
def test_words_near_medicine_are_not_a_medicine_question(language, text):
    assert LEXICON.assess(text).kind is None


def test_matching_ignores_case_width_spacing_and_curly_apostrophes():
    assert LEXICON.assess("MY DAD CAN’T MOVE HIS LEG SINCE THIS MORNING").kind == "urgent"
    assert normalise("Ｘａｒｅｌｔｏ") == "xarelto"
    assert "\\s*" in term_pattern("ยกขา ไม่ขึ้น")


def test_latin_terms_start_at_a_word_boundary():
    lexicon = SafetyLexicon({"symptoms": [{"id": "x", "en": {"phrases": ["numb"]}}]},
                            {"drugs": {"en": ["aspirin"]}, "medicine_words": {"en": ["pill"]}, "actions": {"en": ["take"]}})
    assert lexicon.assess("my foot is numb since noon").kind == "urgent"
    assert lexicon.assess("my foot is benumbed").kind is None  # "numb" inside another word
    assert lexicon.assess("can I take a pill").kind == "medicine"


def test_framing_precedence_reporting_then_not_happening_then_someone_then_asking():
    lexicon = SafetyLexicon(
        {"symptoms": [{"id": "numb", "en": {"phrases": ["numb"]}}],
         "reporting": {"en": ["since", "now"]}, "not_happening": {"en": ["fine now", "next month"]},
         "someone": {"en": ["my mum"]}, "asking": {"en": ["could it"]}},
        {"drugs": {"en": ["aspirin"]}, "medicine_words": {"en": ["pill"]}, "actions": {"en": ["take"]}})
    assert lexicon.assess("my leg is numb").kind == "urgent"  # no framing at all: recall first
    assert lexicon.assess("could it leave the leg numb").kind is None  # a general question
    assert lexicon.assess("my mum's leg is numb, could it be the op").kind == "urgent"  # about someone
    assert lexicon.assess("my mum has it next month, could it leave her numb").kind is None  # still to come
    assert lexicon.assess("was numb last year, fine now, could it come back").kind is None  # "now" is blanked
    assert lexicon.assess("fine before but numb since noon, could it come back").kind == "urgent"  # a report wins


@pytest.mark.parametrize("text", ["ไลริก่ากินแล้วเวียนหัว เลิกได้ไหม", "타이래놀 두 알 먹어도 돼요?", "กินเซเลเบร็คได้ไหม"])
def test_a_brand_name_spelt_one_letter_off_is_still_a_medicine_question(text):
    assert LEXICON.assess(text).kind == "medicine"


@pytest.mark.parametrize("text", ["preparing for spine surgery tips", "how long till the pain goes away",
                                  "การผ่าตัดใช้เวลากี่นาที", "내시경 수술 후 회복 기간"])
def test_ordinary_words_near_a_drug_name_are_not_one(text):
    assert LEXICON.assess(text).kind is None


def test_a_malformed_lexicon_is_refused_naming_the_entry():
    with pytest.raises(LexiconError, match="symptoms\\[0\\]"):
        SafetyLexicon({"symptoms": [{"id": "x", "en": {"all": [["only one group"]]}}]},
                      {"drugs": {"en": ["a"]}, "medicine_words": {"en": ["b"]}, "actions": {"en": ["c"]}})
    with pytest.raises(LexiconError, match="drugs"):
        SafetyLexicon({"symptoms": [{"id": "x", "en": {"phrases": ["numb"]}}]}, {"drugs": {"fr": ["a"]}})


def test_a_key_given_twice_is_refused(tmp_path):
    # A second `all:` under one symptom would otherwise silently replace the first.
    red_flags = tmp_path / "red_flags.yml"
    red_flags.write_text("symptoms:\n  - id: x\n    en:\n      all: [[[a], [b]]]\n      all: [[[c], [d]]]\n", encoding="utf-8")
    with pytest.raises(LexiconError, match="'all' is given twice"):
        SafetyLexicon.from_files(red_flags, Path(__file__).resolve().parent.parent / "data" / "safety" / "medicines.yml")


@pytest.mark.parametrize("text", ["", "   ", "😀😀", "ok", "ก" * 5000, None])
def test_bad_input_is_nothing(text):
    assert LEXICON.assess(text).kind is None


DEV = Path(__file__).resolve().parent / "data" / "safety_dev"
DEV_SETS = {p.stem: yaml.safe_load(p.read_text(encoding="utf-8")) for p in sorted(DEV.glob("*.yml"))}


def dev_cases(kind):
    return [(language, text) for language, cases in DEV_SETS.items() for text in cases.get(kind) or []]


@pytest.mark.parametrize("language,text", dev_cases("urgent"))
def test_the_development_set_reports_escalate(language, text):
    assert LEXICON.assess(text).kind == "urgent"


@pytest.mark.parametrize("language,text", dev_cases("not_urgent"))
def test_the_development_set_look_alikes_do_not_escalate(language, text):
    assert LEXICON.assess(text).kind != "urgent"


@pytest.mark.parametrize("language,text", dev_cases("medicine"))
def test_the_development_set_medicine_questions_are_declined(language, text):
    assert LEXICON.assess(text).kind in {"medicine", "urgent"}


def framing_cases(kind):
    return [(language, text) for language, cases in CASES["framing"].items() for text in cases[kind]]


@pytest.mark.parametrize("language,text", framing_cases("imagined"))
def test_an_imagined_symptom_is_a_question(language, text):
    finding = LEXICON.assess(text)
    assert finding.kind != "urgent" and finding.symptoms, finding  # the symptom is found, and asked about


@pytest.mark.parametrize("language,text", framing_cases("present"))
def test_an_imagined_word_beside_a_present_symptom_still_escalates(language, text):
    assert LEXICON.assess(text).kind == "urgent"


def test_no_training_example_teaches_an_intent_the_medicine_lexicon_overrides():
    # A question the lexicon declines as a medicine question is ask_medical_advice at run time; a
    # training label saying otherwise ("which medicines to stop before surgery" as preparation) only
    # teaches DIET a boundary the assistant never keeps, and DIET alone decides when the lexicon misses.
    from bench.heldout import TRAINING_DATA, nlu_yaml_examples

    mislabelled = [(path.name, intent, text) for path in sorted(TRAINING_DATA.rglob("*.yml"))
                   for text, intent in nlu_yaml_examples(path)
                   if intent not in {"ask_medical_advice", "report_red_flag"} and LEXICON.assess(text).kind == "medicine"]
    assert not mislabelled
