"""Look-alike digits in OCR's words read as letters where that makes a common word, accents
OCR made up dropped, a long word's misread letter put right; numbers, codes, postcodes, names
and real accents left as read."""

from __future__ import annotations

from PIL import Image

from shared.documents import Page
from shared.documents.lines import TextLine
from shared.engines.ocr.engine import read_page
from shared.engines.ocr.reader import shared_reader
from shared.engines.ocr.spelling import respell, respell_lines


def test_look_alike_digits_in_words_become_letters_in_the_words_case() -> None:
    assert respell("91-95 CLERKENWE11 RD LONDON, EC1R 5BX") == \
        "91-95 CLERKENWELL RD LONDON, EC1R 5BX"  # the postcode keeps its digits
    assert respell("Dal1as, TX 75225") == "Dallas, TX 75225"
    assert respell("CL0SED") == "CLOSED"
    assert respell("Lew1s Ave") == "Lewis Ave"  # a 1 is an I where that makes the word
    assert respell("SHOP 121,LEVE1 1") == "SHOP 121,LEVEL 1"
    assert respell("Tota1 10.00") == "Total 10.00"
    assert respell("29 0LD BURLINGTON STREET") == "29 OLD BURLINGTON STREET"  # a zero, two letters


def test_numbers_codes_and_short_words_stay_as_read() -> None:
    for text in ("TAX1 8.25%",  # a common word, then a number: a tax band
                 "POS1 Guest5",  # a till, a count
                 "SE1 9RY", "B03 70", "E1", "L4H 0A2",  # postcodes, units: too few letters
                 "10.00 x 2", "0151 4866406",  # numbers
                 "A1B0C1D",  # a code of letters and digits, not a word
                 "XQ1Z",  # no word reads from it
                 ""):
        assert respell(text) == text


def test_accents_ocr_put_on_letters_are_dropped_where_the_word_has_none() -> None:
    assert respell("40170 SETIA ÁLAM") == "40170 SETIA ALAM"
    assert respell("JÁLAN MERANTI, 47800 SÉLANGOR") == "JALAN MERANTI, 47800 SELANGOR"
    assert respell("Totäl 10.00") == "Total 10.00"


def test_words_written_with_accents_keep_them() -> None:
    for text in ("Média Markt", "ÉPICERIE", "Straße", "Gâteau", "JAĪAN"):  # the last: no word
        assert respell(text) == text


def test_a_misread_letter_in_a_long_word_is_put_right() -> None:
    assert respell("AIK HUAT HARDWAKE ENTERPRISE") == "AIK HUAT HARDWARE ENTERPRISE"
    assert respell("BUARDIAN HEALTH AND BEAUTY") == "GUARDIAN HEALTH AND BEAUTY"
    assert respell("VERBENA CONFECTIUNERY SDN BHD") == "VERBENA CONFECTIONERY SDN BHD"
    assert respell("Noodbridge, VA 22192") == "Woodbridge, VA 22192"


def test_names_and_places_near_a_word_stay_as_read() -> None:
    for text in ("ADVANCO COMPANY",  # too short to tell from a name: "ADVANCE"
                 "GURNEE, ILLINOIS",  # "GURNEY"
                 "16200 PALEKBANG, KELANTAN",  # "PALEMBANG" is a place, not an English word
                 "TEMENSGUNG",  # no English word one letter away
                 "BECON STATIONER",  # a rare English word is a word ("STATIONED")
                 "SPECIALITEITEN"):  # a Dutch word: known
        assert respell(text) == text


def test_an_m_read_as_rn_is_put_back() -> None:
    assert respell("JALAN UTARNA, Itern") == "JALAN UTAMA, Item"
    # A known word keeps its "rn"; a short abbreviation is no word with an M.
    assert respell("CORNER DRNK ORNG KERN") == "CORNER DRNK ORNG KERN"


def test_a_speck_read_inside_a_word_is_dropped_or_read_as_its_letter() -> None:
    assert respell("NO.12,JA:AN SS4C/5") == "NO.12,JALAN SS4C/5"
    assert respell("SE_ANGOR DARUL EHSAN") == "SELANGOR DARUL EHSAN"
    assert respell("AIK_HUAT HARDWARE") == "AIK HUAT HARDWARE"  # no letter makes a word
    assert respell("IVAN_KONG12@HOTMAIL.COM") == "IVAN_KONG12@HOTMAIL.COM"  # an address
    assert respell("L.ot 3, Jalan Pelabur") == "Lot 3, Jalan Pelabur"
    assert respell("KUALA L.UMPUR.") == "KUALA LUMPUR."


def test_marks_of_abbreviations_and_codes_stay() -> None:
    for text in ("P.IVA 01234", "S.Tax 6%", "T.No 12", "S:GST 0.60", "CIF:A28017895",
                 "P.T. 2811", "D.E.", "U.S.A", "NO.53", "MR.D.I.Y."):
        assert respell(text) == text


def test_respelling_twice_changes_nothing() -> None:
    once = respell("DAL1AS CL0SED Tota1")
    assert respell(once) == once


def test_only_changed_lines_are_new_and_boxes_stay() -> None:
    lines = [TextLine("Dal1as", (0, 0, 10, 10), 0.9), TextLine("TOTAL 5.00", (0, 20, 10, 30), 0.8)]
    out = respell_lines(lines)
    assert out[0] == TextLine("Dallas", (0, 0, 10, 10), 0.9)
    assert out[1] is lines[1]


def test_a_pdf_text_layer_is_exact_and_not_respelled() -> None:
    exact = (TextLine("PROMO CODE W1LD", (0, 0, 100, 10), 1.0),)
    page = Page(1, Image.new("RGB", (100, 100), "white"), lines=exact)
    assert read_page(shared_reader(1), page).lines == list(exact)
