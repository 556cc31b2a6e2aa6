"""The hospital's answers: one YAML file per procedure under data/content/procedures/,
the four languages side by side, each answer naming the seed documents it comes from.

Every file is validated against CONTENT_SCHEMA when loaded; a bad edit fails loudly with the
file and the path of the entry, so an editor's mistake never reaches a patient.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Dict, List, Tuple

import jsonschema
import yaml

from bot.paths import CONTENT_DIR
from bot.procedure_names import LANGUAGES

PROCEDURES = ("microdiscectomy", "endoscopic_discectomy", "microlaminectomy", "miss")
TOPICS = (
    "overview", "procedure_steps", "indications", "risks", "alternatives", "recovery",
    "preparation", "anesthesia", "duration", "hospital_stay", "recurrence", "compare",
    "doctor_questions",
)
# documented: the procedure's own documents state it; general: they don't, and the answer gives
# the general MISS facts, labelled as such; not_covered: no document says it.
COVERAGE = ("documented", "general", "not_covered")
SEED_FILE_PATTERN = r"^[0-9]{3}_[0-9a-f]{16}\.txt$"

_TEXTS = {
    "type": "object",
    "properties": {lang: {"type": "string", "minLength": 1, "pattern": r"\S"} for lang in LANGUAGES},
    "required": list(LANGUAGES),
    "additionalProperties": False,
}
_ENTRY = {
    "type": "object",
    "properties": {
        "coverage": {"enum": list(COVERAGE)},
        "sources": {"type": "array", "minItems": 1, "items": {"type": "string", "pattern": SEED_FILE_PATTERN}},
        "text": _TEXTS,
    },
    "required": ["coverage", "sources", "text"],
    "additionalProperties": False,
}
CONTENT_SCHEMA = {
    "type": "object",
    "properties": {
        "id": {"enum": list(PROCEDURES)},
        "topics": {
            "type": "object",
            "properties": {topic: _ENTRY for topic in TOPICS},
            "required": list(TOPICS),
            "additionalProperties": False,
        },
    },
    "required": ["id", "topics"],
    "additionalProperties": False,
}


class ContentError(ValueError):
    """The content files are not what the assistant can serve; the message says where."""


@dataclass(frozen=True)
class Answer:
    procedure: str
    topic: str
    language: str
    coverage: str
    sources: Tuple[str, ...]
    text: str


class Content:
    def __init__(self, procedures: Dict[str, dict]):
        self._procedures = procedures

    @classmethod
    def load(cls, directory: Path = CONTENT_DIR / "procedures") -> "Content":
        procedures: Dict[str, dict] = {}
        for path in sorted(directory.glob("*.yml")):
            try:
                with open(path, encoding="utf-8") as f:
                    document = yaml.safe_load(f)
            except yaml.YAMLError as error:
                raise ContentError(f"{path}: not valid YAML: {error}") from error
            errors = sorted(jsonschema.Draft7Validator(CONTENT_SCHEMA).iter_errors(document), key=lambda e: list(e.path))
            if errors:
                details = "; ".join(f"{'/'.join(map(str, e.path)) or '(top)'}: {e.message}" for e in errors[:5])
                raise ContentError(f"{path}: {details}")
            if document["id"] != path.stem:
                raise ContentError(f"{path}: id {document['id']!r} does not match the file name")
            procedures[document["id"]] = document
        missing = [p for p in PROCEDURES if p not in procedures]
        if missing:
            raise ContentError(f"{directory}: no content for {', '.join(missing)}")
        return cls(procedures)

    def answer(self, procedure: str, topic: str, language: str) -> Answer:
        entry = self._procedures[procedure]["topics"][topic]
        return Answer(procedure, topic, language, entry["coverage"], tuple(entry["sources"]), entry["text"][language])

    def entries(self) -> List[Answer]:
        """Every answer in every language (for tests and the coverage table)."""
        return [self.answer(p, t, lang) for p in self._procedures for t in TOPICS for lang in LANGUAGES]


@lru_cache(maxsize=1)
def default_content() -> Content:
    return Content.load()


@lru_cache(maxsize=1)
def labels() -> dict:
    """Button labels per intent and language (data/content/labels.yml)."""
    with open(CONTENT_DIR / "labels.yml", encoding="utf-8") as f:
        return yaml.safe_load(f)
