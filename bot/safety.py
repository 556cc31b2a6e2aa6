"""The safety layer's lexicons: urgent symptoms a patient or relative reports, and questions about
taking a medicine. Read from data/safety/ (reviewed by the clinical team; README, "Safety") and
applied whatever the intent classifier thinks, by bot/components/safety_classifier.py.

How a lexicon term matches (the same for both files):
- the text is NFKC-normalised and lowercased;
- a space inside a term matches any whitespace or none ("ยกขา ไม่ขึ้น" finds "ยกขาไม่ขึ้น");
- a Latin term starts at a word boundary and may have any ending ("numb" finds "numbness");
  Thai, Hangul and Han terms match anywhere;
- every language's terms apply to every message (a Thai message may name a drug in English).

An urgent symptom is one of a symptom's `phrases`, or one term of each group of an `all` entry
within the language's window of characters, once each file's `exclude` strings (ordinary words that
contain a lexicon term, such as Thai เฝ้าไข้ "stay with a patient") are blanked out. It escalates unless the message is framed as a
question (`framed_as_question`), decided in this order:
1. an `imagined` word (if it happens, in case, afraid it will, seen on the news) makes it a question
   unless a `present` word (now, since, today, help) anchors the symptom in the patient's present;
2. a `reporting` word (it began, it is worse, is *this* an infection) makes it a report;
3. a `not_happening` word (it is over, feared, to be prevented, or belongs to an operation to come),
   or an `asking` word in a message about no one in particular, makes it a question.
`not_happening` words are blanked out before the `present` and `reporting` words are looked for, so
"fine now" is not "now". Recall comes first, so an unframed symptom escalates.

A medicine question names one of the `drugs` (a Thai or Han name of 7 letters or more, or a Hangul
one of 4 syllables or more, also with one typo), or has one of the `medicine_words` and one of the
`actions`; a `topic_contexts` word ("instead of surgery", "during the operation") makes it a
question the documents answer (alternatives, anaesthesia) instead.
"""
from __future__ import annotations

import itertools
import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

import yaml
from rapidfuzz import fuzz

from bot.paths import SAFETY_DIR

RED_FLAGS_FILE = SAFETY_DIR / "red_flags.yml"
MEDICINES_FILE = SAFETY_DIR / "medicines.yml"
LANGUAGES = ("th", "ko", "en", "zh")
_LATIN_START = re.compile(r"^[a-z0-9]")
# How far apart the groups of one `all` entry may be when a language's window is not set.
DEFAULT_WINDOW = 40


# Phone keyboards type curly apostrophes: "can’t" is "can't".
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'"})


def normalise(text: str) -> str:
    return unicodedata.normalize("NFKC", text).translate(_APOSTROPHES).lower()


def term_pattern(term: str) -> str:
    """A regular expression for one lexicon term (see the module's docstring)."""
    parts = [re.escape(p) for p in normalise(term).split()]
    body = r"\s*".join(parts)
    return rf"(?<![a-z]){body}" if _LATIN_START.match(parts[0] if parts else "") else body


# Non-Latin drug names shorter than this are only matched exactly: ซาร่า is one edit from การผ่า.
# A Hangul syllable is a whole consonant-vowel block, so 4 of them (타이레놀) carry as much.
FUZZY_DRUG_MIN = 7
FUZZY_DRUG_MIN_HANGUL = 4
_HANGUL = re.compile("[\uac00-\ud7a3]")


class TermSet:
    """Many terms compiled into one alternation; finds where any of them occurs."""

    def __init__(self, terms: Iterable[str]):
        self.terms = sorted({t for t in (normalise(str(t)).strip() for t in terms) if t}, key=len, reverse=True)
        self._pattern = re.compile("|".join(term_pattern(t) for t in self.terms)) if self.terms else None

    def spans(self, text: str) -> List[Tuple[int, int]]:
        return [m.span() for m in self._pattern.finditer(text)] if self._pattern else []

    def first(self, text: str) -> Optional[str]:
        match = self._pattern.search(text) if self._pattern else None
        return match.group(0) if match else None

    def __bool__(self) -> bool:
        return bool(self.terms)


@dataclass
class CoOccurrence:
    """One term from each group, in any order, within `window` characters."""

    groups: List[TermSet]
    window: int

    def search(self, text: str) -> Optional[str]:
        spans = [group.spans(text) for group in self.groups]
        if not all(spans):
            return None
        for combination in itertools.islice(itertools.product(*spans), 5000):
            start = min(s for s, _ in combination)
            end = max(e for _, e in combination)
            if end - start <= self.window:
                return text[start:end]
        return None


@dataclass
class Symptom:
    id: str
    label: str
    phrases: TermSet
    combinations: List[CoOccurrence] = field(default_factory=list)

    def search(self, text: str) -> Optional[str]:
        """The matched words, or None."""
        found = self.phrases.first(text)
        if found:
            return found
        for combination in self.combinations:
            found = combination.search(text)
            if found:
                return found
        return None


@dataclass(frozen=True)
class SafetyFinding:
    """What the lexicons found in one message. `kind` is "urgent", "medicine" or None."""

    kind: Optional[str]
    symptoms: Tuple[str, ...] = ()
    matched: Tuple[str, ...] = ()
    framed_as_question: bool = False

    def as_dict(self) -> Dict[str, object]:
        return {"kind": self.kind, "symptoms": list(self.symptoms), "matched": list(self.matched),
                "framed_as_question": self.framed_as_question}


NOTHING = SafetyFinding(None)


class LexiconError(ValueError):
    """A lexicon file does not have the expected shape; the message names the file and entry."""


def _by_language(section: object, where: str) -> List[str]:
    """Every term of a {language: [terms]} mapping, all languages together."""
    if section is None:
        return []
    if not isinstance(section, dict) or not set(section) <= set(LANGUAGES):
        raise LexiconError(f"{where}: expected a mapping of {', '.join(LANGUAGES)} to lists of terms")
    terms = []
    for language, values in section.items():
        if not isinstance(values, list) or not all(isinstance(v, (str, int)) for v in values):
            raise LexiconError(f"{where}.{language}: expected a list of terms")
        terms.extend(str(v) for v in values)
    return terms


class SafetyLexicon:
    """Both lexicons, compiled once; `assess` tells what one message is."""

    def __init__(self, red_flags: dict, medicines: dict, source: str = "data/safety"):
        windows = red_flags.get("windows") or {}
        self.symptoms = [self._symptom(entry, windows, f"{source}/red_flags.yml symptoms[{i}]")
                         for i, entry in enumerate(red_flags.get("symptoms") or [])]
        if not self.symptoms:
            raise LexiconError(f"{source}/red_flags.yml: no symptoms")
        self.reporting = TermSet(_by_language(red_flags.get("reporting"), "red_flags.yml reporting"))
        self.asking = TermSet(_by_language(red_flags.get("asking"), "red_flags.yml asking"))
        self.someone = TermSet(_by_language(red_flags.get("someone"), "red_flags.yml someone"))
        self.not_happening = TermSet(_by_language(red_flags.get("not_happening"), "red_flags.yml not_happening"))
        self.imagined = TermSet(_by_language(red_flags.get("imagined"), "red_flags.yml imagined"))
        self.present = TermSet(_by_language(red_flags.get("present"), "red_flags.yml present"))
        self.not_symptoms = TermSet(_by_language(red_flags.get("exclude"), "red_flags.yml exclude"))
        self.drugs = TermSet(_by_language(medicines.get("drugs"), "medicines.yml drugs"))
        self.medicine_words = TermSet(_by_language(medicines.get("medicine_words"), "medicines.yml medicine_words"))
        self.actions = TermSet(_by_language(medicines.get("actions"), "medicines.yml actions"))
        self.exclude = TermSet(_by_language(medicines.get("exclude"), "medicines.yml exclude"))
        self.topic_contexts = TermSet(_by_language(medicines.get("topic_contexts"), "medicines.yml topic_contexts"))
        # Thai, Hangul and Han brand names are transliterated with many spellings (ไลริก้า, ไลริกา);
        # Latin names are not, and one edit away from them lie ordinary words ("preparing", "heparin").
        # Each with its score cutoff: one edit in an indel ratio over the name's length.
        self.fuzzy_drugs = [(d, 100 * (1 - 1 / len(d)) - 0.01) for d in self.drugs.terms
                            if " " not in d and not re.search("[a-z]", d)
                            and len(d) >= (FUZZY_DRUG_MIN_HANGUL if _HANGUL.search(d) else FUZZY_DRUG_MIN)]
        if not (self.drugs and self.medicine_words and self.actions):
            raise LexiconError(f"{source}/medicines.yml: drugs, medicine_words and actions must all have terms")

    @staticmethod
    def _symptom(entry: dict, windows: Dict[str, int], where: str) -> Symptom:
        if not isinstance(entry, dict) or not entry.get("id"):
            raise LexiconError(f"{where}: every symptom needs an id")
        phrases: List[str] = []
        combinations: List[CoOccurrence] = []
        for language in LANGUAGES:
            part = entry.get(language) or {}
            phrases.extend(str(p) for p in part.get("phrases") or [])
            for k, groups in enumerate(part.get("all") or []):
                if not isinstance(groups, list) or len(groups) < 2 or not all(isinstance(g, list) and g for g in groups):
                    raise LexiconError(f"{where} ({entry['id']}).{language}.all[{k}]: expected two or more non-empty lists")
                combinations.append(CoOccurrence([TermSet(g) for g in groups],
                                                 int(windows.get(language, DEFAULT_WINDOW))))
        if not phrases and not combinations:
            raise LexiconError(f"{where} ({entry['id']}): no phrases and no `all` entries")
        return Symptom(entry["id"], entry.get("label", entry["id"]), TermSet(phrases), combinations)

    @classmethod
    def from_files(cls, red_flags: Path = RED_FLAGS_FILE, medicines: Path = MEDICINES_FILE) -> "SafetyLexicon":
        def load(path: Path) -> dict:
            with open(path, encoding="utf-8") as f:
                document = yaml.load(f, _UniqueKeyLoader)
            if not isinstance(document, dict):
                raise LexiconError(f"{path}: expected a mapping")
            return document

        return cls(load(red_flags), load(medicines), source=str(red_flags.parent))

    def urgent_symptoms(self, text: str) -> List[Tuple[str, str]]:
        """(symptom id, matched words) for every symptom the normalised text mentions."""
        found = []
        for symptom in self.symptoms:
            words = symptom.search(text)
            if words:
                found.append((symptom.id, words))
        return found

    def is_medicine_question(self, text: str) -> Optional[str]:
        """The matched words when the normalised text asks about a medicine, else None."""
        text = _blank(text, self.exclude)
        if self.topic_contexts.first(text):  # "medication instead of surgery": an alternatives question
            return None
        drug = self.drugs.first(text) or self._misspelt_drug(text)
        if drug:
            return drug
        word, action = self.medicine_words.first(text), self.actions.first(text)
        return f"{word} … {action}" if word and action else None

    def _misspelt_drug(self, text: str) -> Optional[str]:
        """The words that are one edit from one of the `fuzzy_drugs` (long enough non-Latin names)."""
        for drug, cutoff in self.fuzzy_drugs:
            found = fuzz.partial_ratio_alignment(drug, text, score_cutoff=cutoff)
            if found and found.dest_end - found.dest_start >= len(drug) - 1:
                return text[found.dest_start:found.dest_end]
        return None

    def assess(self, text: str) -> SafetyFinding:
        if not isinstance(text, str) or not text.strip():
            return NOTHING
        text = normalise(text)
        symptoms = self.urgent_symptoms(_blank(text, self.not_symptoms))
        if symptoms:
            framed = self.framed_as_question(text)
            if not framed:
                return SafetyFinding("urgent", tuple(s for s, _ in symptoms), tuple(w for _, w in symptoms))
        medicine = self.is_medicine_question(text)
        if medicine:
            return SafetyFinding("medicine", matched=(medicine,), framed_as_question=bool(symptoms))
        if symptoms:
            return SafetyFinding(None, tuple(s for s, _ in symptoms), tuple(w for _, w in symptoms), True)
        return NOTHING

    def framed_as_question(self, text: str) -> bool:
        """Whether a message that mentions a symptom asks about it rather than reports it (the order
        is the module docstring's)."""
        without_not_happening = _blank(text, self.not_happening)
        if self.imagined.first(without_not_happening) and not self.present.first(without_not_happening):
            return True
        if self.reporting.first(without_not_happening):
            return False
        if without_not_happening != text:  # something was blanked: a not_happening word is there
            return True
        return bool(self.asking.first(text)) and not self.someone.first(text)


class _UniqueKeyLoader(yaml.SafeLoader):
    """YAML's safe loader, refusing a key given twice in one mapping: in a lexicon the second `all:`
    of a symptom would silently replace the first."""

    def construct_mapping(self, node, deep=False):  # type: ignore[no-untyped-def]
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise LexiconError(f"line {key_node.start_mark.line + 1}: '{key}' is given twice")
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _blank(text: str, terms: TermSet) -> str:
    """The text with every occurrence of the terms replaced by spaces (offsets unchanged)."""
    for start, end in reversed(terms.spans(text)):
        text = text[:start] + " " * (end - start) + text[end:]
    return text


@lru_cache(maxsize=1)
def default_lexicon() -> SafetyLexicon:
    return SafetyLexicon.from_files()


def lexicon_files() -> Sequence[Path]:
    return (RED_FLAGS_FILE, MEDICINES_FILE)
