"""Malaysia's towns and districts, to put right the names OCR misread in an address.

A Malaysian address ends in its town ("40150 SHAH ALAM", "47500 SUBANG JAYA"), and OCR misreads
a letter of it as often as of any word: "SHAH ALAN", "SETIA ALAN", "BALAKUNG". A town's
name of two or three words read one letter away from exactly one town below, and not itself
one, is that town: the check is on whole names, word for word, so a letter is only put back
where the other words already name the place ("ALAN" alone is a name, "SHAH ALAN" a misread).
A short word is as often cut short as misread ("PERMAS JAY"): the word put right has at least
``MIN_LETTERS``. Towns a letter apart from each other, and a town's two spellings ("SERI",
"SRI"), are all listed ("SUBANG JAYA", "SUBANG JASA"), so none becomes another; a name a
letter from two of them ("SUBANG JACA") stays as read. A town of one
word is one of the address words ``address.py`` puts right when OCR misread them
(``TOWN_WORDS``), where the word is no word of the world's. The list is the country's towns
and the Klang Valley's districts, not the dev set's: a town missing from it is read as
printed.
"""

from __future__ import annotations

import itertools
import re
from functools import cache

from rapidfuzz.distance import Levenshtein

from shared.engines.ocr.spelling import as_cased

TOWNS = (
    # Kuala Lumpur and Selangor (the Klang Valley).
    "AMPANG", "ARA DAMANSARA", "BALAKONG", "BANDAR BARU BANGI", "BANDAR BOTANIC", "BANDAR SUNWAY",
    "BANDAR UTAMA", "BANGI", "BANGSAR", "BANTING", "BATANG BERJUNTAI", "BATANG KALI", "BATU CAVES",
    "BUKIT BINTANG", "BUKIT JALIL", "BUKIT JELUTONG", "BUKIT RAJA", "CHERAS", "CYBERJAYA",
    "DAMANSARA", "DAMANSARA JAYA", "DAMANSARA UTAMA", "DENGKIL", "GOMBAK", "HULU LANGAT",
    "HULU SELANGOR", "JINJANG", "KAJANG", "KAPAR", "KEPONG", "KINRARA", "KLANG", "KOTA DAMANSARA",
    "KOTA KEMUNING", "KUALA SELANGOR", "KUANG", "MELAWATI", "MENJALARA", "MONT KIARA",
    "MUTIARA DAMANSARA", "NILAI", "PETALING JAYA", "PORT KLANG", "PUCHONG", "PULAU KETAM",
    "RAWANG", "SAUJANA UTAMA", "SEGAMBUT", "SELAYANG", "SEMENYIH", "SENTUL", "SEPANG", "SERDANG",
    "SERI KEMBANGAN", "SERI PETALING", "SETAPAK", "SETIA ALAM", "SHAH ALAM", "SRI KEMBANGAN",
    "SRI PETALING", "SUBANG", "SUBANG JASA", "SUBANG JAYA", "SUNGAI BESI", "SUNGAI BULOH",
    "SUNWAY", "TAMAN DESA", "TELUK PANGLIMA GARANG", "WANGSA MAJU",
    # Johor.
    "BATU PAHAT", "JOHOR BAHRU", "KLUANG", "KOTA TINGGI", "KULAI", "MASAI", "MUAR", "PASIR GUDANG",
    "PERMAS JAYA", "PLENTONG", "PONTIAN", "SEGAMAT", "SKUDAI", "TEBRAU",
    # The other states.
    "ALOR SETAR", "BAYAN LEPAS", "BUTTERWORTH", "GEORGE TOWN", "IPOH", "KANGAR", "KOTA BHARU",
    "KOTA KINABALU", "KUALA TERENGGANU", "KUANTAN", "KUCHING", "MIRI", "PORT DICKSON", "SANDAKAN",
    "SEREMBAN", "SIBU", "SUNGAI PETANI", "TAIPING", "TAWAU",
)
# The least letters of a word put right (both as read and as the town's).
MIN_LETTERS = 4
# A word this long may have two letters misread.
LONG_WORD = 8
# The towns of one word, for ``address.MALAYSIAN_WORDS``.
TOWN_WORDS = frozenset(town for town in TOWNS if " " not in town)
# A word of letters, as the towns' names are made of.
WORD_RE = re.compile(r"[^\W\d_]+")


@cache
def _towns() -> frozenset[tuple[str, ...]]:
    return frozenset(tuple(town.split()) for town in TOWNS if " " in town)


@cache
def _by_rest() -> dict[tuple[str | None, ...], list[tuple[str, ...]]]:
    """The towns of several words by their words with one left out (``None`` in its place):
    a window's other words look up the towns it may be a misread of, so a window is measured
    against those few and not against every town."""
    index: dict[tuple[str | None, ...], list[tuple[str, ...]]] = {}
    for town in _towns():
        for j in range(len(town)):
            index.setdefault((*town[:j], None, *town[j + 1:]), []).append(town)
    return index


def _misread(read: str, word: str) -> bool:
    """Whether ``read`` is ``word`` misread: a letter wrong, one too many or too few, or two in
    a long word ("PETALINCI")."""
    edits = Levenshtein.distance(read, word)
    return min(len(read), len(word)) >= MIN_LETTERS and (
        edits == 1 or (edits == 2 and len(word) >= LONG_WORD))


def _misread_of(words: tuple[str, ...]) -> tuple[str, ...] | None:
    """The one town whose name ``words`` (upper case) read with one word misread, or None."""
    if words in _towns():
        return None
    found = [town for j in range(len(words))
             for town in _by_rest().get((*words[:j], None, *words[j + 1:]), ())
             if _misread(words[j], town[j])]
    return found[0] if len(found) == 1 else None


def respell_towns(text: str) -> str:
    """``text`` (a Malaysian address) with the towns' names OCR misread put right."""
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
            town = _misread_of(tuple(m.group().upper() for m in window))
            if town is None:
                continue
            for match, word in zip(window, town, strict=True):
                out += [text[done:match.start()], as_cased(word, match.group())]
                done = match.end()
            i += n
            break
        else:
            i += 1
    return "".join(out) + text[done:]
