"""Finding a node class from what a user types: words, prefixes and abbreviations.

The palette and the Tab quick search both rank the catalog with ``rank``. A query is
split into words; every word must match the class, and how well it matches orders the
results: an abbreviation of the name's words ("scce" for SparseCategoricalCrossentropy,
"mse" for MeanSquaredError), a name word it starts ("cross" ... "entropy"), a part of the
name, the letters of the name in order, the category, then the description.
Keras spells "crossentropy" as one word where users say "cross entropy" (and abbreviate
it "ce"), so the name's words split it too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable

_CAMEL = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+")
#: compound words of Keras names and the words users type for them
_COMPOUNDS = {"crossentropy": ("cross", "entropy"), "logcosh": ("log", "cosh")}


def name_words(name: str) -> list[str]:
    """The lower-case words of a display name or class name (CamelCase, spaces, underscores)."""
    words = []
    for chunk in re.split(r"[\s_\-./]+", name):
        for w in _CAMEL.findall(chunk):
            w = w.lower()
            words.extend(_COMPOUNDS.get(w, (w,)))
    return words


def first_sentence(text: str) -> str:
    """The one-line description: the first sentence of a help text."""
    text = " ".join((text or "").split())
    head = re.split(r"(?<=[.!?])\s", text, maxsplit=1)[0]
    return head if head.endswith((".", "!", "?")) or not head else head + "."


def _subsequence(word: str, text: str) -> bool:
    it = iter(text)
    return all(ch in it for ch in word)


@dataclass(frozen=True)
class Entry:
    """What a node class is searched by."""

    key: object  # what the caller gets back (a type id)
    name: str
    category: str
    description: str

    @property
    def words(self) -> list[str]:
        return name_words(self.name)


def word_score(word: str, entry: Entry) -> int:
    """How well one typed word matches a class (0: not at all)."""
    words = entry.words
    flat = "".join(words)
    initials = "".join(w[0] for w in words)
    if word == flat or word == entry.name.lower():
        return 120
    if word == initials:
        return 100
    if len(word) >= 2 and initials.startswith(word):
        return 70
    if words and words[0].startswith(word):
        return 85
    if any(w.startswith(word) for w in words):
        return 80
    if word in flat:
        return 50
    if len(word) >= 3 and _subsequence(word, flat):
        return 25
    if word in entry.category.lower():
        return 20
    if len(word) >= 3 and word in entry.description.lower():
        return 10
    return 0


def score(query: str, entry: Entry) -> int:
    """The sum of the words' scores; 0 when a word does not match."""
    total = 0
    for word in query.lower().split():
        s = word_score(word, entry)
        if not s:
            return 0
        total += s
    return total if query.strip() else 1


def rank(query: str, entries: Iterable[Entry]) -> list[Entry]:
    """The entries matching every word of ``query``, best first (catalog order among equals)."""
    scored = [(score(query, e), i, e) for i, e in enumerate(entries)]
    return [e for s, _i, e in sorted((t for t in scored if t[0] > 0), key=lambda t: (-t[0], t[1]))]


def catalog_entries(classes) -> list[Entry]:
    """One entry per node class (keyed by type id)."""
    return [Entry(cls.type_id, cls.display_name or cls.__name__, cls.category or "",
                  first_sentence(cls.help.description)) for cls in classes]
