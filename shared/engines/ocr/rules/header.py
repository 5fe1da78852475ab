"""The receipt's header: where the seller's name ends and its address begins and ends.

Company and address are read from the same few rows at the top, so they are located together:

    tan woon yann                      <- handwritten/stamped name: skipped (all lower case)
    BOOK TA .K (TAMAN DAYA) SDN BHD    <- company: first prominent rows, up to a legal suffix
    789417-W                           <- registration number: skipped
    NO.53 55,57 & 59, JALAN SAGU 18,   <- address: from here ...
    TAMAN DAYA,
    81100 JOHOR BAHRU                  <- ... to the postcode row ...
    JOHOR.                             <- ... plus a trailing state/city row
    TEL: 07-...                        <- contact/tax rows end the header
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from shared.documents.rows import Row
from shared.engines.ocr.rules.date import has_date
from shared.engines.ocr.spelling import zipf

# The header never runs further than this many rows from the top.
HEADER_ROWS = 16

# "GST" and the words OCR glues to it ("GSTID:001018802176"): a tax id, which ends the header.
GST_WORD = r"GST(ID|IN|NO|REG)?"
# A phone's label. OCR reads "Tel" as "Te1" or "Tei" often enough (13 times in SROIE and
# wild-dev) to be one.
PHONE_WORDS = r"TEL|TE[1I]|TELEPHONE|PHONE|FAX"
# A row ending the header: contact details, tax ids, document titles, the items table.
STOP_RE = re.compile(
    # A mobile's number ("MOBILE NO", "Mobile: 012..."), not a name's word ("China Mobile").
    rf"\b({PHONE_WORDS}|H/?P|MOBILE(?=\s*(NO\b|[:.#]|\d))|HOTLINE|E-?MAIL"
    rf"|WEBSITE|WWW|{GST_WORD}"
    r"|SST|TAX|INVOICE|RECEIPT|CASH\s*(BILL|SALES?)|BILL|DOC(UMENT)?\s*NO|CASHIER|DATE|TABLE"
    r"|ORDER|SALES|OFFICIAL|REG(ISTRATION)?\.?\s*NO|QTY|ITEM|AMOUNT|WELCOME|GUESTS?|THANK"
    # The till's rows under a header: who served, which terminal, which shift.
    r"|SERVER|STAFF|OPERATOR|TERMINAL|MERCHANT|SHIFT|EMPL|TRANS|CHECK|VAT\s*REG|P\.?\s*IVA"
    r"|DINE\s*IN|TAKE\s*(OUT|AWAY)|C[OA]UNTER|CUSTOMER"
    # A ticket's number: English and French TICKET, Catalan TIQUET ("TIQUET:T002/13840"),
    # Spanish TIQUE.
    r"|TICKET|TIQUET|TIQUE"
    # The items table's column heads ("QuantityFood Price Total").
    r"|DESCRIPTION|PRICE\s+(TOTAL|AMOUNT|AMT))\b|\bST[OA]RE\s*(#|:|NO\b)"
    r"|INVOICE|RECEIPT|@|\.COM\b|\bT\s*:|\bF\s*:",
    re.IGNORECASE,
)
# The words that introduce a company registration number: "CO REG", "COMPANY NO", "ROC";
# words, not the start of one ("ROCKWALL", "CONOCO").
REG_KEYWORD = r"\b(CO\W{0,2}R[EF]G|COMPANY\s*(REG|NO)|ROC|BR\s*NO|CO\.?\s*NO)(?![A-Z])"
# A company registration number such as "789417-W", "(CO.RFG : 86Q671-D)", "(JM0352019-K)".
REG_RE = re.compile(
    r"^\W*((CO(MPANY)?\.?\s*)?R[EF]G\.?\s*(NO)?\.?|ROC|BR\s*NO\.?|CO\.?\s*NO\.?)?\s*[:.]?\s*"
    r"\(?\s*[A-Z]{0,3}\s*\d{4,12}\s*-?\s*[A-Z0-9]?\s*\)?\W*$"
    rf"|{REG_KEYWORD}"
    r"|^\W*\(?\s*\d{5,8}\s*[-‐]\s*[A-Z]\s*\)?\W*$",
    re.IGNORECASE,
)
# A five-digit postcode (Malaysia, Germany, France, Italy, Spain, a US ZIP alone), not part of a
# longer number or a phone number.
POSTCODE_RE = re.compile(r"(?<![\d-])\d{5}(?![\d-])")
# What makes five digits a lot or house number, or a code, instead: "LOT PT1138,PT 33122",
# "ADD: LOT 11995", "(TONYMOLY SHOP (95874))".
LOT_NUMBER_RE = re.compile(r"\b(LOT|PT|P\.\s?T|NO)\W{0,3}$|\($", re.IGNORECASE)
# Postcodes that end an address where they are printed: nothing but the country follows them.
# US state + ZIP ("TX 75707", "MN55431"), UK ("EC1R 5BX"), Canada ("V6M 1L1"), Australian state +
# postcode ("NSW 2000"), Singapore ("SINGAPORE 038983"). A Dutch postcode ("1012 AB") starts its
# row like a Malaysian one.
US_STATES = ("AL|AK|AZ|AR|CA|CO|CT|DC|DE|FL|GA|HI|ID|IL|IN|IA|KS|KY|LA|ME|MD|MA|MI|MN|MS|MO|MT"
             "|NE|NV|NH|NJ|NM|NY|NC|ND|OH|OK|OR|PA|RI|SC|SD|TN|TX|UT|VT|VA|WA|WV|WI|WY"
             "|GU|PR|VI|AS|MP")  # and the territories ("TAMUNING, GU")
FINAL_POSTCODE_RE = re.compile(
    rf"\b({US_STATES})\.?,?\s*\d{{5}}(?:-\d{{4}})?(?!\d)"
    r"|\b[A-Z]{1,2}\d[A-Z\d]?\s?\d[A-Z]{2}\b"
    r"|\b[A-Z]\d[A-Z]\s?\d[A-Z]\d\b"
    r"|\b(NSW|VIC|QLD|WA|SA|TAS|ACT|NT)\s*\d{4}\b"
    # Singapore's six digits after its name ("SINGAPORE 038983", OCR's "ŠINGAPORE").
    r"|\b\w?INGAPORE\s*\d{6}\b")
# A row that is no longer the address, though it does not end the header: a label, a code, a
# price ("CAR# 852", "CUSTOMER COPY", "£6.95 CAJUN"). The till's rows (SERVER, SHIFT, GUESTS...)
# end the header itself (``STOP_RE``).
ADDRESS_END_RE = re.compile(
    r"#|\b[A-Z]+\s?:|\b(VAT|RECHNUNG|TICKET|CHK|POS|CUSTOMER|COPY|DEBIT|CREDIT|SALE|STORE|REG)\b"
    r"|[$£€]\s?\d", re.IGNORECASE)
OTHER_POSTCODE_RE = re.compile(r"(?<![\d-])\d{4}\s?[A-Z]{2}\b")
COUNTRIES = (r"(USA|U\.S\.A\.?|UNITED\s+STATES|CANADA|UK|UNITED\s+KINGDOM|AUSTRALIA"
             r"|MALAYSIA|SINGAPORE|DEUTSCHLAND|GERMANY|FRANCE|NEDERLAND)")
COUNTRY_RE = re.compile(rf"^\W*{COUNTRIES}\W*$", re.I)
# Malaysia's states and federal territories, as addresses print them.
MALAYSIAN_STATE_NAMES = (
    "JOHOR", "KEDAH", "KELANTAN", "MELAKA", "MALACCA", "NEGERI SEMBILAN", "PAHANG", "PERAK",
    "PERLIS", "PENANG", "PULAU PINANG", "SABAH", "SARAWAK", "TERENGGANU", "SELANGOR",
    "KUALA LUMPUR", "PUTRAJAYA", "LABUAN")
MALAYSIAN_STATES = "|".join(name.replace(" ", r"\s+") for name in MALAYSIAN_STATE_NAMES)
# "SDN BHD" (Malaysia's private limited company) as OCR may read it: "SON", "5DN", "S0N",
# "BND", "DHD".
SDN = r"[S5][DO0]N"
BHD = r"[BD][HN]D"
# A Malaysian state (or federal territory) or a country ends an address.
STATE_END_RE = re.compile(
    rf"\b({MALAYSIAN_STATES}"
    rf"|DARUL\s+(EHSAN|TAKZIM|AMAN|NAIM|KHUSUS|RIDZUAN|MAKMUR)|D\.\s?E|{COUNTRIES})\W*$", re.I)
# What may still follow a state: the rest of its name ("SELANGOR" / "DARUL EHSAN"), the country.
STATE_REST_RE = re.compile(rf"^\W*(DARUL\s+\w+|D\.\s?E\.?|{COUNTRIES})\W*$", re.I)
# A chain's branch code and place under an address that ended in a state ("1214-JINJANG UTARA",
# "1317 TRILLIUM S6 BESI"): where the receipt was issued, so the end of its address. Upper
# case, as printed; three or four digits, so neither a postcode nor a phone number.
BRANCH_RE = re.compile(r"^\s*\d{3,4}(\s*-\s*|\s+)[A-Z][A-Z0-9 .'-]{2,}$")
# The postcode and state printed again on a row of their own ("95, BEACH ROAD, 10300 PENANG." /
# "10400 PENANG."): the postal district of an address that already ended in a state, in any
# case ("10400 Penang.").
POSTCODE_STATE_RE = re.compile(r"^\W*\d{5}\s+[A-Z][A-Z ]*\W*$", re.IGNORECASE)
# A street number on a row of its own ("NO.19 & 21"): too few letters for a printed row above
# the name, but the first row of an address below it.
NUMBER_ROW_RE = re.compile(r"^\W*(NO|LOT)\b\W*\d", re.I)
# A legal-form or trade word that usually ends the company name.
COMPANY_SUFFIX_RE = re.compile(
    rf"\b({SDN}\.?\s*{BHD}\.?|BHD\.?|BERHAD|ENTERPRISES?|TRADING|CO\.?|COMPANY|CORPORATION"
    r"|RESTAURANT|RESTORAN|HARDWARE|MARKET|MART|STORE|SHOP|CAFE|BAKERY|STATIONERY|PHARMACY"
    r"|ELECTRICAL|PLT|LTD\.?|LIMITED|INC\.?|HOLDINGS?|INDUSTRIES|SERVICES?|CENTRE|CENTER"
    r"|PERNIAGAAN|KEDAI|TRADING\s+CO\.?)\W*$",
    re.IGNORECASE,
)
# A tax registration row ("GSTID:001018802176", "GST Reg No : 0016..."), printed above the
# address as often as below it.
TAX_ID_RE = re.compile(r"^\W*(GST|SST)", re.I)
# Where an address row stops being an address: a contact keyword inside the same row.
ADDRESS_CUT_RE = re.compile(
    rf"\s*\b(TEL|TE[1I]|FAX|H/?P|PHONE|{GST_WORD}|E-?MAIL)\b.*$|\s*\bT\s*:.*$",
    re.IGNORECASE,
)
# A clock time ("1:40AM", "03:22 PM", "12:42:07"), printed beside a name or an address by the
# till, or on a row of its own ("TIME 1:40AM").
CLOCK_RE = re.compile(r"\s*(?<![\d:])\d{1,2}:\d{2}(:\d{2})?(\s?[AP]\.?M\b)?(?![\d:])",
                      re.IGNORECASE)
_CLOCK_ROW_RE = re.compile(rf"^\W*(TIME\W*)?{CLOCK_RE.pattern}\W*$", re.IGNORECASE)
# A legal form: the strongest sign that a row is the seller's registered name.
LEGAL_FORM_RE = re.compile(rf"\b({SDN}\.?\s*{BHD}|BERHAD|PLT|[S5]\s?/\s?[BD])\b|\bBHD\b", re.I)
# A trade word strong enough to end a name even on a short row ("Ottogo Enterprise").
STRONG_SUFFIX = r"\b(ENTERPRISES?|TRADING|HARDWARE)\b"
STRONG_SUFFIX_RE = re.compile(STRONG_SUFFIX, re.I)
# A counter/branch code before the name ("#000002 BAIFU (M) Sdn Bhd") and a registration number
# printed after the name on the same row: "... SDN BHD (256864-P)"; not a store's number after
# "#", which is part of its name ("PIZZA HUT #744007").
LEADING_CODE_RE = re.compile(r"^\s*#\S*\s+")
# The registration clause printed after a legal form on the name's row: "(Co. No:20154-T)".
REG_CLAUSE_RE = re.compile(rf"\s*\(?\s*{REG_KEYWORD}\b.*$", re.IGNORECASE)
TRAILING_REG_RE = re.compile(
    r"(?<![#\d])\s*\(?\s*\b[A-Z]{0,2}\s?[\dSO]\d{3,}[\s·.-]*[A-Z]?\s*\)?\W*$", re.I)
# A row starting with a legal form: the second half of a name split over two rows.
LEGAL_START_RE = re.compile(rf"^\W*(CO\b|CO\.|\(M\)|{SDN}|BHD|BERHAD|ENTERPRISE|TRADING)", re.I)
# A unit's row under its street ("Ste# 1801", "Space #1050"): its "#" is the address's.
UNIT = r"(SUITE|STE|SPACE|APT)\W{0,2}\d"
UNIT_RE = re.compile(rf"^\W*{UNIT}", re.IGNORECASE)
# A row that starts like an address ("NO.53", "LOT 1851", "67,JLN", "JALAN ...", a unit "D-08,",
# "Ste# 1801", "Space #1050").
ADDRESS_START_RE = re.compile(
    r"^\W*(NO\b|NO\.|LOT\b|\d+|JALAN|JLN|JL\b|JL\.|J[I1]\.|BLOK|BLOCK|UNIT|WISMA|TINGKAT|LEVEL"
    rf"|KM\b|PT\b|[A-Z]{{1,2}}-?\d|{UNIT})",
    re.IGNORECASE,
)

# English street words ending a street row ("Sawmill Rd.", "18 murray street").
STREET_END_RE = re.compile(
    r"\b(RD|ROAD|ST|STREET|AVE|AVENUE|BLVD|DR|DRIVE|HWY|HIGHWAY|LANE|LN)\b\.?$", re.IGNORECASE)
# A European street row, its number after the name ("Calle Far, 7", "Oude Doelenstraat 1",
# "Große Pfarrgasse 11. 1020 Wien", "VIA ALEARDI 22 MILANO"): a street word of its language,
# words without digits, a house number, then the end, a town or a postcode. Without the street
# word a number after words is as often a store's ("CONNOR ESSENDON 206", "Shop 32").
STREET_NUMBER_LAST_RE = re.compile(
    r"^(?=.*(\b(VIA|VIALE|CORSO|PIAZZA|CALLE|AVENIDA|AVDA|PLAZA|PASEO|CARRER|RUA|RUE|AVENUE"
    r"|BOULEVARD|PLACE|CHAUSS[EÉ]E|ALL[EÉ]E|LARGO)\b|(STRAAT|STRASSE|STRAẞE|GASSE|WEG|PLEIN"
    r"|LAAN|GRACHT|KADE|PLATZ|DAMM|UFER|VEJ|GATAN|V[AÄ]GEN|KATU)\b))"
    r"[^\W\d][^\d]*?,?\s[1-9]\d{0,3}[A-Z]?(/\d{1,4})?\W*((\s[^\W\d]+)?\W*$|\s\d{4,5}\b)",
    re.IGNORECASE)
# A row that is a North American phone number alone ("(214) 652-4800", "#(609)-298-4650"), or
# that starts with a phone's label ("Tel: 5688 7367 Fax: ...").
PHONE_ROW_RE = re.compile(r"^\W*\(?\d{3}\)?[\s.-]*\d{3}[\s.-]*\d{4}\W*$")
CONTACT_START_RE = re.compile(rf"^\W*({PHONE_WORDS})\b", re.IGNORECASE)
# A town and a US state closing an address that prints no ZIP ("EUREKA, CA").
TOWN_STATE_RE = re.compile(rf"^[^\d]+,\s*({US_STATES})\.?\s*$")


@dataclass(frozen=True)
class Header:
    """The rows holding the company name and the address (either may be empty)."""

    company: list[Row]
    address: list[Row]
    postcode_found: bool


def _letters(text: str) -> int:
    return sum(ch.isalpha() for ch in text)


def is_noise(row: Row) -> bool:
    """Rows at the very top that are not part of the printed header.

    SROIE scans often carry a handwritten or stamped name ("tan woon yann", all lower case) or a
    stamped code ("A02045") above the printed header.
    """
    text = row.text.strip()
    letters = _letters(text)
    if letters < 3:
        return True
    # Printed headers are upper or title case; very uncertain reads are logos or smudges. A
    # brand's logo may be one lower-case word the world writes ("meijer", "watsons": wordfreq
    # knows them); a name written by hand is several ("tan woon yann"), a smudge no word.
    # A street row may be printed in lower case too ("18 murray street").
    street = text[0].isdigit() and STREET_END_RE.search(text)
    if text == text.lower() and not street and not (
            text.isalpha() and len(text) >= 4 and zipf(text) > 0):
        return True
    return row.score < 0.6


def is_stamp(row: Row) -> bool:
    """A code stamped or printed above the name ("A02045", "31803010", "#").

    More digits than letters; only meaningful above the name, address rows are often digits.
    """
    text = row.text
    return sum(ch.isdigit() for ch in text) > _letters(text) or is_noise(row)


def is_stop(row: Row) -> bool:
    return bool(STOP_RE.search(row.text))


def is_registration(row: Row) -> bool:
    """A row of the company's registration number; not the name printed with its number
    after it ("Dion Realties Sdn Bhd (Co. No:20154-T)")."""
    reg = REG_RE.search(row.text)
    if reg is None:
        return False
    legal = LEGAL_FORM_RE.search(row.text)
    return legal is None or legal.end() > reg.start()


def _is_date_row(row: Row) -> bool:
    """A row holding a date, or a time alone: it may sit between the name and the address."""
    return has_date(row.text) or bool(_CLOCK_ROW_RE.match(row.text))


def _skippable(row: Row) -> bool:
    """Header rows that are neither name nor address: noise, ids, titles, dates, contacts."""
    return is_noise(row) or is_registration(row) or is_stop(row) or _is_date_row(row)


def _number_row(row: Row) -> bool:
    """A street number alone on its row, read well: noise by its letters, yet an address row."""
    return row.score >= 0.6 and bool(NUMBER_ROW_RE.match(row.text)) and not is_registration(row)


def has_postcode(text: str) -> bool:
    """Whether ``text`` holds a five-digit postcode, not a lot number of five digits."""
    return any(not LOT_NUMBER_RE.search(text[:m.start()]) for m in POSTCODE_RE.finditer(text))


def _postcode_row(top: list[Row]) -> tuple[int, bool] | None:
    """Index of the first row carrying a postcode before any contact keyword on it, and
    whether that postcode ends the address (``FINAL_POSTCODE_RE``). A street number of five
    digits ("10700 FRANCE AVE S") sits a row or two above a state + ZIP row: that row wins."""
    plain = final = None
    street = False  # a street or a town and state read so far
    for i, row in enumerate(top):
        if street and plain is None and (PHONE_ROW_RE.match(row.text)
                                         or CONTACT_START_RE.match(row.text)):
            # The shop's phone under its street closes its address: five digits below it are
            # a server's number ("DALLAS, TX" / "(214) 652-4800" / "20008 Paul H"), not a ZIP.
            break
        street = street or bool(_starts_address(row) or TOWN_STATE_RE.match(row.text))
        cut = ADDRESS_CUT_RE.sub("", row.text)
        # Two letters are enough for a town ("57000 KL"); an invoice's or a till's number
        # ("Invoice:13834", "05/se200209/42193 06/04/17") is no postcode.
        if (_letters(cut) < 2 or is_registration(row) or STOP_RE.search(cut)
                or _is_date_row(row)):
            continue
        if FINAL_POSTCODE_RE.search(cut):
            final = i
            break
        # Five digits on the header's first row, after its name, are a store's number ("ARCO
        # AMPM 42259"); a state and ZIP there still end an address (above).
        if plain is None and i > 0 and (has_postcode(cut) or OTHER_POSTCODE_RE.search(cut)):
            plain = i
    if final is not None and (plain is None or final - plain <= 2):
        return final, True
    return (plain, False) if plain is not None else None


def _company_rows(top: list[Row], postcode: int | None) -> list[int]:
    """Indices of the company rows above the postcode's row (without one, among the first ten
    rows).

    The name is the first run of consecutive printed rows; when the run holds a legal-form row
    (SDN BHD, ENTERPRISE...) the name ends there, and starts one row earlier only when that row
    reads as the first half of the name ("POPULAR BOOK" / "CO. (M) SDN BHD"). Without one, the
    name starts at a row printed much taller than the first (``_tallest``), and a short name
    goes on over the run's next rows in its print (``_name_goes_on``).
    """
    # The street row right above the postcode is the address's, where OCR lost the name above
    # it ("K3-113, JL IBRAHIM SULTAN" / "80300 JOHOR BAHRU").
    end = postcode if postcode is not None else min(len(top), 10)
    street = end - 1 if postcode is not None and end > 0 and "," in top[end - 1].text \
        and ADDRESS_START_RE.match(top[end - 1].text) else None
    candidates = [i for i in range(end)
                  if not (_skippable(top[i]) or is_stamp(top[i]) or i == street)]
    if not candidates:
        return []
    legal = [i for i in candidates if LEGAL_FORM_RE.search(top[i].text)]
    if not legal:
        candidates = candidates[_tallest(top, candidates):]
    run = [candidates[0]]
    for i in candidates[1:]:
        if i != run[-1] + 1 or ADDRESS_START_RE.match(top[i].text) or len(run) >= 3:
            break
        run.append(i)
    if legal:
        # A legal name (SDN BHD) wins over a trade name above or below it: it is the seller.
        # It starts higher while the rows above read as its first parts ("AIK HUAT HARDWARE" /
        # "ENTERPRISE (SETIA" / "ALAM) SDN BHD").
        name = [legal[0]]
        while (len(name) < 3 and name[0] - 1 in candidates
               and _continues(top[name[0] - 1].text, top[name[0]].text)):
            name.insert(0, name[0] - 1)
        return name
    for k, i in enumerate(run):
        if COMPANY_SUFFIX_RE.search(top[i].text):
            if k > 0 and _continues(top[run[k - 1]].text, top[i].text):
                return [run[k - 1], i]
            if k > 0:
                return run[:1]
            if top[i].text.rstrip().endswith("&") and len(run) > 1:
                return run[:2]
            return [i]
    first = top[run[0]].text.rstrip()
    if len(run) > 1 and first.endswith(("&", "-")):
        return run[:2]
    name = run[:1]
    while len(name) < len(run) and _name_goes_on(top[name[-1]], top[run[len(name)]],
                                                 " ".join(top[i].text for i in name)):
        name.append(run[len(name)])
    return name


# A row this much taller than the first printed one is the name in its sign's letters; the
# small rows above it are a slogan or a promotion ("Win 1 of 5 prizes of £200" / "Morrisons").
# Looked for among the first rows only, and not where a legal name (SDN BHD) names the seller.
TALLER = 1.6
TALL_ROWS = 6


def _tallest(top: list[Row], candidates: list[int]) -> int:
    """Position in ``candidates`` where the name starts: the first, unless one of the first
    ``TALL_ROWS`` is ``TALLER`` than it (the tallest of those)."""
    first = top[candidates[0]].height
    near = candidates[:TALL_ROWS]
    best = max(range(len(near)), key=lambda k: top[near[k]].height)
    tall = top[near[best]]
    # A street's or a unit's row is printed tall too ("18 SHATIN CENTRE STREET"); a row whose
    # box holds another row's middle is two rows read as one, or tilted: its height says nothing.
    y0, y1 = tall.box[1], tall.box[3]
    if (any(ch.isdigit() for ch in tall.text) or _letters(tall.text) < 4
            or any(y0 < (row.box[1] + row.box[3]) / 2 < y1 for row in top if row is not tall)):
        return 0
    return best if tall.height >= TALLER * max(first, 1e-6) else 0


# What ends a name on its row: a store's number, a rule of stars.
_NAME_END_RE = re.compile(r"#\s*\d+\W*$|[*=~]{2,}\W*$")


def _name_goes_on(above: Row, row: Row, name: str) -> bool:
    """Whether ``row`` carries on a short name broken over rows in the same print ("SALVATION"
    / "ARMY", "Basil Thai" / "Restaurant & Bar"): a word or two so far, and a row of as tall
    letters with a few words and no digits (a slogan or a branch is printed smaller). A store
    number or a rule of stars ends a name ("GOLDBERGS #88", "****CARREFOUR***"); a town and
    state or a street is the address."""
    text = row.text
    if len(name.split()) > 2 or len(text.split()) > 3 or _NAME_END_RE.search(above.text):
        return False
    if any(ch.isdigit() or ch == "," for ch in text) or TOWN_STATE_RE.match(text):
        return False
    return not STREET_END_RE.search(text) and 0.8 <= row.height / max(above.height, 1e-6) <= 1.25


def _continues(above: str, row: str) -> bool:
    """Whether ``row`` is the second half of a name that starts on the row ``above``.

    True when the row above ends with a connector ("HOME MASTER HARDWARE &"), when ``row``
    starts with a legal form ("CO. (M) SDN BHD") or is little more than one ("Ottogo
    Enterprise", "STATIONERY SDN.BHD").
    """
    if above.rstrip().endswith(("&", "-", ",")) or LEGAL_START_RE.match(row):
        return True
    rest = LEGAL_FORM_RE.sub("", STRONG_SUFFIX_RE.sub("", row))
    return len(rest.split()) <= 1 and len(row.split()) <= 3


def _starts_address(row: Row) -> bool:
    return bool(ADDRESS_START_RE.match(row.text) or STREET_NUMBER_LAST_RE.match(row.text))


def _address_start(rows: list[Row]) -> list[Row]:
    """Drop shop/branch names printed between the company and the address.

    The address starts at its first row that reads like a street address ("NO.53", "LOT 1",
    "12, JALAN"), or earlier only when the rows above end with a comma (continued address:
    "S117, Second Floor,").
    """
    starts = [k for k, row in enumerate(rows) if _starts_address(row)]
    if not starts:
        return list(rows)
    k = starts[0]
    while k > 0 and rows[k - 1].text.rstrip().endswith(","):
        k -= 1
    return list(rows[k:])


def find_header(rows: list[Row]) -> Header:
    """Locate the company rows and the address rows at the top of the receipt.

    The postcode row anchors the address (it is the most reliable thing in a header): the address
    runs from below the company name down to it, skipping id/date rows printed in between, plus a
    state row after it. Without a postcode the address is the few rows below the name.
    """
    top = rows[:HEADER_ROWS]
    found = _postcode_row(top)
    postcode, final = found if found is not None and found[0] <= 10 else (None, False)
    company_idx = _company_rows(top, postcode)
    company = [top[i] for i in company_idx]
    first = company_idx[-1] + 1 if company_idx else 0
    address: list[Row] = []
    if postcode is not None:
        above = [
            top[i] for i in range(first, postcode)
            if not ((_skippable(top[i]) and not _number_row(top[i]))
                    or LEGAL_FORM_RE.search(top[i].text))
        ][-5:]
        address = _address_start(above)
        if final and not any(_starts_address(row) for row in address):
            # A state + ZIP row closes a street row that starts with its number; rows above
            # that do not are the shop's name or slogan.
            address = [row for row in address if row.text.rstrip().endswith(",")]
        address.append(top[postcode])
        ended = STATE_END_RE.search(top[postcode].text)  # the last row taken ends in a state
        i = postcode + 1
        # A state or city row may follow the postcode: "JOHOR.", "SELANGOR DARUL EHSAN".
        while i < len(top) and len(address) < 7:
            text = top[i].text
            state = STATE_END_RE.search(text)  # "Petaling Jaya, Selangor Darul Ehsan."
            if _skippable(top[i]) or any(ch.isdigit() for ch in text) or (
                    len(text.split()) > 4 and not state):
                break
            if final and not COUNTRY_RE.match(text):
                break
            if ended and not STATE_REST_RE.match(text):
                break
            address.append(top[i])
            ended = state
            i += 1
        if ended and not final and i < len(top) and not _skippable(top[i]) and (
                BRANCH_RE.match(top[i].text)
                or (POSTCODE_STATE_RE.match(top[i].text) and STATE_END_RE.search(top[i].text))):
            address.append(top[i])
    else:
        for row in top[first:]:
            if address and PHONE_ROW_RE.match(row.text):
                break  # the shop's phone under its address (no letters: it reads as noise)
            # A tax id may sit between the name and the address.
            if is_registration(row) or is_noise(row) or (
                    not address and TAX_ID_RE.search(row.text)):
                continue
            if is_stop(row) or _is_date_row(row) or len(address) >= 3 or (
                    address and ADDRESS_END_RE.search(row.text) and not UNIT_RE.match(row.text)):
                break
            address.append(row)
            if TOWN_STATE_RE.match(row.text):
                # A town and state end the address; rows above it that do not read as a
                # street are the shop's slogan or branch ("DRESS FOR LESS" / "EUREKA, CA").
                if not any(_starts_address(r) for r in address):
                    address = [r for r in address[:-1] if r.text.rstrip().endswith(",")] + [row]
                break
        address = _address_start(address)
    return Header(company=company, address=address, postcode_found=postcode is not None)


def address_text(row: Row) -> str:
    """The address part of a row: contact details printed on the same row are cut off."""
    return CLOCK_RE.sub("", ADDRESS_CUT_RE.sub("", row.text)).strip()
