"""Malaysia's towns and districts, to put right the names OCR misread in an address.

A Malaysian address ends in its town ("40150 SHAH ALAM", "47500 SUBANG JAYA"), and OCR misreads
a letter of it as often as of any word: "SHAH ALAN", "SETIA ALAN", "BALAKUNG". A town's
name of two or three words read one letter away from exactly one town below, and not itself
one, is that town (``phrases.py``: the check is on whole names, word for word, so a letter is
only put back where the other words already name the place; a short word cut off, "PERMAS JAY",
stays). Towns a letter apart from each other, and a town's two spellings ("SERI",
"SRI"), are all listed ("SUBANG JAYA", "SUBANG JASA"), so none becomes another; a name a
letter from two of them ("SUBANG JACA") stays as read. A town of one
word is one of the address words ``address.py`` puts right when OCR misread them
(``TOWN_WORDS``), where the word is no word of the world's. The list is the country's towns
and the Klang Valley's districts, not the dev set's: a town missing from it is read as
printed.
"""

from __future__ import annotations

from shared.engines.ocr.rules.phrases import Phrasebook

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
# The towns of one word, for ``address.MALAYSIAN_WORDS``.
TOWN_WORDS = frozenset(town for town in TOWNS if " " not in town)
# The towns of several words, for a misread of one of their words.
respell_towns = Phrasebook(TOWNS).respell
