"""Spelling from corrected addresses: one-character OCR misreads undone, everything else kept."""

from __future__ import annotations

from shared.engines.ocr.lexicon import Lexicon
from shared.engines.ocr.vendors import VendorMemory

CORRECTED = [
    {"address": "LOT 3, JALAN PELABUR 23/1, 40300 SHAH ALAM, SELANGOR."},
    {"address": "NO 8, JALAN 7/118B, DESA TUN RAZAK 56000 KUALA LUMPUR"},
    {"address": "NO. 17-G, JALAN SETIA INDAH, 40170 SHAH ALAM, SELANGOR"},
    {"address": "LOT 5, BLK 2, JALAN DANGA, 81300 KUALA LUMPUR"},
]


def _lexicon() -> Lexicon:
    return Lexicon.build(CORRECTED, ["address"])


def test_misread_words_are_spelled_as_reviewers_wrote_them() -> None:
    lexicon = _lexicon()
    assert lexicon.repair("address", "L.OT 9, JALAN MAJU, KUALA L.UMPUR") == \
        "LOT 9, JALAN MAJU, KUALA LUMPUR"  # a dot read inside a word
    assert lexicon.repair("address", "12 JALAU BARU, 40170 SHAH ALAM, SÉLANGOR.") == \
        "12 JALAN BARU, 40170 SHAH ALAM, SELANGOR."  # a like letter, an accent; "." kept


def test_a_dictionary_word_is_respelled_only_into_a_word_reviewers_write_often() -> None:
    # ALAM written twice: "ALAN" is a word of its own (a name) as likely as a misread.
    assert _lexicon().repair("address", "40170 SHAH ALAN") == "40170 SHAH ALAN"
    # Written twenty times ("SHAH ALAM" on every other receipt), it is a misread.
    often = Lexicon.build(CORRECTED * 10, ["address"])
    assert often.repair("address", "40170 SHAH ALAN") == "40170 SHAH ALAM"
    # A street of its own name beside a state reviewers wrote a few times.
    penang = Lexicon.build([{"address": "216, MACALISTER ROAD, 10400 PENANG"}] * 5, ["address"])
    assert penang.repair("address", "NO 21, JALAN PINANG") == "NO 21, JALAN PINANG"
    assert penang.repair("address", "10400 PENANC") == "10400 PENANG"  # no word: a misread


def test_numbers_short_words_new_words_and_ties_are_left_alone() -> None:
    lexicon = _lexicon()
    for text in ("LOT 4, JALAN PELABUR 23/7",  # numbers tell addresses apart
                 "BIK 2, JALAN DANGA",  # BLK written once: too few to go by
                 "TAMAN MELAWATI, KUALA LUMPUR",  # words never corrected stay as read
                 ""):
        assert lexicon.repair("address", text) == text
    # "ALAN" in an address nobody corrected: without an ALAM seen twice, nothing to go by.
    assert Lexicon.build(CORRECTED[:1], ["address"]).repair("address", "SHAH ALAN") == \
        "SHAH ALAN"
    assert lexicon.repair("company", "L.OT") == "L.OT"  # a field without corrections


def test_the_vendor_memory_spells_addresses_of_sellers_it_has_not_seen() -> None:
    labels = [{**a, "company": f"SELLER {i} SDN BHD"} for i, a in enumerate(CORRECTED * 10)]
    memory = VendorMemory.build(labels, {"company": "company", "address": "address"})
    assert memory.spell("address", "9 JALAN MAJU, SHAH ALAN") == "9 JALAN MAJU, SHAH ALAM"
    assert memory.spell("company", "SELLER 9 SDN BHD") == "SELLER 9 SDN BHD"


def test_a_full_stop_read_where_reviewers_write_a_comma_becomes_one() -> None:
    lexicon = _lexicon()  # "LOT 3," "NO 8," "BLK 2,": a number takes a comma
    assert lexicon.repair("address", "NO 9. JALAN BARU 12/3. TAMAN MAJU, SELANGOR.") == \
        "NO 9, JALAN BARU 12/3. TAMAN MAJU, SELANGOR."  # the value's own end is kept
    # "23/1," was corrected once: not enough to go by. But reviewers wrote a comma before
    # three of the four postcodes (five-digit numbers), and no full stop.
    assert lexicon.repair("address", "JALAN BARU 12/3. 40300 SHAH ALAM") == \
        "JALAN BARU 12/3, 40300 SHAH ALAM"
    assert lexicon.repair("address", "JALAN BARU 12/3. 4030 SHAH ALAM") == \
        "JALAN BARU 12/3. 4030 SHAH ALAM"  # no four-digit number was corrected
    # "NO." is how reviewers write it: its full stop stays.
    assert Lexicon.build([{"address": "NO. 5, JALAN A"}] * 3, ["address"]).repair(
        "address", "NO. 7. JALAN B") == "NO. 7, JALAN B"


def test_digits_read_for_letters_and_an_o_read_for_a_zero_are_undone() -> None:
    corrected = [{"address": f"LOT G{n}, AEON MALL, LEVEL 2, JALAN SS{n}/3"} for n in range(12)]
    lexicon = Lexicon.build(corrected, ["address"])
    assert lexicon.repair("address", "10T G3O, AEON MA11, LEVE1 2, JALAN SS5/3, NO1") == \
        "LOT G30, AEON MALL, LEVEL 2, JALAN SS5/3, NO1"
    # Reviewers who write an O beside a digit (a UK postcode "SO14") keep theirs.
    uk = Lexicon.build([*corrected, {"address": "SOUTHAMPTON SO14 3TL"}], ["address"])
    assert uk.repair("address", "G3O SO15") == "G3O SO15"


def test_a_full_stop_that_is_the_words_own_stays_before_a_number() -> None:
    lexicon = Lexicon.build([*CORRECTED, {"address": "NO. 12, JALAN A, 40300 SHAH ALAM"},
                             {"address": "NO. 7, JALAN B, 40300 SHAH ALAM"}], ["address"])
    assert lexicon.repair("address", "LOT P.T. 33198, JALAN KAPAR. 42100 KLANG") == \
        "LOT P.T. 33198, JALAN KAPAR, 42100 KLANG"
    assert lexicon.repair("address", "NO. 12345 JALAN C") == "NO. 12345 JALAN C"


def test_a_number_glued_to_the_town_by_a_full_stop_is_parted_as_reviewers_write_it() -> None:
    lexicon = _lexicon()  # "40300 SHAH", "56000 KUALA", "81300 KUALA": a space after postcodes
    assert lexicon.repair("address", "JALAN BARU, 81750.JOHOR BAHRU") == \
        "JALAN BARU, 81750 JOHOR BAHRU"
    assert lexicon.repair("address", "LOT 12.JALAN BARU") == "LOT 12.JALAN BARU"  # not learned


def test_an_i_read_for_an_l_is_undone_in_short_words_too() -> None:
    lexicon = Lexicon.build(CORRECTED * 2, ["address"])
    assert lexicon.repair("address", "BIK 2, JAIAN DANGA") == "BLK 2, JALAN DANGA"
    assert lexicon.repair("address", "BIT 2") == "BIT 2"  # no word reviewers wrote


def test_words_glued_after_a_comma_are_spelled_and_stay_glued() -> None:
    lexicon = Lexicon.build(CORRECTED * 2, ["address"])
    assert lexicon.repair("address", "LOT 5,BIK 2,JAIAN DANGA") == "LOT 5,BLK 2,JALAN DANGA"


def test_accents_are_dropped_only_where_reviewers_never_write_them() -> None:
    read = "12 TAMAN MÉLAWATI, 40170 SETIA ÁLAM"
    plain = Lexicon.build(CORRECTED * 5, ["address"])  # 20 values, none accented
    assert plain.repair("address", read) == "12 TAMAN MELAWATI, 40170 SETIA ALAM"
    assert Lexicon.build(CORRECTED, ["address"]).repair("address", read) == (
        "12 TAMAN MÉLAWATI, 40170 SETIA ALAM")  # 4 values: too few to go by ("ALAM" by spelling)
    accented = Lexicon.build(CORRECTED * 5 + [{"address": "1 RUE DU CAFÉ, PARIS"}], ["address"])
    assert accented.repair("address", read) == "12 TAMAN MÉLAWATI, 40170 SETIA ALAM"


def test_a_speck_read_before_a_word_goes_but_marks_reviewers_write_stay() -> None:
    lexicon = Lexicon.build(CORRECTED * 5 + [{"address": "MENARA DION #02-03, JALAN (X) 1"}],
                            ["address"])
    assert lexicon.repair("address", "TAMAN DESA \"TEBRAU, 'SELANGOR") == (
        "TAMAN DESA TEBRAU, SELANGOR")
    # "#" is no speck; "(" is written before words by reviewers.
    assert lexicon.repair("address", "MENARA DION #02-03, JALAN (X) 1") == (
        "MENARA DION #02-03, JALAN (X) 1")
    # Too few values to know what reviewers never write: left alone.
    assert _lexicon().repair("address", "'SELANGOR") == "'SELANGOR"
