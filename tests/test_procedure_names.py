"""Every name in the dictionary is found in a sentence of its language and normalised."""
import pytest

from bot.procedure_names import GAP, LANGUAGES, ProcedureDictionary, default_dictionary

DICTIONARY = default_dictionary()
# A sentence around the name, as a patient of each language would write it.
FRAMES = {
    "th": "อยากทราบว่า{}เสี่ยงไหมคะ",
    "ko": "{} 위험한가요?",
    "en": "what are the risks of {}?",
    "zh": "{}的风险有哪些",
}
EVERY_NAME = [
    (procedure, language, name)
    for procedure, entry in DICTIONARY.table.items()
    for language in LANGUAGES
    for name in DICTIONARY._names_of(entry, language)
]
EVERY_ABBREVIATION = [
    (procedure, abbreviation)
    for procedure, entry in DICTIONARY.table.items()
    for abbreviation in entry.get("abbreviations") or []
]


# What a patient may write in the gap of a descriptive name ("현미경 … 디스크").
GAP_FILLERS = {"th": "ด้วย", "ko": "으로 ", "en": " with a ", "zh": "用"}


@pytest.mark.parametrize("procedure,language,name", EVERY_NAME)
def test_every_name_is_found_in_context_and_normalised(procedure, language, name):
    written = name.replace(f" {GAP} ", GAP_FILLERS[language])
    text = FRAMES[language].format(written)
    assert DICTIONARY.procedures(text) == [procedure]
    mention = DICTIONARY.find(text)[0]
    assert text[mention.start:mention.end].replace(" ", "").lower() == written.replace(" ", "").lower()


@pytest.mark.parametrize("procedure,language,name", [n for n in EVERY_NAME if GAP in n[2]])
def test_no_part_of_a_descriptive_name_is_a_name_by_itself(procedure, language, name):
    # Such a name would never be the one found: the shorter exact name always wins.
    exact = {n.lower() for n in DICTIONARY._names_of(DICTIONARY.table[procedure], language) if GAP not in n}
    assert not {part.strip().lower() for part in name.split(GAP)} & exact


@pytest.mark.parametrize("procedure,abbreviation", EVERY_ABBREVIATION)
def test_every_abbreviation_is_found_in_every_script(procedure, abbreviation):
    for language in LANGUAGES:
        assert DICTIONARY.procedures(FRAMES[language].format(abbreviation)) == [procedure]


@pytest.mark.parametrize("text,expected", [
    ("micro-discectomy recovery", ["microdiscectomy"]),
    ("Micro Discectomy", ["microdiscectomy"]),
    ("미세후궁절제술 후 회복", ["microlaminectomy"]),
    ("ผ่าตัดหมอนรองกระดูกด้วยกล้องขยายเสี่ยงไหม", ["microdiscectomy"]),
    ("microdiscectomy vs endoscopic discectomy", ["microdiscectomy", "endoscopic_discectomy"]),
    ("uniportal or biportal, which is better?", ["endoscopic_discectomy"]),
])
def test_spelling_variants_and_several_procedures(text, expected):
    assert DICTIONARY.procedures(text) == expected


@pytest.mark.parametrize("text", ["I miss my family", "dismissed", "can I swim after", "the mission", "ผ่าตัดหลังเสี่ยงไหม"])
def test_words_that_are_not_procedure_names(text):
    assert DICTIONARY.procedures(text) == []


def test_a_specific_procedure_wins_over_the_general_term():
    assert DICTIONARY.procedures("Is a microlaminectomy minimally invasive surgery?") == ["microlaminectomy"]
    assert DICTIONARY.procedures("What is minimally invasive spine surgery?") == ["miss"]


def test_longest_name_claims_its_span():
    table = {"a": {"names": {"en": ["spine surgery"]}}, "b": {"names": {"en": ["minimally invasive spine surgery"]}}}
    assert ProcedureDictionary(table).procedures("minimally invasive spine surgery") == ["b"]


def test_every_procedure_has_a_title_in_every_language():
    for procedure in DICTIONARY.table:
        for language in LANGUAGES:
            assert DICTIONARY.title(procedure, language).strip()
