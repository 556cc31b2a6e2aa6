"""A message's language, judged from its script.

Thai, Hangul and Han each belong to one of our languages, so a message with any of them is
in the language whose script it uses most ("ผ่าตัด MISS เสี่ยงไหม" is Thai). Latin text is
English, unless all its Latin words are procedure names or language-neutral words such as
"ok": those, like digits, emoji or a button payload, carry no language signal, and the
conversation keeps the language it had.
"""
from __future__ import annotations

import re
from typing import Optional

from bot.procedure_names import ProcedureDictionary, default_dictionary

SCRIPTS = {
    "th": re.compile(r"[\u0E00-\u0E7F]"),
    "ko": re.compile(r"[\uAC00-\uD7AF\u1100-\u11FF\u3130-\u318F]"),
    "zh": re.compile(r"[\u3400-\u4DBF\u4E00-\u9FFF\uF900-\uFAFF]"),
}
LATIN_WORD = re.compile(r"[A-Za-z\u00C0-\u024F]+")
# Words patients of every language type in Latin letters.
NEUTRAL_WORDS = {"ok", "okay", "okey", "oke", "okie", "k", "kk", "lol", "hmm", "hm", "ah", "oh", "haha", "hahaha"}


def detect_language(text: str, dictionary: Optional[ProcedureDictionary] = None) -> Optional[str]:
    """'th', 'ko', 'zh' or 'en'; None when the text carries no language signal."""
    counts = {lang: len(pattern.findall(text)) for lang, pattern in SCRIPTS.items()}
    best = max(counts, key=lambda lang: counts[lang])
    if counts[best]:
        return best
    dictionary = dictionary or default_dictionary()
    words = [w.lower() for w in LATIN_WORD.findall(dictionary.strip_names(text))]
    if any(w not in NEUTRAL_WORDS for w in words):
        return "en"
    return None
