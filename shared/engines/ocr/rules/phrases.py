"""Names of several words with one word misread, put right from a list of such names.

OCR misreads a letter of a well-known name as often as of any word ("SHAH ALAN" for SHAH ALAM,
"CASH & CARY" for CASH & CARRY), and the misread is often a word of its own, so no dictionary
sees it. A list of names does: a run of words that reads as one listed name with exactly one
word a letter off (a letter wrong, one too many or too few; two in a word of ``LONG_WORD``
letters), and is itself none of them, is that name. The check is on the whole name, word for
word, so a letter is only put back where the other words already name it ("ALAN" alone is a
name; "SHAH ALAN" a misread). A short word is as often cut short as misread ("PERMAS JAY"): the
word put right has at least ``MIN_LETTERS``. Names a letter apart from each other are all
listed, so none becomes another; a run a letter from two of them stays as read.

``listed_word`` (``listed_words`` over a text) does the same for a word alone, where it is no
word of the world's ("BALAKUNG"). Used for Malaysia's towns and address words in an address
(``places.py``, ``address.py``) and the trade words in a shop's name (``trades.py``).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable

from rapidfuzz.distance import Levenshtein

from shared.engines.ocr.spelling import as_cased, zipf

# The least letters of a word put right (both as read and as listed).
MIN_LETTERS = 4
# A word this long may have two letters misread.
LONG_WORD = 8
# A name's words: letters, or an ampersand ("CASH & CARRY"), which must be read as printed.
WORD_RE = re.compile(r"[^\W\d_]+|&")
# A word of letters long enough to be put right alone.
LONG_WORD_RE = re.compile(rf"\b[^\W\d_]{{{MIN_LETTERS},}}\b")


def misread(read: str, word: str) -> bool:
    """Whether ``read`` is ``word`` misread: a letter wrong, one too many or too few, or two in
    a long word ("PETALINCI")."""
    edits = Levenshtein.distance(read, word)
    return min(len(read), len(word)) >= MIN_LETTERS and (
        edits == 1 or (edits == 2 and len(word) >= LONG_WORD))


def listed_word(word: str, words: frozenset[str], *, edits: int = 1) -> str:
    """The one word of ``words`` (upper case) an unknown word was misread from (``edits``
    letters wrong, read too many or too few; two only in a long word), else the word as read.
    A word of the world's languages (``spelling.zipf``) is left as read: one word alone has
    nothing else to say it was misread."""
    upper = word.upper()
    if upper in words or zipf(word) > 0:
        return word
    found = [w for w in words if Levenshtein.distance(upper, w) <= (
        edits if len(w) >= LONG_WORD else 1)]
    return as_cased(found[0], word) if len(found) == 1 else word


def listed_words(text: str, words: frozenset[str], *, edits: int = 1) -> str:
    """``text`` with each word of it an unknown misread of one of ``words`` put right
    (``listed_word``)."""
    return LONG_WORD_RE.sub(lambda m: listed_word(m.group(), words, edits=edits), text)


class Phrasebook:
    """Names of two or three words, and what puts their misreads right in a text."""

    def __init__(self, names: Iterable[str]) -> None:
        self.names = frozenset(tuple(name.split()) for name in names if " " in name)
        # The names by their words with one left out (``None`` in its place): a window's other
        # words look up the names it may be a misread of, so it is measured against those few
        # and not against every name.
        self._by_rest: dict[tuple[str | None, ...], list[tuple[str, ...]]] = {}
        for name in self.names:
            for j in range(len(name)):
                self._by_rest.setdefault((*name[:j], None, *name[j + 1:]), []).append(name)

    def misread_of(self, words: tuple[str, ...]) -> tuple[str, ...] | None:
        """The one name ``words`` (upper case) read with one word misread, or None."""
        if words in self.names:
            return None
        found = [name for j in range(len(words))
                 for name in self._by_rest.get((*words[:j], None, *words[j + 1:]), ())
                 if misread(words[j], name[j])]
        return found[0] if len(found) == 1 else None

    def respell(self, text: str) -> str:
        """``text`` with the listed names OCR misread put right."""
        spans = list(WORD_RE.finditer(text))
        out: list[str] = []
        done = 0
        i = 0
        while i < len(spans):
            for n in (3, 2):
                window = spans[i:i + n]
                # One name's words, printed with spaces between them.
                if len(window) < n or not all(
                        text[a.end():b.start()].isspace() for a, b in itertools.pairwise(window)):
                    continue
                name = self.misread_of(tuple(m.group().upper() for m in window))
                if name is None:
                    continue
                for match, word in zip(window, name, strict=True):
                    out += [text[done:match.start()], as_cased(word, match.group())]
                    done = match.end()
                i += n
                break
            else:
                i += 1
        return "".join(out) + text[done:]
