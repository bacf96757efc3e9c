"""The short human case number, `MUS-2026-0147`: a municipality's prefix, the year the case was
opened (German time) and a serial per municipality and year.

Pure formatting and parsing; the serial is taken in the store (store/case_numbers.py), where
concurrent openings are serialised. The number is for people (lists, the case page, the signed
document, the search field): the case's id in URLs, the API and Temporal stays `case-<uuid>`.
"""

import re
import unicodedata
from collections.abc import Collection

PREFIX_LENGTH = 3
SERIAL_DIGITS = 4  # padded to four; the 10,000th case of a year simply gets five
NUMBER_LENGTH = 20

_NUMBER = re.compile(r"([A-Za-z]{3})-(\d{4})-(\d{1,7})")
# The part of a number people quote without the prefix: "0147", "147", "2026-0147".
_SERIAL_PART = re.compile(r"(?:(\d{4})-)?(\d{1,7})")


def format_case_number(prefix: str, year: int, serial: int) -> str:
    return f"{prefix.upper()}-{year:04d}-{serial:0{SERIAL_DIGITS}d}"


def parse_case_number(text: str) -> str | None:
    """The number as stored when `text` is one (any case, the serial with or without its
    leading zeros: "mus-2026-147" is "MUS-2026-0147"); None when it is not one."""
    found = _NUMBER.fullmatch(text.strip())
    if found is None:
        return None
    prefix, year, serial = found.groups()
    return format_case_number(prefix, int(year), int(serial))


def serial_suffix(text: str) -> str | None:
    """How a stored number ends when `text` is its serial part, with or without the year
    ("147" -> "-0147", "2026-147" -> "-2026-0147"); None when it is not one (a serial of 0)."""
    found = _SERIAL_PART.fullmatch(text.strip())
    if found is None or int(found.group(2)) == 0:
        return None
    year, serial = found.groups()
    padded = f"-{int(serial):0{SERIAL_DIGITS}d}"
    return f"-{int(year):04d}{padded}" if year else padded


def _letters(municipality_id: str) -> str:
    decomposed = unicodedata.normalize("NFKD", municipality_id)
    return "".join(c for c in decomposed if "a" <= c.lower() <= "z").upper()


def derive_prefix(municipality_id: str, taken: Collection[str]) -> str:
    """Three letters for a municipality, unique among `taken`: its first three letters
    ("musterstadt" -> "MUS"); when those are taken, its first letter with two later ones in
    order ("MUT", "MUE", ...), then any three letters, so every municipality gets one."""
    letters = _letters(municipality_id) or "X"
    padded = (letters + "XXX")[: max(len(letters), PREFIX_LENGTH)]
    candidates = [padded[:PREFIX_LENGTH]]
    for i in range(1, len(padded)):
        for j in range(i + 1, len(padded)):
            candidates.append(padded[0] + padded[i] + padded[j])
    for candidate in candidates:
        if candidate not in taken:
            return candidate
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    for second in alphabet:
        for third in alphabet:
            if (candidate := padded[0] + second + third) not in taken:
                return candidate
    for first in alphabet:
        for second in alphabet:
            for third in alphabet:
                if (candidate := first + second + third) not in taken:
                    return candidate
    raise ValueError("all 17,576 prefixes are taken")
