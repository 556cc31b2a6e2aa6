"""The held-out sets the assistant is measured on, and the check that keeps them held out.

Three sets, each written by someone who never saw the training data, none ever trained on:
- tests/data/nlu_heldout/<lang>.yml: Rasa NLU YAML, textbook-style questions (intent only);
- tests/data/patients_heldout/<lang>.yml: messages as patients type them, with intent and procedure;
- tests/data/safety_heldout/<lang>.yml: urgent symptoms told indirectly, look-alike questions that
  are not urgent, and medicine questions that must be declined.

`overlaps` finds held-out messages that are training examples (data/nlu/, corrections included)
or messages the safety lexicons were tuned on (`tuning_texts`: the lexicon cases and the safety
development set), word for word or nearly (a similarity of 0.85 or more after case, spaces and
punctuation are ignored).
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, List, Optional, Sequence, Tuple, Union

import yaml
from rapidfuzz import fuzz, process

ROOT = Path(__file__).resolve().parent.parent
TEST_DATA = ROOT / "tests" / "data"
NLU_HELDOUT = TEST_DATA / "nlu_heldout"
PATIENTS_HELDOUT = TEST_DATA / "patients_heldout"
SAFETY_HELDOUT = TEST_DATA / "safety_heldout"
TRAINING_DATA = ROOT / "data" / "nlu"
# What data/safety/ was written and improved against: seen, so never a held-out message.
SAFETY_TUNING = (TEST_DATA / "safety_lexicon_cases.yml", TEST_DATA / "safety_dev")
LANGUAGES = ("th", "ko", "en", "zh")
NEAR_COPY = 0.85


@dataclass(frozen=True)
class Case:
    """One held-out message and what the assistant must make of it."""

    text: str
    intent: Optional[Union[str, List[str]]]
    procedure: Union[None, str, List[str]] = "any"  # "any": not checked


def _load(path: Path) -> dict:
    with open(path, encoding="utf-8") as f:
        return yaml.safe_load(f) or {}


def nlu_yaml_examples(path: Path) -> List[Tuple[str, str]]:
    """(text, intent) of every example in a Rasa NLU YAML file, entity annotations removed."""
    from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLReader

    data = RasaYAMLReader().reads(path.read_text(encoding="utf-8"))
    return [(e.get("text"), e.get("intent")) for e in data.training_examples if e.get("intent")]


def textbook_cases(language: str) -> List[Case]:
    return [Case(text, intent) for text, intent in nlu_yaml_examples(NLU_HELDOUT / f"{language}.yml")]


def patient_cases(language: str) -> List[Case]:
    return [Case(c["text"], c["intent"], c.get("procedure")) for c in _load(PATIENTS_HELDOUT / f"{language}.yml")["cases"]]


def safety_cases(language: str) -> dict:
    """{"urgent": [text], "not_urgent": [Case], "medicine": [text]} for one language."""
    document = _load(SAFETY_HELDOUT / f"{language}.yml")
    return {
        "urgent": list(document["urgent"]),
        "not_urgent": [Case(c["text"], c.get("intent")) for c in document["not_urgent"]],
        "medicine": list(document["medicine"]),
    }


def heldout_texts(language: str) -> List[Tuple[str, str]]:
    """(set name, text) of every held-out message in one language."""
    texts = [("nlu_heldout", c.text) for c in textbook_cases(language)]
    if (PATIENTS_HELDOUT / f"{language}.yml").exists():
        texts += [("patients_heldout", c.text) for c in patient_cases(language)]
    if (SAFETY_HELDOUT / f"{language}.yml").exists():
        safety = safety_cases(language)
        texts += [("safety_heldout", t) for t in safety["urgent"] + safety["medicine"]]
        texts += [("safety_heldout", c.text) for c in safety["not_urgent"]]
    return texts


def training_texts(directory: Path = TRAINING_DATA) -> List[Tuple[Path, str]]:
    """(file, text) of every training example under data/nlu/, corrections and sub-folders included."""
    return [(path, text) for path in sorted(directory.rglob("*.yml")) for text, _ in nlu_yaml_examples(path)]


def _strings(node: object) -> List[str]:
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict):
        return [s for value in node.values() for s in _strings(value)]
    if isinstance(node, list):
        return [s for value in node for s in _strings(value)]
    return []


def tuning_texts(sources: Sequence[Path] = SAFETY_TUNING) -> List[Tuple[Path, str]]:
    """(file, text) of every message the safety lexicons were tuned on."""
    files = [f for source in sources for f in (sorted(source.glob("*.yml")) if source.is_dir() else [source])
             if f.is_file()]
    return [(path, text) for path in files for text in _strings(_load(path))]


def comparable(text: str) -> str:
    """What two messages are compared on: NFKC, lower case, letters and digits only."""
    return re.sub(r"[\W_]+", "", unicodedata.normalize("NFKC", text).lower())


@dataclass(frozen=True)
class Overlap:
    heldout_set: str
    heldout_text: str
    training_file: Path
    training_text: str
    similarity: float


def overlaps(heldout: Sequence[Tuple[str, str]], training: Sequence[Tuple[Path, str]],
             threshold: float = NEAR_COPY) -> List[Overlap]:
    """Every held-out message with a training example at least `threshold` similar (rapidfuzz's
    normalised Indel similarity, as difflib's ratio), and the closest such example."""
    train_keys = [comparable(t) for _, t in training]
    found = []
    for set_name, text in heldout:
        key = comparable(text)
        if not key:
            continue
        best = process.extractOne(key, train_keys, scorer=fuzz.ratio, score_cutoff=threshold * 100)
        if best:
            _, score, index = best
            found.append(Overlap(set_name, text, training[index][0], training[index][1], score / 100))
    return found


def internal_repeats(texts: Iterable[str]) -> List[str]:
    """Messages that appear more than once in one set (after `comparable`)."""
    seen, repeated = set(), []
    for text in texts:
        key = comparable(text)
        if key in seen:
            repeated.append(text)
        seen.add(key)
    return repeated
