"""Search keys of a person's name that tolerate transliteration variants: Haddad and Hadad,
Mohammed, Muhammad and Mohamed, Youssef, Yusuf and Jussuf each get the same key.

A key is a name token's consonant skeleton: diacritics dropped, common spelling variants of
the same sound mapped to one letter (tsch -> ch, sch/sh -> s, kh/ch -> h, ph -> f, j -> y, c/q -> k,
v -> w, z -> s), a leading vowel kept as "a" (Osman and Usman), the other vowels dropped and
repeated letters collapsed. Too coarse for identity (Amal and Emil share a key), fine for
finding a list row: the list shows the full name and the date of birth to tell them apart.

The keys are personal data: they live in the read model only (store/projections.py
`CaseNameKey`), never in logs, events, workflow ids or search attributes.
"""

import re
import unicodedata

KEY_LENGTH = 40
MAX_KEYS = 12  # tokens of a given and a family name, more than anybody's

_DIGRAPHS = (
    ("tsch", "ch"),
    ("sch", "s"),
    ("sh", "s"),
    ("kh", "h"),
    ("ch", "h"),
    ("ph", "f"),
    ("ck", "k"),
)
_SINGLE = str.maketrans({"j": "y", "c": "k", "q": "k", "v": "w", "z": "s", "ß": "s"})
_VOWELS = frozenset("aeiou")
_TOKEN = re.compile(r"[a-z]+")


def _latin(text: str) -> str:
    """Lower case, diacritics dropped ("Şükrü" -> "sukru"), anything else a separator."""
    lowered = text.lower().replace("ß", "s")
    decomposed = unicodedata.normalize("NFKD", lowered)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def token_key(token: str) -> str:
    """The key of one name token of letters a-z ("" for none)."""
    word = token
    for digraph, letter in _DIGRAPHS:
        word = word.replace(digraph, letter)
    word = word.translate(_SINGLE)
    if not word:
        return ""
    head = "a" if word[0] in _VOWELS else word[0]
    skeleton = head + "".join(c for c in word[1:] if c not in _VOWELS and c != "y")
    collapsed = re.sub(r"(.)\1+", r"\1", skeleton)
    return collapsed[:KEY_LENGTH]


def name_keys(*names: str) -> list[str]:
    """The distinct keys of every token of `names`, in order (at most `MAX_KEYS`). Hyphens,
    apostrophes and spaces separate tokens: "Al-Haddad" is "al" and "haddad"."""
    keys: list[str] = []
    for name in names:
        for token in _TOKEN.findall(_latin(name)):
            key = token_key(token)
            if key and key not in keys:
                keys.append(key)
    return keys[:MAX_KEYS]
