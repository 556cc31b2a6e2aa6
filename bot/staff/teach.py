"""What staff teach the assistant: corrected messages as Rasa NLU training data, and conversations
saved as staff test conversations.

Corrections go to data/nlu/corrections/<language>.yml in Rasa's NLU YAML, one example per corrected
message with who corrected it, when, and from which conversation (its pseudonym, bot/staff/pseudonym.py,
as for saved tests: both folders are in git); the next `make train` learns from them. Patients' texts
are always masked (bot/staff/privacy.py) before they are written.
"""
from __future__ import annotations

import datetime
import re
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import yaml
from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLReader

from bot.content import PROCEDURES
from bot.language import detect_language
from bot.paths import PROJECT_ROOT
from bot.procedure_names import LANGUAGES
from bot.staff.privacy import mask_pii
from bot.staff.pseudonym import pseudonym

NLU_DIR = PROJECT_ROOT / "data" / "nlu"
CORRECTIONS_DIR = NLU_DIR / "corrections"
SAVED_TESTS_DIR = PROJECT_ROOT / "tests" / "conversations" / "saved"
DOMAIN_FILE = PROJECT_ROOT / "domain.yml"
# Intents the assistant gives itself; staff never teach them.
INTERNAL_INTENTS = {"nlu_fallback", "share_media"}
# Rasa reads "[words](entity)", "[words]{...}" and "[words][...]" in a training example as an entity
# annotation: a patient's message with one would change the example or make the whole file unreadable
# (the Corrections tab and `make train` then fail). A space after the "]" keeps every word and breaks it.
_ANNOTATION = re.compile(r"\](?=[(\{\[])")


def neutralise_annotations(text: str) -> str:
    """The text with Rasa's entity-annotation syntax broken (see _ANNOTATION)."""
    return _ANNOTATION.sub("] ", text)


class InvalidCorrection(ValueError):
    """A correction naming an intent or procedure the assistant does not have, or no message."""


class CorrectionRefused(ValueError):
    """A correction that would make the training data inconsistent; the message says why."""


@lru_cache(maxsize=1)
def teachable_intents() -> Tuple[str, ...]:
    domain = yaml.safe_load(DOMAIN_FILE.read_text(encoding="utf-8"))
    names = [i if isinstance(i, str) else next(iter(i)) for i in domain["intents"]]
    return tuple(i for i in names if i not in INTERNAL_INTENTS)


@dataclass(frozen=True)
class Correction:
    text: str
    intent: str
    language: str
    procedure: Optional[str]
    corrected_by: str
    corrected_at: str
    conversation: str


def _examples(path: Path) -> List[Tuple[str, str, Dict[str, Any]]]:
    """(text, intent, metadata) of every example in an NLU YAML file."""
    if not path.exists():
        return []
    data = RasaYAMLReader().reads(path.read_text(encoding="utf-8"))
    return [(e.get("text"), e.get("intent"), (e.get("metadata") or {}).get("example") or {})
            for e in data.training_examples]


class Corrections:
    """The corrections files; one writer at a time (the console is one process)."""

    def __init__(self, directory: Path = CORRECTIONS_DIR, nlu_dir: Path = NLU_DIR):
        self.directory, self.nlu_dir = directory, nlu_dir
        self._lock = threading.Lock()

    def path(self, language: str) -> Path:
        return self.directory / f"{language}.yml"

    def all(self) -> List[Correction]:
        corrections = [c for language in LANGUAGES for c in self._in(language)]
        return sorted(corrections, key=lambda c: c.corrected_at, reverse=True)

    def _in(self, language: str) -> List[Correction]:
        """The corrections in one language's file (the unit a change rewrites)."""
        return [Correction(text, intent, language, meta.get("procedure"), meta.get("corrected_by", ""),
                           meta.get("corrected_at", ""), meta.get("conversation", ""))
                for text, intent, meta in _examples(self.path(language))]

    def add(self, text: str, intent: str, procedure: Optional[str], user: str, conversation: str,
            language: Optional[str] = None) -> Correction:
        if intent not in teachable_intents():
            raise InvalidCorrection(f"unknown intent {intent!r}; choose one of {', '.join(teachable_intents())}")
        if procedure is not None and procedure not in PROCEDURES:
            raise InvalidCorrection(f"unknown procedure {procedure!r}; choose one of {', '.join(PROCEDURES)}")
        text = " ".join(neutralise_annotations(mask_pii(text)).split())
        if not text:
            raise InvalidCorrection("the message is empty")
        language = language if language in LANGUAGES else detect_language(text) or "en"
        with self._lock:
            self._refuse_conflicts(text, intent)
            # The file is committed to git: the conversation is named by its pseudonym, not its id.
            correction = Correction(text, intent, language, procedure, user,
                                    datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
                                    pseudonym(conversation) if conversation else "")
            existing = [c for c in self._in(language) if c.text != text]
            self._write(language, existing + [correction])
        return correction

    def remove(self, text: str, language: str) -> bool:
        with self._lock:
            kept = self._in(language)
            remaining = [c for c in kept if c.text != text]
            if len(remaining) == len(kept):
                return False
            self._write(language, remaining)
            return True

    def _refuse_conflicts(self, text: str, intent: str) -> None:
        """Rasa refuses training data with one text under two intents: say where the other one is."""
        folded = text.casefold()
        for path in sorted(self.nlu_dir.glob("*.yml")):
            for other_text, other_intent, _ in _examples(path):
                if other_text.casefold() == folded:
                    if other_intent == intent:
                        raise CorrectionRefused(f"the assistant is already taught this as {intent} ({path.name})")
                    raise CorrectionRefused(
                        f"this exact message is a training example of {other_intent} in data/nlu/{path.name}; "
                        "a developer has to move it there")

    def _write(self, language: str, corrections: List[Correction]) -> None:
        by_intent: Dict[str, List[Correction]] = {}
        for correction in sorted(corrections, key=lambda c: (c.intent, c.corrected_at)):
            by_intent.setdefault(correction.intent, []).append(correction)
        document = {"version": "3.1", "nlu": [
            {"intent": intent, "examples": [
                {"text": c.text, "metadata": {k: v for k, v in (
                    ("corrected_by", c.corrected_by), ("corrected_at", c.corrected_at),
                    ("conversation", c.conversation), ("procedure", c.procedure)) if v}}
                for c in items]}
            for intent, items in by_intent.items()]}
        header = (f"# Messages staff corrected in the staff console ({language}); the next `make train` learns them.\n"
                  "# Written by bot/staff/teach.py: edit through the console, or by hand with care.\n")
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.path(language)
        temporary = path.with_suffix(".yml.tmp")
        temporary.write_text(header + yaml.safe_dump(document, allow_unicode=True, sort_keys=False, width=1000),
                             encoding="utf-8")
        temporary.replace(path)  # a reader never sees half a file

    def export(self, language: Optional[str] = None) -> str:
        """The corrections files' content, one language or all, as one NLU YAML document."""
        parts = []
        for lang in ([language] if language else LANGUAGES):
            if self.path(lang).exists():
                parts.append(self.path(lang).read_text(encoding="utf-8"))
        if not parts:
            return 'version: "3.1"\nnlu: []\n'
        return "\n---\n".join(parts) if len(parts) > 1 else parts[0]


def _first_words(text: str, limit: int = 40) -> str:
    """The start of an answer, cut at a space where there is one, for a saved test's `contains`."""
    first_line = text.strip().splitlines()[0] if text.strip() else ""
    if len(first_line) <= limit:
        return first_line
    cut = first_line[:limit]
    return cut[:cut.rfind(" ")] if " " in cut[limit // 2:] else cut


def conversation_as_test(conversation: Dict[str, Any], user: str) -> str:
    """A stored conversation (ConversationStore.conversation, masked) as a staff test conversation:
    what the patient said, and what the assistant did then, as the expectations to keep."""
    turns = []
    for turn in conversation["turns"]:
        patient = turn.get("patient")
        if not patient or not patient.get("text"):
            continue
        texts = [a["text"] for a in turn.get("answers", []) if a.get("text")]
        expect: Dict[str, Any] = {}
        language = detect_language(" ".join(texts)) if texts else None
        if language:
            expect["language"] = language
        if texts and _first_words(texts[-1]):
            expect["contains"] = [_first_words(texts[-1])]
        buttons = [b for a in turn.get("answers", []) for b in a.get("buttons", [])]
        if buttons:
            expect["buttons"] = buttons
        slots = turn.get("slots") or {}
        expect["hands_off"] = slots.get("handoff_requested") is True
        expect["escalates"] = slots.get("red_flag_raised") is True
        turns.append({"patient": mask_pii(patient["text"]), "expect": expect})
    if not turns:
        raise InvalidCorrection("this conversation has no patient messages to save")
    today = datetime.date.today().isoformat()
    document = {"conversations": [{"name": f"Saved from conversation {pseudonym(conversation['id'])} by {user} on {today}",
                                   "turns": turns}]}
    return ("# Saved from the staff console; adjust what each answer must show before relying on it.\n"
            + yaml.safe_dump(document, allow_unicode=True, sort_keys=False, width=1000))


def save_test(conversation: Dict[str, Any], user: str, directory: Path = SAVED_TESTS_DIR) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{datetime.date.today().isoformat()}-{pseudonym(conversation['id'])}.yml"
    path.write_text(conversation_as_test(conversation, user), encoding="utf-8")
    return path
