"""Personal data in patients' free text, replaced by placeholders before staff see it.

Masked: e-mail addresses, national ID numbers (Thai 13-digit citizen IDs, Korean resident registration
numbers) and phone numbers (Thai, Korean, Chinese, any "+<country>" or "00<country>" number, an area code
in brackets, and Thai, Korean and Chinese numbers with the country code but no "+"). Kept: the numbers
patients write about surgery ("L4-L5", "3-5 days", "2026-11-25", "10:30", "120,000 baht").

Thai and Chinese are written without spaces ("เบอร์0812345678ค่ะ"), so a number's edges are found by
"no digit before / after" rather than by word boundaries.
"""
from __future__ import annotations

import re
import unicodedata
from typing import List, Tuple

EMAIL = "[email]"
NATIONAL_ID = "[national ID]"
PHONE = "[phone]"
PII_PLACEHOLDERS = (EMAIL, NATIONAL_ID, PHONE)

_SEP = r"[-. ]?"  # between digit groups: a hyphen, a dot, a space or nothing
_NO_DIGIT_BEFORE = r"(?<![0-9+])"
_NO_DIGIT_AFTER = r"(?![0-9])"

_EMAIL_PATTERN = re.compile(
    r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]+"  # the name, read from its start
    r"@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"  # the domain, up to its last letter
)
_NATIONAL_ID_PATTERN = re.compile(
    _NO_DIGIT_BEFORE
    + "(?:"
    + r"[0-9][- ]?[0-9]{4}[- ]?[0-9]{5}[- ]?[0-9]{2}[- ]?[0-9]"  # Thai: 1-2345-67890-12-3, or 13 digits
    + r"|[0-9]{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01])[- ]?[1-8][0-9]{6}"  # Korean: YYMMDD-NNNNNNN
    + ")"
    + _NO_DIGIT_AFTER
)
_PHONE_PATTERN = re.compile(
    _NO_DIGIT_BEFORE
    + "(?:"
    + rf"0[1-9][0-9]{_SEP}[0-9]{{3,4}}{_SEP}[0-9]{{4}}"  # 081-234-5678, 010-1234-5678, 031-123-4567
    + rf"|0[1-9][0-9]{_SEP}[0-9]{{3}}{_SEP}[0-9]{{3}}"  # Thai provinces: 053-123-456
    + rf"|0[1-9]{_SEP}[0-9]{{3,4}}{_SEP}[0-9]{{4}}"  # 02-123-4567, 08-1234-5678
    + rf"|0[1-9][0-9]{{1,2}}[- ][0-9]{{7,8}}"  # Chinese landlines: 010-12345678
    + rf"|1[3-9][0-9]{_SEP}[0-9]{{4}}{_SEP}[0-9]{{4}}"  # Chinese mobiles: 138 1234 5678
    + r"|\+[1-9][0-9]{0,2}(?:[-. ]?\(?[0-9]{1,5}\)?){2,5}"  # +66 81 234 5678, +1 (555) 123-4567
    + r"|00[1-9][0-9]{0,2}(?:[-. ]?\(?[0-9]{1,5}\)?){2,5}"  # 0066 81 234 5678: "00" dialled for "+"
    + rf"|\(0[1-9][0-9]{{0,2}}\){_SEP}[0-9]{{3,4}}{_SEP}[0-9]{{3,4}}"  # (02) 123 4567, (081) 234-5678
    # a country code without "+" or "00", as apps copy a number: Thai mobiles and Bangkok, Korean and
    # Chinese mobiles (66812345678, 66 2 123 4567, 821012345678, 8613812345678)
    + rf"|66{_SEP}[689][0-9]{_SEP}[0-9]{{3}}{_SEP}[0-9]{{4}}|66{_SEP}2{_SEP}[0-9]{{3}}{_SEP}[0-9]{{4}}"
    + rf"|82{_SEP}10{_SEP}[0-9]{{4}}{_SEP}[0-9]{{4}}|86{_SEP}1[3-9][0-9]{_SEP}[0-9]{{4}}{_SEP}[0-9]{{4}}"
    + ")"
    + _NO_DIGIT_AFTER
)
_MIN_PHONE_DIGITS = 8  # "+12 34" is no phone number
_PATTERNS = ((EMAIL, _EMAIL_PATTERN), (NATIONAL_ID, _NATIONAL_ID_PATTERN), (PHONE, _PHONE_PATTERN))

# Full-width signs typed by Chinese, Japanese and Korean input methods, and spaces that are not " ".
_PUNCTUATION = str.maketrans({"＋": "+", "－": "-", "．": ".", "\u3000": " ", "\u00A0": " "})
_ANY_DIGIT = re.compile(r"\d")


def mask_pii(text: str) -> str:
    """`text` with every e-mail address, national ID and phone number replaced by its placeholder."""
    spans = _pii_spans(_comparable(text))
    parts = []
    end = 0
    for start, stop, placeholder in spans:
        parts.append(text[end:start])
        parts.append(placeholder)
        end = stop
    parts.append(text[end:])
    return "".join(parts)


def _comparable(text: str) -> str:
    """`text` with every digit (Thai ๐-๙, full-width ０-９, ...) written 0-9, and full-width signs as
    ASCII. Each character stays one character, so positions found here are positions in `text`."""
    ascii_digits = _ANY_DIGIT.sub(lambda digit: str(unicodedata.decimal(digit.group())), text)
    return ascii_digits.translate(_PUNCTUATION)


def _pii_spans(text: str) -> List[Tuple[int, int, str]]:
    """(start, end, placeholder) of each piece of personal data, in order, none overlapping.

    E-mails are found first (an address may hold digits), then IDs (a 13-digit ID would also read as
    a phone number), then phones."""
    spans: List[Tuple[int, int, str]] = []
    for placeholder, pattern in _PATTERNS:
        for match in pattern.finditer(text):
            start, end = match.span()
            if placeholder == PHONE and sum(c.isdigit() for c in match.group()) < _MIN_PHONE_DIGITS:
                continue
            if all(end <= taken_start or start >= taken_end for taken_start, taken_end, _ in spans):
                spans.append((start, end, placeholder))
    return sorted(spans)
