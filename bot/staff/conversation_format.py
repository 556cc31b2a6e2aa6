"""Staff test conversations: the YAML format of docs/staff/test-conversations.md, loaded and checked.

A mistake in a file (an unknown key, a language that isn't one of ours, a turn without a message)
is reported with the file, the conversation and the turn, so staff can fix it without reading code.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import jsonschema
import yaml

from bot.procedure_names import LANGUAGES

_PHRASES = {"type": "array", "items": {"type": "string", "minLength": 1}}
EXPECT_SCHEMA = {
    "type": "object",
    "properties": {
        "language": {"enum": list(LANGUAGES)},
        "contains": _PHRASES,
        "contains_any": {**_PHRASES, "minItems": 1},
        "not_contains": _PHRASES,
        "buttons": _PHRASES,
        "hands_off": {"type": "boolean"},
        "escalates": {"type": "boolean"},
    },
    "additionalProperties": False,
}
FILE_SCHEMA = {
    "type": "object",
    "properties": {
        "conversations": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "properties": {
                    "name": {"type": "string", "minLength": 1},
                    "language": {"enum": list(LANGUAGES)},
                    "turns": {
                        "type": "array",
                        "minItems": 1,
                        "items": {
                            "type": "object",
                            "properties": {
                                "patient": {"type": "string", "minLength": 1, "pattern": r"\S"},
                                "expect": EXPECT_SCHEMA,
                            },
                            "required": ["patient"],
                            "additionalProperties": False,
                        },
                    },
                },
                "required": ["name", "turns"],
                "additionalProperties": False,
            },
        },
    },
    "required": ["conversations"],
    "additionalProperties": False,
}


class ConversationFileError(ValueError):
    """A test conversation file that cannot be run; the message says where and what is wrong."""


@dataclass(frozen=True)
class Expectation:
    language: Optional[str] = None
    contains: Tuple[str, ...] = ()
    contains_any: Tuple[str, ...] = ()
    not_contains: Tuple[str, ...] = ()
    buttons: Optional[Tuple[str, ...]] = None  # None: not checked; (): no buttons at all
    hands_off: Optional[bool] = None
    escalates: Optional[bool] = None

    def as_dict(self) -> Dict[str, Any]:
        """Only what is checked, as a file would write it (for reports and saved conversations)."""
        written: Dict[str, Any] = {}
        if self.language:
            written["language"] = self.language
        for key in ("contains", "contains_any", "not_contains"):
            if getattr(self, key):
                written[key] = list(getattr(self, key))
        if self.buttons is not None:
            written["buttons"] = list(self.buttons)
        for key in ("hands_off", "escalates"):
            if getattr(self, key) is not None:
                written[key] = getattr(self, key)
        return written


@dataclass(frozen=True)
class Turn:
    patient: str
    expect: Expectation


@dataclass(frozen=True)
class Conversation:
    name: str
    source: Path
    turns: Tuple[Turn, ...] = field(default_factory=tuple)


def _where(path: Path, error: jsonschema.ValidationError) -> str:
    """'conversation 2 ("Risks"), turn 3, expect.contains' from a schema error's path."""
    parts: List[str] = []
    location = list(error.absolute_path)
    if len(location) >= 2 and location[0] == "conversations":
        parts.append(f"conversation {location[1] + 1}")
        location = location[2:]
        if len(location) >= 2 and location[0] == "turns":
            parts.append(f"turn {location[1] + 1}")
            location = location[2:]
    if location:
        parts.append(".".join(map(str, location)))
    return f"{path}: " + (", ".join(parts) + ": " if parts else "")


def load_file(path: Path) -> List[Conversation]:
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as error:
        raise ConversationFileError(f"{path}: not valid YAML: {error}") from error
    errors = sorted(jsonschema.Draft7Validator(FILE_SCHEMA).iter_errors(document), key=lambda e: list(e.absolute_path))
    if errors:
        raise ConversationFileError("\n".join(_where(path, e) + e.message for e in errors[:5]))
    conversations = []
    for entry in document["conversations"]:
        default_language = entry.get("language")
        turns = []
        for turn in entry["turns"]:
            expect = dict(turn.get("expect") or {})
            expect.setdefault("language", default_language)
            for key in ("contains", "contains_any", "not_contains", "buttons"):
                if key in expect:
                    expect[key] = tuple(expect[key])
            turns.append(Turn(patient=turn["patient"], expect=Expectation(**expect)))
        conversations.append(Conversation(name=entry["name"], source=path, turns=tuple(turns)))
    return conversations


def find_files(paths: List[Path]) -> List[Path]:
    """The .yml/.yaml files named, or found under the folders named, in a stable order."""
    files: List[Path] = []
    for path in paths:
        if path.is_dir():
            files += sorted(p for p in path.rglob("*") if p.suffix in (".yml", ".yaml") and p.is_file())
        elif path.is_file():
            files.append(path)
        else:
            raise ConversationFileError(f"{path}: no such file or folder")
    if not files:
        raise ConversationFileError(f"no test conversation files (.yml) in {', '.join(map(str, paths))}")
    return files


def load_conversations(paths: List[Path]) -> List[Conversation]:
    """Every conversation in the files and folders given; all files' errors reported together."""
    conversations: List[Conversation] = []
    problems: List[str] = []
    for path in find_files(paths):
        try:
            conversations += load_file(path)
        except ConversationFileError as error:
            problems.append(str(error))
    if problems:
        raise ConversationFileError("\n".join(problems))
    return conversations
