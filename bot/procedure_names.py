"""The procedure-name dictionary: every name, transliteration and abbreviation a patient
may type, mapped to a canonical procedure id (see data/procedure_names.yml).

Names are found exactly first, longest first; then, in what is left of the text, names as
patients misspell them: within one or two edits for Latin names (whole words) and for Thai
names (anywhere, Thai being written without spaces), with Thai tone marks ignored.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Dict, Iterable, List, Tuple

import yaml
from rapidfuzz import fuzz
from rapidfuzz.distance import Levenshtein

from bot.paths import PROCEDURE_NAMES_FILE

LANGUAGES = ("th", "ko", "en", "zh")
# Latin names must stand as whole words ("miss" inside "dismiss" is no procedure);
# Thai, Hangul and Han are written without word boundaries, so they match anywhere.
_LATIN = re.compile(r"[A-Za-z]")
_LATIN_WORD = re.compile(r"[A-Za-z]+")
_THAI = re.compile(r"[\u0E00-\u0E7F]")
# A gap in a descriptive name ("현미경 … 디스크"): up to this many characters of anything.
GAP = "\u2026"
GAP_CHARACTERS = 12
# Names shorter than this are never matched fuzzily: too many ordinary words lie one edit away.
FUZZY_MIN_LATIN = 8
FUZZY_MIN_THAI = 8
# Thai tone marks and the like, which patients often leave out or put on the wrong letter.
_THAI_MARKS = re.compile(r"[\u0E31\u0E34-\u0E3A\u0E47-\u0E4E]")


def allowed_edits(name: str) -> int:
    """One typo in a name of 8 letters or more, two in one of 13 or more."""
    return 2 if len(name) >= 13 else 1


@dataclass(frozen=True)
class ProcedureMention:
    procedure: str
    start: int
    end: int
    text: str


def _name_pattern(name: str) -> str:
    """A name whose parts may be joined by a space, a hyphen or nothing, and whose gaps (…) may
    hold a few characters of anything ("현미경으로 하는 디스크")."""
    pieces = [
        r"[\s\-]*".join(re.escape(p) for p in re.split(r"[\s\-]+", piece.strip()) if p)
        for piece in name.split(GAP)
    ]
    body = rf".{{0,{GAP_CHARACTERS}}}?".join(p for p in pieces if p)
    if _LATIN.search(name):
        return rf"(?<![A-Za-z]){body}(?![A-Za-z])"
    return body


# Words that compare procedures: with one of them, a general name ("minimally invasive") is a
# procedure of its own ("MISS vs microdiscectomy"), not a description of the specific one.
_COMPARING = re.compile(
    r"(?<![a-z])(?:vs\.?|versus|compare|compared|comparison|difference|differ|better than|rather than|instead of)(?![a-z])"
    r"|เทียบ|ต่างกัน|แตกต่าง|ต่างจาก|ดีกว่า|비교|차이|다른 점|나은가|나아요|比较|比較|相比|区别|區別|差别|不同|哪个好|哪個好|还是|還是",
    re.IGNORECASE,
)
# After an abbreviation that is also an ordinary word ("miss"), in lower case: a surgery word.
_SURGERY_WORD = r"(?=[\s\-]*(?:spine\s+|spinal\s+)?(?:surgery|surgeries|op|ops|operation|procedure|technique|approach)(?![A-Za-z]))"


@dataclass(frozen=True)
class _FuzzyName:
    name: str        # as compared: lower case, no spaces or hyphens (Latin), no tone marks (Thai)
    procedure: str
    latin: bool
    edits: int


def _squeeze(name: str) -> str:
    return re.sub(r"[\s\-]+", "", name.lower())


def _without_thai_marks(text: str) -> str:
    return _THAI_MARKS.sub("", text)


class ProcedureDictionary:
    """Finds procedure mentions in text, longest match first, without overlaps."""

    def __init__(self, table: Dict[str, dict]):
        self.table = table
        self.generic = {pid for pid, entry in table.items() if entry.get("generic")}
        entries: List[Tuple[str, str, int]] = []  # (name, procedure id, regex flags)
        for pid, entry in table.items():
            for language in LANGUAGES:
                entries.extend((name, pid, re.IGNORECASE) for name in self._names_of(entry, language))
            words = {w.upper() for w in entry.get("ordinary_word_abbreviations") or []}
            for abbreviation in entry.get("abbreviations") or []:
                # "PELD", "peld", "Ube": any case; "MISS" in capitals, "miss" only before "surgery".
                entries.append((abbreviation, pid, 0 if abbreviation.upper() in words else re.IGNORECASE))
        # Longest names first so "ผ่าตัดหมอนรองกระดูกด้วยกล้องขยาย" wins over "กล้องขยาย"; names
        # with a gap only after every exact name, so they never swallow one.
        entries.sort(key=lambda e: (GAP in e[0], -len(e[0])))
        self._patterns = [(re.compile(_name_pattern(name), flags), pid) for name, pid, flags in entries]
        self._patterns += [
            (re.compile(_name_pattern(word.lower())[:-len("(?![A-Za-z])")] + _SURGERY_WORD, re.IGNORECASE), pid)
            for pid, entry in table.items() for word in entry.get("ordinary_word_abbreviations") or []
        ]
        self._fuzzy = self._fuzzy_names(entries)

    @staticmethod
    def _fuzzy_names(entries: List[Tuple[str, str, int]]) -> List[_FuzzyName]:
        """The names long enough to be matched with a typo: Latin and Thai ones, no gaps."""
        fuzzy = []
        for name, pid, flags in entries:
            if GAP in name or not flags:
                continue
            if _LATIN.search(name) and len(_squeeze(name)) >= FUZZY_MIN_LATIN:
                fuzzy.append(_FuzzyName(_squeeze(name), pid, True, allowed_edits(_squeeze(name))))
            elif _THAI.search(name):
                bare = _without_thai_marks(_squeeze(name))
                if len(bare) >= FUZZY_MIN_THAI:
                    fuzzy.append(_FuzzyName(bare, pid, False, allowed_edits(bare)))
        return fuzzy

    @classmethod
    def from_file(cls, path: Path = PROCEDURE_NAMES_FILE) -> "ProcedureDictionary":
        with open(path, encoding="utf-8") as f:
            return cls(yaml.safe_load(f))

    @staticmethod
    def _names_of(entry: dict, language: str) -> List[str]:
        """A procedure's names in one language, its displayed title included:
        "ไมโครดิสเอกโตมี" from the title "ผ่าตัด... (ไมโครดิสเอกโตมี)" as well as the part before it."""
        title = (entry.get("title") or {}).get(language, "")
        # An abbreviation in a title ("(MISS)") is matched from `abbreviations`.
        title_parts = [p.strip() for p in re.split(r"[()]", title) if p.strip() and not p.strip().isupper()]
        return list((entry.get("names") or {}).get(language, [])) + title_parts

    def names(self, language: str) -> List[str]:
        """Every name in one language that is one word for a segmenter (no gaps)."""
        return [n for entry in self.table.values() for n in self._names_of(entry, language) if GAP not in n]

    def title(self, procedure: str, language: str) -> str:
        return self.table[procedure]["title"][language]

    def find(self, text: str) -> List[ProcedureMention]:
        """Mentions in reading order; a generic name gives way to a specific one unless the
        message compares procedures."""
        mentions = sorted(self.find_all(text), key=lambda m: m.start)
        # "Is a microlaminectomy minimally invasive?" is about the microlaminectomy.
        if any(m.procedure not in self.generic for m in mentions) and not _COMPARING.search(text):
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
        """Every mention, generic ones included: exact names first, longest claiming their span
        first, then misspelt names in the text that is left."""
        taken = [False] * len(text)

        def claim(start: int, end: int) -> bool:
            if end <= start or any(taken[start:end]):
                return False
            taken[start:end] = [True] * (end - start)
            return True

        for pattern, pid in self._patterns:
            for m in pattern.finditer(text):
                if claim(m.start(), m.end()):
                    yield ProcedureMention(pid, m.start(), m.end(), m.group(0))
        for start, end, pid in self._misspelt(text, taken):
            if claim(start, end):
                yield ProcedureMention(pid, start, end, text[start:end])

    def _misspelt(self, text: str, taken: List[bool]) -> Iterable[Tuple[int, int, str]]:
        """(start, end, procedure) of names typed with a typo, in the parts of the text not taken."""
        words = [m for m in _LATIN_WORD.finditer(text) if not any(taken[m.start():m.end()])]
        latin = [f for f in self._fuzzy if f.latin]
        # One to three words typed together or apart ("micro disectomy", "endoscopik").
        for i in range(len(words)):
            for j in range(i, min(i + 3, len(words))):
                typed = "".join(w.group(0).lower() for w in words[i:j + 1])
                if len(typed) < FUZZY_MIN_LATIN:
                    continue
                for candidate in latin:
                    if Levenshtein.distance(typed, candidate.name, score_cutoff=candidate.edits) <= candidate.edits:
                        yield words[i].start(), words[j].end(), candidate.procedure
                        break
        if _THAI.search(text):
            yield from self._misspelt_thai(text, taken)

    def _misspelt_thai(self, text: str, taken: List[bool]) -> Iterable[Tuple[int, int, str]]:
        # Tone marks are compared without: positions map back to the original text.
        kept = [i for i, ch in enumerate(text) if not _THAI_MARKS.match(ch)]
        bare = "".join(text[i] for i in kept)
        for candidate in sorted((f for f in self._fuzzy if not f.latin), key=lambda f: len(f.name), reverse=True):
            cutoff = 100.0 * (1 - candidate.edits / len(candidate.name))
            if len(bare) < len(candidate.name):
                continue
            found = fuzz.partial_ratio_alignment(candidate.name, bare, score_cutoff=cutoff)
            # The typed name must be about as long as the name, not a word that is part of it.
            if found is None or found.dest_end - found.dest_start < len(candidate.name) - candidate.edits:
                continue
            start, end = kept[found.dest_start], kept[found.dest_end - 1] + 1
            if not any(taken[start:end]):
                yield start, end, candidate.procedure


@lru_cache(maxsize=1)
def default_dictionary() -> ProcedureDictionary:
    return ProcedureDictionary.from_file()
