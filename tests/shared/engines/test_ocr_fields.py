"""The CPU engine's field rules on hand-written OCR lines (no OCR, no cache needed)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from shared.documents.lines import TextLine
from shared.documents.rows import group_rows
from shared.engines.base import FieldValue
from shared.engines.ocr.fields import extract_fields
from shared.engines.ocr.rules.date import has_date
from shared.engines.ocr.rules.sums import arithmetic_totals, reproduces
from shared.fields import FIELD_SETS, SROIE_FIELDS, FieldSpec

ROW_HEIGHT = 20.0


def line(text: str, row: int, x0: float = 50.0, width: float | None = None) -> TextLine:
    """One OCR box on printed row ``row`` (rows are ROW_HEIGHT + 4 px apart)."""
    y0 = 10.0 + row * (ROW_HEIGHT + 4)
    x1 = x0 + (width if width is not None else 9.0 * len(text))
    return TextLine(text=text, box=(x0, y0, x1, y0 + ROW_HEIGHT), score=0.98)


def tall(text: str, y0: float, height: float, x0: float = 50.0) -> TextLine:
    """One OCR box of its own height, ``y0`` px from the top."""
    return TextLine(text=text, box=(x0, y0, x0 + 9.0 * len(text), y0 + height), score=0.98)


RECEIPT = [
    line("tan woon yann", 0),
    line("BOOK TA .K (TAMAN DAYA) SDN BHD", 1),
    line("789417-W", 2),
    line("NO.53 55,57 & 59, JALAN SAGU 18,", 3),
    line("TAMAN DAYA,", 4),
    line("81100 JOHOR BAHRU", 5),
    line("JOHOR.", 6),
    line("TEL: 07-3345678", 7),
    line("Date:", 9),
    line("25/12/2018 8:13:39 PM", 9, x0=160),
    line("KF MODELLING CLAY KIDDY FISH", 11),
    line("9.00", 11, x0=400),
    line("Total :", 12, x0=240),
    line("9.00", 12, x0=400),
    line("Rounded Total (RM):", 13, x0=80),
    line("9.00", 13, x0=400),
    line("Cash", 14, x0=200),
    line("10.00", 14, x0=400),
    line("CHANGE", 15, x0=200),
    line("1.00", 15, x0=400),
]


def values(lines: list[TextLine]) -> dict[str, str]:
    return {name: fv.value for name, fv in extract_fields(lines, SROIE_FIELDS).items()}


def test_full_receipt_fields() -> None:
    result = extract_fields(RECEIPT, SROIE_FIELDS)
    assert result["company"].value == "BOOK TA .K (TAMAN DAYA) SDN BHD"
    assert result["date"].value == "25/12/2018"
    assert result["total"].value == "9.00"
    for fv in result.values():
        assert 0.0 < fv.confidence <= 1.0
        assert fv.box is not None


def test_address_joined_up_to_postcode_and_state_row() -> None:
    result = extract_fields(RECEIPT, SROIE_FIELDS)["address"]
    assert result.value == "NO.53 55,57 & 59, JALAN SAGU 18, TAMAN DAYA, 81100 JOHOR BAHRU JOHOR."
    # The box is the union of the address rows' boxes: from row 3 to row 6.
    first, last = RECEIPT[3], RECEIPT[6]
    assert result.box is not None
    assert result.box[1] == first.y0
    assert result.box[3] == last.y1
    assert result.box[2] == max(ln.x1 for ln in RECEIPT[3:7])


def test_address_skips_registration_and_stops_at_contact_rows() -> None:
    lines = [
        line("SOON HUAT MACHINERY ENTERPRISE", 0),
        line("(JM0352019-K)", 1),
        line("NO.53 JALAN PUTRA 1,", 2),
        line("81200 JOHOR BAHRU TEL: 07-5547360", 3),
        line("GST ID: 002116837376", 4),
    ]
    got = values(lines)
    assert got["company"] == "SOON HUAT MACHINERY ENTERPRISE"
    assert got["address"] == "NO.53 JALAN PUTRA 1, 81200 JOHOR BAHRU"


@pytest.mark.parametrize("tel", ["Te1 No.: 07-387 3322", "Tei:03-7887 2622"])
def test_a_phone_label_misread_still_ends_the_address(tel: str) -> None:
    lines = [
        line("SOON HUAT MACHINERY ENTERPRISE", 0),
        line("NO.53 JALAN PUTRA 1,", 1),
        line(f"81200 JOHOR BAHRU {tel}", 2),
        line(tel, 3),
    ]
    assert values(lines)["address"] == "NO.53 JALAN PUTRA 1, 81200 JOHOR BAHRU"


@pytest.mark.parametrize(("texts", "address"), [
    # Five digits after "PT" are a lot number: the postcode is on the row below.
    (["PROSPERNIAGA", "LOT PT1138,PT 33122,", "BANDAR MAHKOTA CHERAS", "43200 CHERAS, SELANGOR",
      "Site : 2365"],
     "LOT PT1138,PT 33122, BANDAR MAHKOTA CHERAS 43200 CHERAS, SELANGOR"),
    # A two-letter town is still a town; an invoice number is no postcode.
    # A number in brackets is a code.
    (["TONYMOLY VIVA CITY", "(TONYMOLY SHOP (95874))", "UNIT L1-044B, VIVACITY MEGAMALL,",
      "93350 KUCHING, SARAWAK."], "UNIT L1-044B, VIVACITY MEGAMALL, 93350 KUCHING, SARAWAK."),
    (["RESTAURANT JIAWEI", "13, JLN TASIK UTAMA 8", "MEDAN NIAGA DAMAI SG BESI", "57000 KL",
      "INVOICE", "Invoice:13834 Cashier:admin"],
     "13, JLN TASIK UTAMA 8 MEDAN NIAGA DAMAI SG BESI 57000 KL"),
])
def test_the_postcode_row_is_the_town_s(texts: list[str], address: str) -> None:
    assert values([line(text, i) for i, text in enumerate(texts)])["address"] == address


@pytest.mark.parametrize(("texts", "address"), [
    # The shop's phone under its town closes the address: five digits below are a server's.
    (["BOBS STEAK & CHOP HOUSE", "DALLAS, TX", "(214) 652-4800", "20008 Paul H", "TBL 62/1"],
     "DALLAS, TX"),
    (["MASTORIS DINER", "144 ROUTE 130 BORDENTOWN,NJ", "#(609)-298-4650", "276 ANGELA POWELL"],
     "144 ROUTE 130 BORDENTOWN,NJ"),
    # A ticket's number, the items' column heads.
    (["LA SOLANA RIBADEO S.L.", "ANTONIO OTERO 41 - 2700O RIBADEO", "B27280494",
      "TIQUET:T002/13840", "CAMARERO:ITO FECHA:02/08/2013"], "ANTONIO OTERO 41 - 27000 RIBADEO"),
    (["Maple Leaf Restaurant", "Lakes Towers", "QuantityFood Price Total",
      "Smoked Burger 26.00"], "LAKES TOWERS"),
])
def test_where_a_header_s_address_ends_abroad(texts: list[str], address: str) -> None:
    assert values([line(text, i) for i, text in enumerate(texts)])["address"] == address


def test_five_digits_on_the_first_row_are_the_store_s_number() -> None:
    texts = ["ARCO AMPM 42259", "18972 BEACH BLVD", "HUNTINGTON BEACH CA", "714-593-8516",
             "ARC042259001", "Description Qty Amount"]
    got = values([line(text, i) for i, text in enumerate(texts)])
    assert got["company"] == "ARCO AMPM 42259"
    assert got["address"] == "18972 BEACH BLVD HUNTINGTON BEACH CA"


def test_mobile_in_a_name_is_the_name_a_mobile_s_number_ends_the_address() -> None:
    texts = ["China Mobile Hong Kong Co. Ltd.", "Invoice and Receipt No.: 4439245",
             "Payment Time: 01:40:35 PM"]
    assert values([line(text, i) for i, text in enumerate(texts)])["company"] == \
        "CHINA MOBILE HONG KONG CO. LTD."
    texts = ["KEDAI MAJU", "NO 5, JALAN SAGU", "Mobile: 012-345 6789", "CASH"]
    assert values([line(text, i) for i, text in enumerate(texts)])["address"] == \
        "NO 5, JALAN SAGU"


def test_a_us_territory_closes_a_town_as_a_state_does() -> None:
    lines = [tall("ROSS", 10, 60), tall("DRESS FOR LESS", 74, 20), tall("TAMUNING, GU", 98, 20),
             tall("Phone: 671-647-7677", 122, 20)]
    assert values(lines)["address"] == "TAMUNING, GU"  # the slogan above is not the address


def test_a_branch_phone_above_the_head_office_s_address_does_not_end_it() -> None:
    texts = ["HAI-O RAYA BHD (169199-V)", "KEPONG OUTLET", "TEL / FAX : 03-62636977",
             "HQ ADD: LOT 11995, BATU 2, JALAN KAPAR", "41400 KLANG, SELANGOR"]
    assert values([line(text, i) for i, text in enumerate(texts)])["address"].endswith(
        "LOT 11995, BATU 2, JALAN KAPAR 41400 KLANG, SELANGOR")


@pytest.mark.parametrize("after", ["PREPAY CHIT NUMBER", "ESJAY FUEL ENTERPRISE"])
def test_nothing_but_the_country_follows_the_state(after: str) -> None:
    texts = ["BHPETROL", "LOT 1626, MUKIM KAMPUNG LAUT", "TUMPAT", "16200 PALEKBANG,", "KELANTAN",
             after, "MALAYSIA"]
    got = values([line(text, i) for i, text in enumerate(texts)])["address"]
    assert got == "LOT 1626, MUKIM KAMPUNG LAUT TUMPAT 16200 PALEKBANG, KELANTAN"


@pytest.mark.parametrize(("texts", "address"), [
    # The rest of the state's name follows it; a branch's name after the country does not.
    (["LIAN HING STATIONERY SDN BHD", "NO.32 & 33, JALAN SR 1/9,", "43300 SERI KEMBANGAN, SELANGOR",
      "DARUL EHSAN", "GSTID:002139201536"],
     "NO.32 & 33, JALAN SR 1/9, 43300 SERI KEMBANGAN, SELANGOR DARUL EHSAN"),
    (["POPULAR BOOK CO. (M) SDN BHD", "No 8, Jalan 7/118B, Desa Tun Razak",
      "56000 Kuala Lumpur, Malaysia", "SUNWAY VELOCITY", "Tel : 03-9201 6281"],
     "NO 8, JALAN 7/118B, DESA TUN RAZAK 56000 KUALA LUMPUR, MALAYSIA"),
    # A town and a state of five words still follow the postcode.
    (["ENW HARDWARE CENTRE (M) SDN. BHD.", "NO: G3, BLK G, JLN PJU 1A/3,", "ARA DAMANSARA,47301",
      "PETALING JAYA, SELANGOR DARUL EHSAN.", "TEL: 03-7832 6929"],
     "NO: G3, BLK G, JLN PJU 1A/3, ARA DAMANSARA,47301 PETALING JAYA, SELANGOR DARUL EHSAN."),
    # A chain's branch code and place under the state ends the address; a phone number or a
    # branch's name without its code does not.
    (["99 SPEED MART S/B (519537-X)", "LOT P.T. 2811, JALAN ANGSA,", "TAMAN BERKELEY",
      "41150 KLANG, SELANGOR", "1214-JINJANG UTARA", "GST ID. NO : 000181747712"],
     "LOT P.T. 2811, JALAN ANGSA, TAMAN BERKELEY 41150 KLANG, SELANGOR 1214-JINJANG UTARA"),
    (["99 SPEED MART S/B (519537-X)", "LOT P.T. 2811, JALAN ANGSA,", "41150 KLANG, SELANGOR",
      "03-7832 6929", "INVOICE NO : 18224"],
     "LOT P.T. 2811, JALAN ANGSA, 41150 KLANG, SELANGOR"),
    # The postal district printed again on its own row.
    (["GH DISTRIBUTOR & MARKETING SDN BHD", "(1097826-H)", "216, MACALISTER ROAD, 10400 PENANG.",
      "10400 PENANG.", "TEL: 04-227 2222"], "216, MACALISTER ROAD, 10400 PENANG, 10400 PENANG."),
    # The street row right above the postcode row is the address's, where the name above it
    # was not read.
    (["K3-113, JL IBRAHIM SULTAN", "80300 JOHOR BAHRU", "JOHOR", "H/P:019-7521215"],
     "K3-113, JL IBRAHIM SULTAN 80300 JOHOR BAHRU JOHOR"),
    # The same in the print's own case.
    (["GH DISTRIBUTOR & MARKETING SDN BHD", "(1097826-H)", "216, Macalister Road, 10400 Penang.",
      "10400 Penang.", "Tel:04-227 2222"], "216, MACALISTER ROAD, 10400 PENANG, 10400 PENANG."),
    # A street number alone on its row starts the address.
    (["PAPPARICH BMC", "NO.19 & 21", "JALAN TEMENGGUNG 23/9", "BANDAR MAHKOTA CHERAS",
      "43200 SELANGOR DARUL EHSAN, MALAYSIA", "TAX INVOICE"],
     "NO.19 & 21 JALAN TEMENGGUNG 23/9 BANDAR MAHKOTA CHERAS 43200 SELANGOR DARUL EHSAN, MALAYSIA"),
])
def test_where_an_address_ends_after_its_postcode(texts: list[str], address: str) -> None:
    assert values([line(text, i) for i, text in enumerate(texts)])["address"].upper() == address


def test_a_greeting_names_the_shop_where_no_row_above_does() -> None:
    lines = [line("Welcome to Chick-fil-A", 0), line("Mt. Pleasant (#00854)", 1),
             line("(843) 881-6811", 2), line("7/9/2010 7:20:58 PM", 3)]
    assert values(lines)["company"] == "CHICK-FIL-A"
    # A name printed above the greeting is the name.
    lines = [line("SAFEWAY", 0), *(replace(ln, box=(ln.x0, ln.y0 + 30, ln.x1, ln.y1 + 30))
                                   for ln in lines)]
    assert values(lines)["company"] == "SAFEWAY"


def test_a_tax_id_between_the_name_and_an_address_without_postcode_is_skipped() -> None:
    texts = ["Ottogo Enterprise", "GSTID:001018802176", "SHELL STATION PT15944,", "Mukim Batu,",
             "Jln Besar Kepong", "Invoice No: 1"]
    got = values([line(text, i) for i, text in enumerate(texts)])["address"]
    assert got.upper() == "SHELL STATION PT15944, MUKIM BATU, JLN BESAR KEPONG"


def test_an_address_may_start_with_a_unit_number() -> None:
    texts = ["DOMINO'S PIZZA", "SEGAMBUT", "D-08, M AVENUE", "JLN 1 / 38A SEGAMBUT BAHAGIA",
             "51200 KUALA LUMPUR"]
    got = values([line(text, i) for i, text in enumerate(texts)])["address"]
    assert got == "D-08, M AVENUE JLN 1 / 38A SEGAMBUT BAHAGIA 51200 KUALA LUMPUR"


@pytest.mark.parametrize(("texts", "address"), [
    # An O read for a zero in a street number or a unit, a speck read as a quote before a word.
    (["RESTORAN WAN SHENG", "NO 29O, JALAN AIR PANAS,", "SETAPAK, 53200, KUALA LUMPUR."],
     "NO 290, JALAN AIR PANAS, SETAPAK, 53200, KUALA LUMPUR."),
    (["GARDENIA BAKERIES (KL) SDN BHD", "LOT 3, JALAN PELABUR 23/1,",
      "40300 SHAH ALAM,'SELANGOR."], "LOT 3, JALAN PELABUR 23/1, 40300 SHAH ALAM,SELANGOR."),
    # A Malaysian address's own words, a letter misread, read too many or too few; a name
    # printed near one stays.
    (["GARDENIA BAKERIES (KL) SDN BHD", "LOT 3, JALAU PELABUR 23/1, GROUND FLEOR,",
      "40150 SHAH ALAM, SELANGOR DIARUL EHSAN."],
     "LOT 3, JALAN PELABUR 23/1, GROUND FLOOR, 40150 SHAH ALAM, SELANGOR DARUL EHSAN."),
    (["99 SPEED MART S/B", "LOT 9, JALAN TAMAR, TANAN BERKELEY", "41150 KLANG, SELANGOR"],
     "LOT 9, JALAN TAMAR, TAMAN BERKELEY 41150 KLANG, SELANGOR"),
    # The street abbreviations misread: an L read as I, an M as NN.
    (["TEALIVE", "NO: G3, Bik G, Jin PJU 1A/3, TNN SIERRA,", "47301 PETALING JAYA, SELANGOR"],
     "NO: G3, BLK G, JLN PJU 1A/3, TMN SIERRA, 47301 PETALING JAYA, SELANGOR"),
    (["MEI LET RESTAURANT", "ND 2, JALAN BULAN BM U5/BM, SEKSYEN U5,", "40150 SHAH ALAM, SELANGOR"],
     "NO 2, JALAN BULAN BM U5/BM, SEKSYEN U5, 40150 SHAH ALAM, SELANGOR"),
    # A town's name with a letter misread, where its other words name it; the lot's word.
    (["AIK HUAT HARDWARE", "LUI 17-G, JALAN SETIA INDAH, SETIA ALAN,", "40170 SHAH ALAN,"],
     "LOT 17-G, JALAN SETIA INDAH, SETIA ALAM, 40170 SHAH ALAM,"),
    (["BOOK TA.K SDN BHD", "LOP P.T. 2811, KAWASAN PERINDUSTRIAN BALAKUNG,",
      "43300 SRI KEMBANGAN"],
     "LOT P.T. 2811, KAWASAN PERINDUSTRIAN BALAKONG, 43300 SRI KEMBANGAN"),
    (["KEDAI BARU", "44 JALAN SS21/58", "47400 PETALINCI JAYA"],
     "44 JALAN SS21/58 47400 PETALING JAYA"),
    # A town a letter from another is read as printed, as is a word cut short, a unit's code
    # and a name a letter from a town's word.
    (["SEGI CASH & CARRY SDN BHD", "LG226, JALAN SUBANG JASA 3,", "47500 SUBANG JAY"],
     "LG226, JALAN SUBANG JASA 3, 47500 SUBANG JAY"),
    (["ALAN'S DINER SDN BHD", "12, JALAN ALAN,", "40150 SHAH ALAM"],
     "12, JALAN ALAN, 40150 SHAH ALAM"),
    # A letter from two towns ("SUBANG JAYA", "SUBANG JASA"): which one is not known.
    (["SEGI CASH & CARRY SDN BHD", "B-8, JALAN SS15/4D,", "47500 SUBANG JACA, SELANGOR"],
     "B-8, JALAN SS15/4D, 47500 SUBANG JACA, SELANGOR"),
    # A word's O and an address's own quotes stay.
    (["JOE'S DINER", "1O1 'THE STRAND' O2", "LONDON WC2R 0ET"],
     "101 'THE STRAND' O2 LONDON WC2R 0ET"),
])
def test_an_address_is_read_as_printed_where_ocr_misread_it(texts: list[str],
                                                             address: str) -> None:
    assert values([line(text, i) for i, text in enumerate(texts)])["address"] == address


def test_total_in_separate_box_on_same_row_prefers_rounded_total() -> None:
    lines = [
        line("SUB TOTAL", 0),
        line("30.91", 0, x0=400),
        line("Total Qty", 1),
        line("5", 1, x0=400),
        line("TOTAL", 2),
        line("RM 30.91", 2, x0=400),
        line("TOTAL ROUNDED", 3),
        line("RM 30.90", 3, x0=400),
        line("CASH", 4),
        line("RM 50.00", 4, x0=400),
    ]
    total = extract_fields(lines, SROIE_FIELDS)["total"]
    assert total.value == "30.90"
    assert total.box == lines[7].box


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Date: 25/12/2018 8:13:39 PM", "25/12/2018"),
        ("DATE 18-11-18 12:01", "18-11-18"),
        ("Tarikh: 05.01.2018", "05.01.2018"),
        ("30 DEC 17 14:02", "30 DEC 17"),
        ("Date: 2018-01-05 10:11", "2018-01-05"),
        ("Printed 12-Mar-2018 18:22", "12-MAR-2018"),  # month names are returned upper case
        # As receipts from other countries print them (wild-dev):
        ("08Feb'15 7:53PM", "08FEB'15"),
        ("DEC23'14 11:02", "DEC23'14"),
        ("Sep 1, 2017 3:05:24 PM", "SEP 1, 2017"),
        ("Jul/15/2017", "JUL/15/2017"),
        ("Thu Aug 09, 2012", "AUG 09, 2012"),
        ("Jeu 18 Décembre 2014", "18 DÉCEMBRE 2014"),
        ("14:07 02-Jan-2018", "02-JAN-2018"),
        ("21.09.15 17:03", "21.09.15"),
        # What phone photos add to a printed date:
        ("DATE:-27-02-2014", "27-02-2014"),
        ("02,/22/2014", "02/22/2014"),
        ("Date: 07-03-2O18 Time: 6:04PM", "07-03-2018"),
        ("1/22/2016159 PM", "1/22/2016"),
        ("Ju119'14 12:36PM", "JUL19'14"),
        (":26-05--201815:16:13", "26-05-2018"),  # a dash read twice, the time glued on
        ("16-04-20181", "16-04-2018"),  # a speck read onto the year
        ("270ec16 17:58", "27DEC'16"),  # the D of "Dec" read as a zero
        ("8108k 4408/07/2017 14:41:44", "08/07/2017"),  # a till's number glued before it
        # The apostrophe of a year OCR did not read, put back where the date is one piece:
        ("29Jan15 20:34", "29JAN'15"),
        ("May0814 12:42PM", "MAY08'14"),
        ("24 MAR18", "24 MAR18"),  # with spaces, the year is as read
        ("16AUG2015", "16AUG2015"),  # a four-digit year
        # The slashes OCR dropped from a date, put back; a year first is left as printed:
        ("27032018", "27/03/2018"),
        ("14MAY/2017", "14/MAY/2017"),
        ("20180428", "20180428"),
    ],
)
def test_date_formats(text: str, expected: str) -> None:
    assert values([line(text, 0)])["date"] == expected


def test_date_prefers_labelled_date_over_other_dates() -> None:
    lines = [
        line("Valid until 31/12/2019", 0),
        line("Receipt 1234", 1),
        line("Date:", 2),
        line("02/03/2018", 2, x0=200),
    ]
    assert values(lines)["date"] == "02/03/2018"


@pytest.mark.parametrize("code", ["HD03-04-06 - 5/40/160", "HA06HD01-3 - 70"])
def test_a_product_code_that_reads_as_a_date_is_not_the_date(code: str) -> None:
    # Letters glued before the digits make a code; a label glued to its date does not.
    lines = [line("KEDAI BARU SDN BHD", 0), line(code, 1), line("15-07-18 10:35", 2)]
    assert values(lines)["date"] == "15-07-18"
    assert values([line(code, 0), line("DATE15-07-18", 1)])["date"] == "15-07-18"


def test_unknown_field_kind_is_empty_with_zero_confidence() -> None:
    spec = FieldSpec(name="tip", description="the tip", kind="tip")
    result = extract_fields(RECEIPT, [spec, *SROIE_FIELDS])
    assert result["tip"] == FieldValue("", 0.0, None)
    assert result["total"].value == "9.00"


def test_empty_input_gives_all_fields_empty() -> None:
    result = extract_fields([], SROIE_FIELDS)
    assert set(result) == {spec.name for spec in SROIE_FIELDS}
    assert all(fv == FieldValue("", 0.0, None) for fv in result.values())


# --- the receipt's arithmetic, the accounting fields and line items ----------------------------

ACCOUNTING = FIELD_SETS["accounting"]


def rows(*texts: str) -> list[TextLine]:
    """One box per row: "NAME  9.00" keeps the amount in its own box at the right."""
    out = []
    for i, text in enumerate(texts):
        words, _, amount = text.rpartition("  ")
        if words:
            out += [line(words, i), line(amount, i, x0=400)]
        else:
            out.append(line(text, i))
    return out


def accounting(lines: list[TextLine]) -> dict[str, str]:
    return {name: fv.value for name, fv in extract_fields(lines, ACCOUNTING).items()
            if name != "items"}


def test_cash_less_change_picks_the_total_paid_where_the_keywords_mislead() -> None:
    """"TOTAL INCLUDES 6% GST 1.44" names the tax; the cash handed over less the change is
    the amount that was paid, printed on the takeout row."""
    lines = rows("SHOP SDN BHD", "JALAN 1", "TAKEOUT TOTAL (INCL GST)  25.40",
                 "CASH TENDERED  26.00", "CHANGE  0.60", "TOTAL INCLUDES 6% GST  1.44")
    total = extract_fields(lines, SROIE_FIELDS)["total"]
    assert total.value == "25.40"
    assert total.box == lines[3].box


@pytest.mark.parametrize(("texts", "total"), [
    (("TOTAL AMT RM  60.31", "ROUNDING ADJ  -0.01", "RM  60.30", "THANK YOU"), "60.30"),
    # The adjustment printed as cents alone, the rounded total's keyword glued to its currency.
    (("Total Sales (Inclusive GST) RM  13.58", "Rounding Adjustment RM  ,02", "RoundingRM  13.60",
      "CASH RM  14.00", "CHANGE RM  .40"), "13.60"),
    (("Total Sales (Inclusive GST) RM  37.44", "Rounding Adjustment RM  .01", "37.45",
      "CREDIT RM  37.45"), "37.45"),
])
def test_the_rounding_adjustment_gives_the_amount_paid(texts: tuple[str, ...], total: str) -> None:
    assert values(rows("SHOP", "ADDRESS", *texts))["total"] == total


@pytest.mark.parametrize("texts", [
    ("SUBTOTAL  192.53", "A 9.00% TAX  7.83", "TOTFIL  200.36", "CASH  200.36"),  # misread
    ("IME SUBTOTAL  62.75", "TAX 4.166%  2.61", "PAYMENT DUE  $65.36"),  # an unknown keyword
    ("SUB_TOT ITM=8 Q=10.00  885.00", "VAT @12.50% ON 885.00  110.63",
     "SRV.TAX @ 4.90% ON 885.00  43.37", "CASH  1039.00"),  # two taxes
    ("Sub Total  300.00", "SGST @ 9%  27.00", "CGST @ 9%  27.00",
     "Total Qty: 1 Amt:  354.00"),  # India's two halves of GST
    ("Total Sales (Excluding GST)  94.34", "Discount  0.00", "Total GST  5.66",
     "Total Sales ('hclusive of GST)  100.00"),  # a discount of nothing between them
])
def test_the_subtotal_plus_its_taxes_printed_below_is_the_total(texts: tuple[str, ...]) -> None:
    """Where the keyword's total is only the subtotal (its own keyword misread or unknown),
    the subtotal plus the taxes under it, printed below them, is the amount paid."""
    lines = rows("SHOP", "ADDRESS", "ITEM ONE  9.00", *texts, "THANK YOU")
    subtotal = texts[0].rpartition("  ")[2]
    assert values(lines)["total"] not in ("", subtotal)
    expected = {"192.53": "200.36", "62.75": "65.36", "885.00": "1039.00", "300.00": "354.00",
                "94.34": "100.00"}
    assert values(lines)["total"] == expected[subtotal]


def test_a_subtotal_with_tax_not_printed_as_a_sum_stays_the_subtotals_answer() -> None:
    """No amount below equals subtotal + tax: nothing to confirm, the keywords decide."""
    lines = rows("SHOP", "ADDRESS", "SUBTOTAL  10.00", "TAX  0.80", "THANK YOU")
    assert values(lines)["total"] == "10.00"


def test_a_total_beside_another_columns_label_and_amount() -> None:
    """Two columns of labels and amounts on a row: the right one is the total."""
    lines = [line("ITEM ONE", 0), line("3.78", 0, x0=400), line("TOTAL SAVING:", 1),
             line("0.00", 1, x0=160), line("TOTAL", 1, x0=250), line("6.85", 1, x0=400)]
    assert values(lines)["total"] == "6.85"


def test_a_total_faded_to_is_for_its_ts_is_read() -> None:
    lines = rows("GUARDIAN", "FINGERS SOUR  4.80", "SUBIUIAL  4.80", "6% DISC  0.24-",
                 "SUBIUIAL  4.51", "KUUNDING ADJUSIMENIS  0.01-", "IUIAL (bSI IMLL)  4.50",
                 "CASH  4.50")
    assert values(lines)["total"] == "4.50"


def test_the_payments_negative_amount_under_a_misread_total_is_no_total() -> None:
    """"Total RM 00*68" has no amount: the cash handed over, printed negative below it, is
    not the total; the largest amount left is the guess."""
    lines = rows("BEST DENKI", "89.00 1  89.00", "Total RM 00*68", "Cash  -100.00",
                 "Cash  11.00", "GST S 6%  89.00  5.04")
    assert values(lines)["total"] == "89.00"


def test_a_credit_notes_total_keeps_its_minus() -> None:
    lines = rows("GARDENIA BAKERIES", "ADJUSTMENT NOTE", "O.C. WHITE 2.13 -5  -10.65",
                 "WHOLEMEAL 2.78 3  8.34", "TOTAL PAYABLE:  -2.31")
    assert values(lines)["total"] == "-2.31"


def test_cash_less_change_wins_a_misread_total_where_the_itemised_sum_agrees() -> None:
    lines = rows("SYARIKAT PERNIAGAAN GIN KEE", "Sub Total (RM): 106.10", "Discount (RM) : 0.00",
                 "Total GST (RM) : 6.37", "Rounding (RM) : -0.02", "Total (RM) : 112.46",
                 "CASH : 112.45", "Change (RM) : 0.00")
    assert values(lines)["total"] == "112.45"  # 106.10 + 6.37 - 0.02
    lines[5] = line("Total (RM) : 112.45", 5)
    lines[6] = line("CASH : 112.50", 6)  # no change printed right: the total stays
    assert values(lines)["total"] == "112.45"


def test_a_dash_before_a_total_printed_positive_above_is_no_sign() -> None:
    lines = rows("HAI DI LAO", "FRIED RICE 66.49", "Subtotal 66.49", "Total -66.49")
    assert values(lines)["total"] == "66.49"


def test_a_minus_glued_to_a_colon_is_no_sign() -> None:
    lines = rows("GARDENIA BAKERIES", "WHOLEMEAL 2.78 3  8.34", "Total Payable:", ":-51.88")
    assert values(lines)["total"] == "51.88"


def test_a_total_of_promotions_is_not_the_total() -> None:
    lines = rows("IGA", "NATU BOIS SOYA BIO $3.79", "Sous-total $16.52", "Total $16.52",
                 "COUPON FOURN. $0.75", "Total Promo Electroniques $9.57")
    assert values(lines)["total"] == "16.52"


@pytest.mark.parametrize(("texts", "total"), [
    # A French subtotal holds "TOTAL"; the total's own keyword misread ("TOTAI").
    (("SOUS-TOTAL  $16.50", "T.P.S.  $0.83", "T.V.Q.  $1.65", "TOTAI  $18.98",
      "Total  18.98 $"), "18.98"),
    (("SUBTOTAL  57.39", "TAX  3.79", "TOTAL  $49.70", "VISA DEBIT  49.70",
      "TOTAL SAVED:  $192.08"), "49.70"),  # what the customer saved, not paid
])
def test_a_subtotal_or_a_saving_is_no_total(texts: tuple[str, ...], total: str) -> None:
    lines = rows("SHOP", "ADDRESS", "ITEM  1.00", *texts, "THANK YOU")
    # OCR less sure of the total row's amount than of the subtotal's: no tie for it to win.
    lines = [replace(ln, score=0.8) if ln.text.startswith(total) else ln for ln in lines]
    assert values(lines)["total"] == total


@pytest.mark.parametrize(("texts", "total", "reproduced"), [
    (("ITEM ONE  9.00", "ITEM TWO  8.50", "TOTAL  17.50"), "17.50", True),  # the items' sum
    (("ITEM ONE  9.00", "ITEM TWO  8.50", "TOTAL  17.80"), "17.80", False),  # a misread total
    (("ITEM ONE  100.00", "SUBTOTAL  100.00", "GST 6%  6.00", "TOTAL  106.00"), "106.00", True),
    (("ITEM ONE  100.00", "SUBTOTAL  100.00", "GST 6%  6.00", "TOTAL  108.00"), "108.00", False),
])
def test_a_total_the_receipts_own_sums_give_is_reproduced(texts: tuple[str, ...], total: str,
                                                           reproduced: bool) -> None:
    """The items added up, or the subtotal plus its tax, give the total printed: the judge's
    sign that the total was read right. A rounded-off sum is no reproduction."""
    lines = rows("SHOP", "ADDRESS", *texts, "THANK YOU")
    found = extract_fields(lines, SROIE_FIELDS)["total"]
    assert found.value == total
    sums = arithmetic_totals(group_rows(lines), found.box)
    assert reproduces(sums, total) is reproduced
    assert not reproduces(sums, "")


def test_subtotal_and_tax_are_the_ones_the_arithmetic_confirms() -> None:
    """The items' heading "AMOUNT TAX" and "TOTAL SALES (INCLUSIVE OF GST)" name a tax too;
    only the subtotal + tax = total pair is right."""
    lines = rows("SHOP SDN BHD", "ADDRESS", "ITEM QTY S/PRICE AMOUNT TAX", "RICE  45.00",
                 "TOTAL QTY: 3  47.70", "TOTAL SALES(EXCLUDING GST) :  45.00",
                 "TOTAL GST :  2.70", "TOTAL SALES(INCLUSIVE OF GST) :  47.70",
                 "CASH  50.00", "CHANGE  2.30")
    got = accounting(lines)
    assert (got["subtotal"], got["tax"], got["total"]) == ("45.00", "2.70", "47.70")


def test_a_tax_rate_on_its_row_is_kept() -> None:
    lines = rows("SHOP", "ADDRESS", "SUB TOTAL  295.00", "SERVICE CHARGE 10%  29.50",
                 "GST 6%  19.47", "ROUNDING ADJ  -0.02", "NET TOTAL  343.95")
    got = accounting(lines)
    assert (got["subtotal"], got["tax"], got["total"]) == ("295.00", "19.47 (6%)", "343.95")


def test_line_items_are_read_between_the_heading_and_the_total() -> None:
    lines = rows("SHOP SDN BHD", "ADDRESS", "TEL 0123", "DESCRIPTION QTY AMOUNT",
                 "BIG TV 1 1,234.56", "CABLE 2 X 6.00  12.00", "MEMBER DISCOUNT  -0.56",
                 "TOTAL  1,246.00", "CASH  1,250.00", "CHANGE  4.00")
    items = extract_fields(lines, FIELD_SETS["standard"])["items"]
    assert [{c: cell.value for c, cell in r.cells.items()} for r in items.rows] == [
        {"description": "BIG TV", "quantity": "", "unit_price": "", "amount": "1234.56"},
        {"description": "CABLE", "quantity": "2", "unit_price": "6.00", "amount": "12.00"},
        {"description": "MEMBER DISCOUNT", "quantity": "", "unit_price": "",
         "amount": "-0.56"}]
    assert all(r.box is not None for r in items.rows)
    assert all(0 < cell.confidence <= 1 for r in items.rows for cell in r.cells.values())


def test_a_service_charge_after_the_subtotal_is_no_item() -> None:
    """sroie-104 prints "10% Srv Chg" under the subtotal: a named amount after a totals row
    would otherwise read as the first item of a second group."""
    lines = rows("CHILI'S", "ADDRESS", "TBL64 30/12/17", "MARG CK  27.95 S",
                 "CHP BWL CK  29.95 S", "Subtotal  57.90", "10% Srv Chg  5.79",
                 "GST @6%  3.82", "Total:  67.51")
    items = extract_fields(lines, FIELD_SETS["standard"])["items"]
    assert [(r.cells["description"].value, r.cells["amount"].value) for r in items.rows] == [
        ("MARG CK", "27.95"), ("CHP BWL CK", "29.95")]


@pytest.mark.parametrize("misread", ["Sub-totai", "Totai Qty.", "TOTQTY", "Discoun", "SUB-TCTAL",
                                     "SUBIUIAL", "IUIAL (GSI INUL)"])
def test_a_totals_row_misread_is_no_item(misread: str) -> None:
    """OCR reads an L as I ("Totai", sroie-050 and -117), T as I and O as U or C ("IUIAL",
    sroie-420; "SUB-TCTAL", -553), runs "TOT QTY" together, cuts "Discount" short (-251); each
    followed the items and read as one more."""
    lines = rows("SHOP SDN BHD", "ADDRESS", "DESCRIPTION QTY AMOUNT", "ROLLER SET  13.78",
                 "CEMENT 50KG  36.04", f"{misread}  49.82", "TOTAL  49.82", "CASH  50.00")
    items = extract_fields(lines, FIELD_SETS["standard"])["items"]
    assert [r.cells["amount"].value for r in items.rows] == ["13.78", "36.04"]


def test_a_gross_amount_and_a_line_repeated_with_another_column_are_no_items() -> None:
    """Domino's prints the discount and price columns on a row of their own under the item
    (sroie-310: "8.40 15.60"); a hardware shop sums its items as "Gross Amount" (sroie-098)."""
    lines = rows("DOMINO'S PIZZA", "ADDRESS", "Qty Menu Desc Coupon Disc Price",
                 "1 6\"HT (KB) P50C-PSI  15.60", "8.40  15.60", "1 GARLIC BREAD  6.00",
                 "Gross Amount  21.60", "Coupon Discount  8.40", "Grand Total  13.20")
    items = extract_fields(lines, FIELD_SETS["standard"])["items"]
    assert [r.cells["amount"].value for r in items.rows] == ["15.60", "6.00"]


def test_a_quantity_row_under_an_item_is_that_items() -> None:
    """sroie-577 prints the quantity and unit price on a row under the item's name and amount:
    "03 X RM 2.50" is how 7.50 came about, no item of 2.50."""
    lines = rows("ECONSAVE", "ADDRESS", "05:36PM 568268 04-06-18",
                 "620 CARNATION SUSU KRIMER S  RM7.50 z", "03 X RM 2.50",
                 "0715 KNORR CHICKEN STOCK 1K  RM15.90 z", "Total Sales RM  23.40")
    items = extract_fields(lines, FIELD_SETS["standard"])["items"]
    assert [r.cells["amount"].value for r in items.rows] == ["7.50", "15.90"]


def test_a_tax_code_misread_after_the_amount_keeps_the_item() -> None:
    """sroie-046: "SEAFOOD 8.50 ZRi." (ZRL, zero-rated) was no item row, so the items missed it."""
    lines = rows("SHOP SDN BHD", "ADDRESS", "Cashier: CASHIER2", "VEGETABLES  2.20 ZRL",
                 "SEAFOOD  8.50 ZRi.", "SUBTOTAL:  10.70", "TL:RM  10.70")
    items = extract_fields(lines, FIELD_SETS["standard"])["items"]
    assert [r.cells["amount"].value for r in items.rows] == ["2.20", "8.50"]


def test_the_items_end_at_a_misread_total_and_a_sum_printed_without_a_word() -> None:
    """sroie-420's totals rows read "SUBIUIAL" and "IUIAL": the GST summary under them ("6%
    2.15 0.15") was one more item. Domino's prints the items' sum under them with no word
    ("14.80 45.70", sroie-303)."""
    lines = rows("guardian Health And Beauty Sdn Bhd", "Bandar Baru Kawang", "KM",
                 "121062680 100 PLUS 500ML  2.28", "SUBIUIAL  2.28", "IUIAL (GSI INUL)  2.28",
                 "CASH  5.00", "ROUNDING ADJUSIMENIS  0.02", "CHANGE DUE  0.70",
                 "GSI - Rate  ---bSI EXCl-GSI Amt", "6% 2.15  0.15", "Ihank You For Shopping")
    items = extract_fields(lines, FIELD_SETS["standard"])["items"]
    assert [r.cells["amount"].value for r in items.rows] == ["2.28"]
    lines = rows("DOMINO'S PIZZA", "ADDRESS", "Qty Menu Desc Coupon Disc Price",
                 "1 6\"HT (KB) LSF1-PSI  15.60", "1 6\"HT (KB) LSF1-PSI  15.60",
                 "1 CWAH AOA1-ADI  14.50", "14.80  45.70", "Total Items", "Sub-Total  45.70",
                 "Coupon Discount  14.80", "Grand Total  30.90")
    items = extract_fields(lines, FIELD_SETS["standard"])["items"]
    assert [r.cells["amount"].value for r in items.rows] == ["15.60", "15.60", "14.50"]


def test_a_receipt_without_items_has_an_empty_table() -> None:
    items = extract_fields(rows("SHOP", "ADDRESS", "TOTAL  9.00"), FIELD_SETS["standard"])
    assert items["items"].rows == ()
    assert extract_fields([], FIELD_SETS["standard"])["items"].rows == ()


def test_a_doubled_decimal_point_is_one() -> None:
    lines = [line("SUBTOTAL", 0), line("$66.30", 0, x0=400), line("TOTAL", 1),
             line("$72..95", 1, x0=400), line("CASH", 2), line("$80.00", 2, x0=400),
             line("Change", 3), line("$7.05", 3, x0=400)]
    assert values(lines)["total"] == "72.95"


def test_a_day_and_a_time_are_not_a_date() -> None:
    assert values([line("MAR 18 10:30", 0)])["date"] == ""


@pytest.mark.parametrize(("keyword", "amount"), [
    ("Total Rp", "224,400"),       # rupiah: no cents
    ("TOTAL KD", "19.729"),        # dinar: three decimals
    ("Summe EUR", "12,90"),
    ("Gesamtbetrag", "8,50"),
    ("MONTANT TTC", "23.40"),
    ("Totaal", "6,75"),
])
def test_totals_of_other_countries(keyword: str, amount: str) -> None:
    lines = [line("ITEM ONE", 0), line("3,00", 0, x0=400),
             line(keyword, 1), line(amount, 1, x0=400)]
    got = values(lines)["total"]
    assert got.replace(",", ".") == amount.replace(",", ".") or got == amount


@pytest.mark.parametrize(("keyword", "amount"), [
    ("KOKKU", "63.00"),            # Estonian
    ("Yhteensä", "12,40"),         # Finnish
    ("RAZEM PLN", "45,99"),        # Polish
    ("Att betala", "99,50"),       # Swedish
    ("TOPLAM", "150,00"),          # Turkish
])
def test_total_keywords_of_more_languages(keyword: str, amount: str) -> None:
    """The keyword's amount, not the larger card payment below it."""
    lines = [line("ITEM ONE", 0), line("3,00", 0, x0=400), line(keyword, 1),
             line(amount, 1, x0=400), line("KAART VISA", 2), line("200,00", 2, x0=400)]
    assert values(lines)["total"].replace(",", ".") == amount.replace(",", ".")


def test_singapores_postcode_ends_an_address() -> None:
    lines = [line("FOOD OPERA", 0), line("PADANG PADANG", 1), line("2 ORCHARD TURN #B4-03/04", 2),
             line("SINGAPORE 238801", 3), line("RCT# 15946", 4)]
    assert values(lines)["address"] == "2 ORCHARD TURN #B4-03/04 SINGAPORE 238801"


@pytest.mark.parametrize("till", ["GUESTS:9 10007", "STAFF: DANNY ROSE TRANS: 74420",
                                  "SHIFT 2, EMPL 91768, SALE # 32253000451",
                                  "TERMINAL ID: ****6992", "VAT REG: IE9I90601Q",
                                  "Operator: Billy", "CHECK: 37820"])
def test_an_address_without_a_postcode_ends_at_the_tills_rows(till: str) -> None:
    lines = [line("KOBE SUSHI BISTRO", 0), line("6375 SOUTH RAINBOW BLVD", 1), line(till, 2),
             line("1 MISO SOUP", 3)]
    assert values(lines)["address"] == "6375 SOUTH RAINBOW BLVD"


def test_a_legal_name_over_three_rows_is_read_whole() -> None:
    lines = [line("Counter.", 0), line("AIK HUAT HARDWARE", 1), line("ENTERPRISE (SETIA", 2),
             line("ALAM) SDN BHD", 3), line("822737-X", 4), line("NO. 5, JALAN SETIA", 5),
             line("40170 SHAH ALAM", 6)]
    assert values(lines)["company"] == "AIK HUAT HARDWARE ENTERPRISE (SETIA ALAM) SDN BHD"


@pytest.mark.parametrize("top", ["Store: 1", "STORE # NY-1104", "DINE IN", "Counter."])
def test_a_store_number_or_an_order_type_above_the_name_is_not_the_name(top: str) -> None:
    lines = [line(top, 0), line("Kelly Beauty Supply", 1), line("264 Adams St", 2),
             line("Dorchester, MA 02122", 3)]
    assert values(lines)["company"] == "KELLY BEAUTY SUPPLY"


def test_the_name_in_tall_letters_wins_over_a_promotion_printed_small_above_it() -> None:
    promo = [tall("Win 1 of 5 prizes of £200", 10, 20), tall("in Morrisons vouchers!", 34, 20),
             tall("Morrisons", 60, 40), tall("Hadleigh - 01473827021", 106, 18)]
    assert values(promo)["company"] == "MORRISONS"


@pytest.mark.parametrize("rest", [
    [tall("18 SHATIN CENTRE STREET", 34, 40), tall("Shop 121", 78, 20)],  # a street, tall
    [tall("Los Angeles Airport", 34, 40), tall("Malibu Al's T5", 44, 20)],  # tilted over a row
])
def test_a_tall_row_that_is_no_name_does_not_displace_the_first(rest: list[TextLine]) -> None:
    assert values([tall("PIZZAEXPRESS", 10, 20), *rest])["company"] == "PIZZAEXPRESS"


def test_a_lower_case_logo_word_is_the_company_a_handwritten_name_is_not() -> None:
    store = [line("meijer", 0), line("Sawmill Rd.", 1), line("Dublin, OH 43017", 2)]
    assert values(store)["company"] == "MEIJER"
    for top in ("tan woon yann", "xqzvt"):  # a name written by hand, a smudge
        lines = [line(top, 0), line("KEDAI BUKU SDN BHD", 1), line("NO 5, JALAN SAGU", 2),
                 line("81100 JOHOR BAHRU", 3)]
        assert values(lines)["company"] == "KEDAI BUKU SDN BHD"


def test_an_address_ends_at_a_state_and_zip_and_skips_the_till_rows() -> None:
    lines = [line("WILLY MCCOY'S", 0), line("10700 FRANCE AVE S", 1),
             line("BLOOMINGTON, MN 55431", 2), line("SERVER ANNA", 3),
             line("GUESTS: 2", 4)]
    got = values(lines)
    assert got["address"] == "10700 FRANCE AVE S BLOOMINGTON, MN 55431"
    assert got["company"] == "WILLY MCCOY'S"
    uk = values([line("REAL MAN PIZZA", 0), line("91-95 CLERKENWELL RD", 1),
                 line("LONDON, EC1R 5BX", 2), line("TABLE 4 COVERS 2", 3)])
    assert uk["address"] == "91-95 CLERKENWELL RD LONDON, EC1R 5BX"


@pytest.mark.parametrize(("read", "name"), [
    ("AMANO MALAYSIA SON BHD", "AMANO MALAYSIA SDN BHD"),
    ("SKCA HARDWARE 5DN. BND.", "SKCA HARDWARE SDN. BHD."),
    ("99 SPEED MART 5/B", "99 SPEED MART S/B"),
    ("Kedai Baru Sdn Bhd", "KEDAI BARU SDN BHD"),  # right already: only upper-cased
    ("MOONLIGHT CAKE HOUSE SDN B", "MOONLIGHT CAKE HOUSE SDN BHD"),  # its end cut off
    ("ONE ONE THREE SEAFOOD SDN DHD", "ONE ONE THREE SEAFOOD SDN BHD"),
    ("99 SPEED MART S/D", "99 SPEED MART S/B"),
    ("UNIHAKKA INTERNATIONAL-SDN BHD", "UNIHAKKA INTERNATIONAL SDN BHD"),  # a space read as "-"
])
def test_a_misread_legal_form_is_spelled_right(read: str, name: str) -> None:
    rows = [line(read, 0), line("NO 5, JALAN BUKIT 2,", 1), line("81100 JOHOR BAHRU", 2)]
    assert values(rows)["company"] == name


@pytest.mark.parametrize(("read", "name"), [
    # A trade word misread: where it is no word, alone ("BOBKS"; two letters of a long one,
    # "HARUWARL"); where it is one ("CARY", "NART"), only in its trade's name.
    ("TEO HENG STATIONERY & BOBKS", "TEO HENG STATIONERY & BOOKS"),
    ("AIK HUAT HARUWARL ENTERPRISE", "AIK HUAT HARDWARE ENTERPRISE"),
    ("SEGI CASH & CARY SDN. BHD.", "SEGI CASH & CARRY SDN. BHD."),
    ("99 SPEED NART S/B", "99 SPEED MART S/B"),
    # A trade name's ampersand lost.
    ("FIVE STAR CASH CARRY", "FIVE STAR CASH & CARRY"),
    # The same words elsewhere in a name are the seller's own.
    ("CARY HARDWARE SDN BHD", "CARY HARDWARE SDN BHD"),
    ("NART TRADING", "NART TRADING"),
    # A short word may be cut short, not misread; a seller's made-up word stays.
    ("SPEED MAR", "SPEED MAR"),
    ("BOOKZY ENTERPRISE", "BOOKZY ENTERPRISE"),
])
def test_a_misread_trade_word_in_a_name_is_spelled_right(read: str, name: str) -> None:
    rows = [line(read, 0), line("NO 5, JALAN BUKIT 2,", 1), line("81100 JOHOR BAHRU", 2)]
    assert values(rows)["company"] == name


@pytest.mark.parametrize(("read", "name"), [
    ("PIZZA HUT #744007", "PIZZA HUT #744007"),  # a store's number is its name's
    ("FARMASI MALURI S/B(123456-X)", "FARMASI MALURI S/B"),  # a company number is not
    ("****CARREFOUR***", "CARREFOUR"),  # nor the rules printed around it
    ("WAL*MART 1044", "WAL*MART 1044"),  # a store's number without a check letter stays
    ("SPEEDWAY 0006661", "SPEEDWAY 0006661"),
    ("OWN BY: CHEF LEE SDN BHD", "CHEF LEE SDN BHD"),  # the owner is the seller
    ("DIMILIKI: BANH MI CAFE SDN BHD", "BANH MI CAFE SDN BHD"),
])
def test_what_is_around_a_name(read: str, name: str) -> None:
    rows = [line(read, 0), line("NO 5, JALAN BUKIT 2,", 1), line("81100 JOHOR BAHRU", 2)]
    assert values(rows)["company"] == name


@pytest.mark.parametrize(("read", "name"), [
    ("ANN GIAP TRADING SDN BHD SE", "ANN GIAP TRADING SDN BHD"),
    ("BILLION SIX ENTERPRISE P)", "BILLION SIX ENTERPRISE"),  # after a trade word too
    ("KING'S CONFECTIONERY S/B 273500-U (KSB)", "KING'S CONFECTIONERY S/B"),
    ("MOONLIGHT CAKE HOUSE SDN BHD 8OZTZ5-U", "MOONLIGHT CAKE HOUSE SDN BHD"),
    ("SKCA HARDWARE SDN BHD.LL", "SKCA HARDWARE SDN BHD."),
    # A branch written in words, and the name's own full stop, are the name's.
    ("CHECKERS HYPERMARKET SDN BHD (JALAN KLANG LAMA)",
     "CHECKERS HYPERMARKET SDN BHD (JALAN KLANG LAMA)"),
    ("AEON CO. (M) BHD.", "AEON CO. (M) BHD."),
])
def test_marks_and_codes_read_after_a_legal_form_are_not_the_name(read: str, name: str) -> None:
    rows = [line(read, 0), line("NO 5, JALAN BUKIT 2,", 1), line("81100 JOHOR BAHRU", 2)]
    assert values(rows)["company"] == name


@pytest.mark.parametrize("text", ["Server: Marcos 02/22", "MAYBANK 12/18", "JUNCTION 5/16"])
def test_a_word_that_begins_like_a_month_is_not_one(text: str) -> None:
    assert not has_date(text)
    assert values([line(text, 0), line("02/22/2014", 1)])["date"] == "02/22/2014"


def test_a_name_printed_with_its_company_number_is_the_name() -> None:
    got = values([
        line("Dion Realties Sdn Bhd (Co. No:20154-T)", 0),
        line("(GST Registration No : 000850247680)", 1),
        line("Menara Dion #02-03, Level 2,", 2),
        line("27, Jalan Sultan Ismail,", 3),
        line("50250 Kuala Lumpur.", 4),
    ])
    assert got["company"] == "DION REALTIES SDN BHD"
    assert got["address"].startswith("MENARA DION #02-03, LEVEL 2, 27, JALAN SULTAN ISMAIL")


@pytest.mark.parametrize(("read", "address"), [
    # A Malaysian address's commas, read as full stops after a number or a word, put back.
    ("NO.32 & 33, JALAN SR 1/9. SEKSYEN 9. TAMAN SERDANG RAYA. 43300 SERI KEMBANGAN",
     "NO.32 & 33, JALAN SR 1/9, SEKSYEN 9, TAMAN SERDANG RAYA, 43300 SERI KEMBANGAN"),
    ("LOT 2110 JALAN PERMAS UTARA 81750.JOHOR BAHRU",
     "LOT 2110 JALAN PERMAS UTARA 81750,JOHOR BAHRU"),
    # After a number with its letter; "OFF" misread "CFF".
    ("NO. 47, JALAN MERANTI 1A. BANDAR BARU UTAMA, CFF JALAN KAPAR, 44300 BATANG KALI",
     "NO. 47, JALAN MERANTI 1A, BANDAR BARU UTAMA, OFF JALAN KAPAR, 44300 BATANG KALI"),
    # An abbreviation's stop stays, and the final one.
    ("LOT P.T. 2811, JALAN ANGSA, SEK.U3 41150 KLANG, SELANGOR.",
     "LOT P.T. 2811, JALAN ANGSA, SEK.U3 41150 KLANG, SELANGOR."),
    # Not in an address of elsewhere: "BLVD." is an abbreviation.
    ("9901 FAIRFAX BLVD. FAIRFAX, VA 22030", "9901 FAIRFAX BLVD. FAIRFAX, VA 22030"),
])
def test_commas_read_as_full_stops_are_put_back_in_a_malaysian_address(read: str,
                                                                       address: str) -> None:
    rows = [line("KEDAI BARU SDN BHD", 0), line(read, 1), line("TEL: 03-7832 6929", 2)]
    assert values(rows)["address"] == address


@pytest.mark.parametrize(("texts", "address"), [
    # A town and a US state end an address without a ZIP; the slogan above is not part of it.
    (["ROSS", "DRESS FOR LESS", "EUREKA, CA", "Phone:707-443-1036"], "EUREKA, CA"),
    # A European street row, its number after the name, starts the address: the operator's
    # name above it does not.
    (["PRIME BURGER BAR", "Mc Food s.r.l.", "VIA PRIVATA DELLA PASSERELLA, 4", "20122 MILANO",
      "P.Iva & C.F.: 07856631218"], "VIA PRIVATA DELLA PASSERELLA, 4 20122 MILANO"),
    (["CHINEES SPECIALITEITEN RESTAURANT", "* GOLDEN CHOPSTICKS *", "Oude Doelenstraat 1",
      "1012 AB Amsterdam", "Tel:020-6207040"], "OUDE DOELENSTRAAT 1 1012 AB AMSTERDAM"),
    # A shop's number is no street number: the street row below starts the address.
    (["Yes Optus Plenty Valley", "Shop 32", "Westfield Plenty Valley", "415 McDonalds Rd",
      "Ph: 03 9422 5000"], "415 MCDONALDS RD"),
])
def test_addresses_of_elsewhere_start_at_their_street(texts: list[str], address: str) -> None:
    assert values([line(text, i) for i, text in enumerate(texts)])["address"].upper() == address


@pytest.mark.parametrize(("texts", "name"), [
    # A short name broken over rows in the same print is read whole.
    (["SALVATION", "ARMY", "536 WEST 46TH STREET", "NEW YORK, NY 10036"], "SALVATION ARMY"),
    (["THE", "ROUND", "TOWER", "KELLS CO. MEATH", "TELEPHONE 046 924 0144"], "THE ROUND TOWER"),
    (["Basil Thai", "Restaurant & Bar", "1175 Folsom Street", "San Francisco, CA 94103"],
     "BASIL THAI RESTAURANT & BAR"),
    # A store's number or a rule of stars ends a name; a town and state are the address's.
    (["Goldbergs #88", "Hartsfield Jackson", "Atlanta, GA 30320"], "GOLDBERGS #88"),
    (["****CARREFOUR***", "SAN PABLO", "TEL: 55 5555 5555"], "CARREFOUR"),
    (["La Cabana", "Helen,GA", "CHK# 29 TBL# 1"], "LA CABANA"),
])
def test_a_name_over_rows(texts: list[str], name: str) -> None:
    assert values([line(text, i) for i, text in enumerate(texts)])["company"].upper() == name


def test_a_row_in_smaller_print_does_not_carry_on_the_name() -> None:
    def rows(height: float) -> list[TextLine]:
        slogan = TextLine("FRESH DAILY", (50.0, 34.0, 149.0, 34.0 + height), 0.98)
        return [line("MARCO", 0), slogan, line("1324 N. STATE ST", 3), line("PROVO, UT 84601", 4)]

    assert values(rows(12.0))["company"] == "MARCO"  # 12 px high, the name 20
    assert values(rows(20.0))["company"] == "MARCO FRESH DAILY"


def test_a_clock_time_is_not_a_name_nor_part_of_one() -> None:
    beside = [line("SHOPPING STORE", 0), line("03:22 PM", 0, x0=300), line("CLERK 2", 2)]
    assert values(beside)["company"] == "SHOPPING STORE"
    above = [line("TIME 1:40AM", 0), line("BLUE DOOR CAFE", 1), line("12 HIGH STREET", 2),
             line("LONDON EC1R 5BX", 3)]
    assert values(above)["company"] == "BLUE DOOR CAFE"


@pytest.mark.parametrize(("texts", "address"), [
    # "ROC" introduces a registration number; "Rockwall" is a town.
    (["PIZZA HUT #744007", "870 W Rusk St", "Rockwall, Tx 75087", "(000)000-0000"],
     "870 W RUSK ST ROCKWALL, TX 75087"),
    # A unit's row under its street, its "#" included.
    (["BAR LOUIE", "1280 Hwy 315", "Ste# 1801", "Server: Katie"], "1280 HWY 315 STE# 1801"),
    (["1 E. Mills Circle", "Space #1050", "Ontario, CA 91764", "(909) 948-1362"],
     "SPACE #1050 ONTARIO, CA 91764"),
    # A street row printed in lower case is printed, not written by hand.
    (["Lilly O'Briens", "18 murray street", "New York, NY 10007", "Tel.646-930-2008"],
     "18 MURRAY STREET NEW YORK, NY 10007"),
])
def test_american_street_rows(texts: list[str], address: str) -> None:
    assert values([line(text, i) for i, text in enumerate(texts)])["address"].upper() == address


def test_a_customer_row_above_the_name_is_not_the_name() -> None:
    rows = [line("CUSTOMER COPY", 0), line("WAL*MART 1044", 1), line("5050 TROUP HWY", 2),
            line("TYLER, TX 75707", 3)]
    assert values(rows)["company"] == "WAL*MART 1044"


@pytest.mark.parametrize("name", ["Stat-Great Saving", "COUPON", "PROMO 10%"])
def test_a_saving_under_an_item_is_its_discount(name: str) -> None:
    """sroie-095 prints a promotion's saving under its item ("Stat-Great Saving -9.60"): an
    item of its own, negative, as "MEMBER DISCOUNT" is (the items then sum to the total). The
    same words as the printed taxes and discounts that check the total (``values/taxes.py``)."""
    lines = rows("POPULAR BOOK CO", "ADDRESS", "DESCRIPTION QTY AMOUNT",
                 "70G P.COPY 450'S 3 @ 13.69  41.07", f"{name}  -9.60", "TOTAL  31.47")
    items = extract_fields(lines, FIELD_SETS["standard"])["items"]
    assert [r.cells["amount"].value for r in items.rows] == ["41.07", "-9.60"]


@pytest.mark.parametrize(("card", "total"), [
    ("VISA  5.74", "5.74"),  # OCR lost the total's row: the card was charged it
    ("VISA  25.00", "5.05"),  # far above the subtotal: another purchase, not its tax
    ("CASH  5.74", "5.05"),  # cash may be more than the total (change comes back)
])
def test_a_card_charged_a_little_over_the_subtotal_is_the_total(card: str, total: str) -> None:
    lines = rows("FROYO SHOP", "18 MURRAY STREET", "1 YOGURT  5.05", card, "SUBTOTAL  5.05")
    assert values(lines)["total"] == total
