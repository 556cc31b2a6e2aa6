"""The procedure-name dictionary: every name, transliteration and abbreviation a patient
may type, mapped to a canonical procedure id (see data/procedure_names.yml)."""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Dict, Iterable, List, Tuple

import yaml

from bot.paths import PROCEDURE_NAMES_FILE

LANGUAGES = ("th", "ko", "en", "zh")
# Latin names must stand as whole words ("miss" inside "dismiss" is no procedure);
# Thai, Hangul and Han are written without word boundaries, so they match anywhere.
_LATIN = re.compile(r"[A-Za-z]")


@dataclass(frozen=True)
class ProcedureMention:
    procedure: str
    start: int
    end: int
    text: str


def _name_pattern(name: str) -> str:
    """A name whose parts may be joined by a space, a hyphen or nothing."""
    parts = [re.escape(p) for p in re.split(r"[\s\-]+", name.strip()) if p]
    body = r"[\s\-]*".join(parts)
    if _LATIN.search(name):
        return rf"(?<![A-Za-z]){body}(?![A-Za-z])"
    return body


class ProcedureDictionary:
    """Finds procedure mentions in text, longest match first, without overlaps."""

    def __init__(self, table: Dict[str, dict]):
        self.table = table
        self.generic = {pid for pid, entry in table.items() if entry.get("generic")}
        entries: List[Tuple[str, str, bool]] = []  # (name, procedure id, case-sensitive)
        for pid, entry in table.items():
            for language in LANGUAGES:
                entries.extend((name, pid, False) for name in self._names_of(entry, language))
            entries.extend((abbr, pid, True) for abbr in entry.get("abbreviations") or [])
        # Longest names first so "ผ่าตัดหมอนรองกระดูกด้วยกล้องขยาย" wins over "กล้องขยาย".
        entries.sort(key=lambda e: len(e[0]), reverse=True)
        self._patterns = [
            (re.compile(_name_pattern(name), 0 if case_sensitive else re.IGNORECASE), pid)
            for name, pid, case_sensitive in entries
        ]

    @classmethod
    def from_file(cls, path: Path = PROCEDURE_NAMES_FILE) -> "ProcedureDictionary":
        with open(path, encoding="utf-8") as f:
            return cls(yaml.safe_load(f))

    @staticmethod
    def _names_of(entry: dict, language: str) -> List[str]:
        """A procedure's names in one language, its displayed title included:
        "ไมโครดิสเอกโตมี" from the title "ผ่าตัด... (ไมโครดิสเอกโตมี)" as well as the part before it."""
        title = (entry.get("title") or {}).get(language, "")
        # An abbreviation in a title ("(MISS)") is matched case-sensitively from `abbreviations`.
        title_parts = [p.strip() for p in re.split(r"[()]", title) if p.strip() and not p.strip().isupper()]
        return list((entry.get("names") or {}).get(language, [])) + title_parts

    def names(self, language: str) -> List[str]:
        """All names of every procedure in one language (for segmenters' user dictionaries)."""
        return [n for entry in self.table.values() for n in self._names_of(entry, language)]

    def title(self, procedure: str, language: str) -> str:
        return self.table[procedure]["title"][language]

    def find(self, text: str) -> List[ProcedureMention]:
        """Mentions in reading order; a generic name gives way to a specific one."""
        mentions = sorted(self.find_all(text), key=lambda m: m.start)
        # "Is a microlaminectomy minimally invasive?" is about the microlaminectomy.
        if any(m.procedure not in self.generic for m in mentions):
            mentions = [m for m in mentions if m.procedure not in self.generic]
        return mentions

    def procedures(self, text: str) -> List[str]:
        """Canonical ids named in the text, in order of first mention, without repeats."""
        return list(dict.fromkeys(m.procedure for m in self.find(text)))

    def strip_names(self, text: str) -> str:
        """The text with every procedure mention blanked out (used to judge the language)."""
        chars = list(text)
        for m in self.find_all(text):
            chars[m.start : m.end] = " " * (m.end - m.start)
        return "".join(chars)

    def find_all(self, text: str) -> Iterable[ProcedureMention]:
        """Every mention, generic ones included, longest names claiming their span first."""
        taken = [False] * len(text)
        for pattern, pid in self._patterns:
            for m in pattern.finditer(text):
                if m.end() > m.start() and not any(taken[m.start() : m.end()]):
                    taken[m.start() : m.end()] = [True] * (m.end() - m.start())
                    yield ProcedureMention(pid, m.start(), m.end(), m.group(0))


@lru_cache(maxsize=1)
def default_dictionary() -> ProcedureDictionary:
    return ProcedureDictionary.from_file()
