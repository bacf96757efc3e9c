"""Search keys of a person's name that tolerate transliteration variants: Haddad and Hadad,
Mohammed, Muhammad and Mohamed, Youssef, Yusuf and Jussuf each get the same key.

A key is a name token's consonant skeleton: every letter transliterated to Latin (anyascii:
„Özdemir“ -> ozdemir, „Straße“ -> strasse, „Yılmaz“ -> yilmaz, Cyrillic „Юсуф“ -> yusuf, Arabic
„محمد“ -> mhmd), common spelling variants of the same sound mapped to one letter (tsch -> ch,
sch/sh -> s, kh/ch -> h, ph -> f, j -> y, c/q -> k, v -> w, z -> s), a leading vowel kept as
"a" (Osman and Usman), the other vowels dropped and repeated letters collapsed. So Ö and Oe,
ß and ss meet, and a name typed in Cyrillic or Arabic finds the same name typed so (and often
its Latin spelling). Too coarse for identity (Amal and Emil share a key), fine for finding a
list row: the list shows the full name and the date of birth to tell them apart.

A search word of at least `PREFIX_MIN` letters also finds the names it begins (`search_terms`:
„Hadd“ finds Haddad, „Moham“ Mohammed): its key is then a prefix of theirs.

The keys are personal data: they live in the read model only (store/projections.py
`CaseNameKey`), never in logs, events, workflow ids or search attributes. The key of a name
is versioned by what this module computes: when it changes, the stored keys are rebuilt at
the worker's start (store/name_key_rebuild.py).
"""

import re
import unicodedata
from dataclasses import dataclass

from anyascii import anyascii

KEY_LENGTH = 40
MAX_KEYS = 12  # tokens of a given and a family name, more than anybody's
PREFIX_MIN = 3  # letters a search word needs to find the names it begins

_DIGRAPHS = (
    ("tsch", "ch"),
    ("sch", "s"),
    ("sh", "s"),
    ("kh", "h"),
    ("ch", "h"),
    ("ph", "f"),
    ("ck", "k"),
)
_SINGLE = str.maketrans({"j": "y", "c": "k", "q": "k", "v": "w", "z": "s"})
_VOWELS = frozenset("aeiou")
_TOKEN = re.compile(r"[a-z]+")


def _latin(text: str) -> str:
    """Lower-case Latin letters of `text`: each letter transliterated („Şükrü“ -> "sukru",
    „Олена“ -> "olena"), combining marks dropped, anything else (digits, punctuation, emoji)
    a separator."""
    letters = []
    for char in text:
        if char.isascii():
            letters.append(char)
        elif unicodedata.category(char)[0] == "L":
            letters.append(anyascii(char))
        elif unicodedata.category(char)[0] != "M":
            letters.append(" ")
    return "".join(letters).lower()


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


@dataclass(frozen=True)
class SearchTerm:
    """One word of a search: its key, and whether names whose key begins with it match too."""

    key: str
    prefix: bool


def search_terms(text: str) -> list[SearchTerm]:
    """The words of a search as terms (at most `MAX_KEYS`, each key once): a word of at least
    `PREFIX_MIN` letters finds the names it begins, a shorter one only its own key."""
    terms: dict[str, SearchTerm] = {}
    for token in _TOKEN.findall(_latin(text)):
        key = token_key(token)
        if key:
            prefix = len(token) >= PREFIX_MIN or terms.get(key, SearchTerm(key, False)).prefix
            terms[key] = SearchTerm(key, prefix)
    return list(terms.values())[:MAX_KEYS]
