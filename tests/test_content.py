"""The hospital content: schema, full coverage, traceable sources, no scrape junk."""
import re

import pytest
import yaml

from bot.content import COVERAGE, PROCEDURES, TOPICS, Content, ContentError, default_content
from bot.paths import CONTENT_DIR
from bot.procedure_names import LANGUAGES
from tests.conftest import SEEDS_DIR

CONTENT = default_content()
ENTRIES = CONTENT.entries()
# Scraped-page junk that must never reach a patient: gambling spam injected into seed 004
# and another institution's advertising in seed 003.
FORBIDDEN = ["赌", "网赌", "推荐十大", "Integrated Spine", "Institute", "free interactive assessment",
             "candidacy check", "treatment finder", "assessment tool"]
SCRIPT_OF = {"th": r"[\u0E00-\u0E7F]", "ko": r"[\uAC00-\uD7AF]", "zh": r"[\u4E00-\u9FFF]", "en": r"[A-Za-z]"}


def test_every_procedure_topic_and_language_is_filled():
    assert len(ENTRIES) == len(PROCEDURES) * len(TOPICS) * len(LANGUAGES)
    for procedure in PROCEDURES:
        for topic in TOPICS:
            for language in LANGUAGES:
                assert CONTENT.answer(procedure, topic, language).text.strip()


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: f"{e.procedure}-{e.topic}-{e.language}")
def test_no_scrape_junk_reaches_a_patient(entry):
    for phrase in FORBIDDEN:
        assert phrase.lower() not in entry.text.lower()


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: f"{e.procedure}-{e.topic}-{e.language}")
def test_every_answer_is_written_in_its_language(entry):
    letters = re.findall(r"[A-Za-z\u0E00-\u0E7F\uAC00-\uD7AF\u4E00-\u9FFF]", entry.text)
    own = re.findall(SCRIPT_OF[entry.language], entry.text)
    assert len(own) / len(letters) >= 0.6


@pytest.mark.skipif(not SEEDS_DIR.is_dir(), reason="the seed documents are not beside the project")
def test_every_source_is_a_seed_document():
    seeds = {p.name for p in SEEDS_DIR.glob("*.txt")}
    for entry in ENTRIES:
        assert entry.coverage in COVERAGE
        assert set(entry.sources) <= seeds, entry


def test_general_answers_are_labelled_and_point_to_the_care_team():
    care_team = {"en": "care team", "th": "ทีม", "ko": "의료진", "zh": "医疗团队"}
    for entry in ENTRIES:
        if entry.coverage != "documented":
            assert care_team[entry.language] in entry.text, entry


def _write(directory, name, document):
    (directory / f"{name}.yml").write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")


def _copy_all(tmp_path):
    for path in (CONTENT_DIR / "procedures").glob("*.yml"):
        (tmp_path / path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")


def test_a_missing_language_fails_loudly_with_its_path(tmp_path):
    _copy_all(tmp_path)
    document = yaml.safe_load((tmp_path / "miss.yml").read_text(encoding="utf-8"))
    del document["topics"]["risks"]["text"]["ko"]
    _write(tmp_path, "miss", document)
    with pytest.raises(ContentError, match=r"miss\.yml: topics/risks/text: 'ko' is a required property"):
        Content.load(tmp_path)


def test_a_missing_topic_or_source_fails_loudly(tmp_path):
    _copy_all(tmp_path)
    document = yaml.safe_load((tmp_path / "microdiscectomy.yml").read_text(encoding="utf-8"))
    del document["topics"]["recovery"]
    document["topics"]["risks"]["sources"] = []
    _write(tmp_path, "microdiscectomy", document)
    with pytest.raises(ContentError) as error:
        Content.load(tmp_path)
    assert "'recovery' is a required property" in str(error.value)
    assert "topics/risks/sources" in str(error.value)


def test_a_missing_procedure_file_fails(tmp_path):
    _copy_all(tmp_path)
    (tmp_path / "miss.yml").unlink()
    with pytest.raises(ContentError, match="no content for miss"):
        Content.load(tmp_path)


def test_broken_yaml_fails_with_the_file_name(tmp_path):
    _copy_all(tmp_path)
    (tmp_path / "miss.yml").write_text("id: miss\ntopics: [unclosed", encoding="utf-8")
    with pytest.raises(ContentError, match="miss.yml: not valid YAML"):
        Content.load(tmp_path)
