"""The trade words of a shop's name, to put right the ones OCR misread.

A shop's name says what it sells ("... HARDWARE", "... STATIONERY & BOOKS", "... CASH & CARRY",
"99 SPEED MART"), and OCR misreads a letter of those words as of any other ("HARUWARL",
"BOBKS", "CASH & CARY", "SPEED NART") or loses a name's ampersand ("CASH CARRY"). The words
below are the trades of shop names in general (Malaysian and English), not any seller's. A
word alone is put right only where it is no word of the world's ("CARY" and "NART" are words:
only the name around them, "CASH & CARY", says they were misread); a long word may have two
letters misread (``phrases.py``). The rest of a name, the seller's own word, is read as
printed.
"""

from __future__ import annotations

import re

from shared.engines.ocr.rules.phrases import Phrasebook, listed_words

# Names of several words whose parts are common words of their own.
TRADE_NAMES = Phrasebook((
    "CASH & CARRY", "SPEED MART", "MINI MARKET", "SUPER MARKET", "BOOK STORE", "BOOK SHOP",
    "FOOD COURT", "COFFEE SHOP", "GIFT SHOP", "CAR WASH", "DEPARTMENT STORE",
    "CONVENIENCE STORE", "NOODLE HOUSE", "STEAK HOUSE",
))
# Words of one's own: what a shop is, in English and Malay.
TRADE_WORDS = frozenset({
    "BAKERY", "BAKERIES", "BOOKS", "BOOKSTORE", "BOUTIQUE", "CAFE", "CATERING", "CONFECTIONERY",
    "DISTRIBUTOR", "DISTRIBUTORS", "ELECTRICAL", "ELECTRONICS", "ENTERPRISE", "ENTERPRISES",
    "FARMASI", "FURNITURE", "GROCERY", "HARDWARE", "HYPERMARKET", "INDUSTRIES", "KEDAI",
    "KITCHEN", "LAUNDRY", "MACHINERY", "MARKETING", "MINIMARKET", "PASARAYA", "PHARMACY",
    "RESTAURANT", "RESTORAN", "STATIONERY", "STATIONERS", "SUPERMARKET", "SUPPLIES", "TRADING",
    "TAILORING",
})


# A trade name's ampersand lost ("FIVE STAR CASH CARRY"): its two words side by side say it.
AMPERSAND_LOST = tuple(
    (re.compile(rf"\b({first})\s+({second})\b", re.IGNORECASE), r"\1 & \2")
    for first, amp, second in (n for n in TRADE_NAMES.names if len(n) == 3) if amp == "&")


def respell_trades(name: str) -> str:
    """A shop's name with its trade words OCR misread put right."""
    name = TRADE_NAMES.respell(name)
    for lost, kept in AMPERSAND_LOST:
        name = lost.sub(kept, name)
    return listed_words(name, TRADE_WORDS, edits=2)
