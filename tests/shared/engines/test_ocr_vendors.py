"""The vendor memory's seller recognition: by the name, or by the numbers a seller prints."""

from __future__ import annotations

from collections.abc import Sequence

from shared.engines.ocr.vendors import VendorMemory, seller_ids

KINDS = {"company": "company", "address": "address"}


def _memory(*receipts: tuple[str, list[str]]) -> VendorMemory:
    return VendorMemory.build([{"company": name} for name, _ in receipts], KINDS,
                              texts=[lines for _, lines in receipts])


def _name(memory: VendorMemory, predicted: str, lines: Sequence[str] = ()) -> str | None:
    seller = memory.seller("company", predicted, lines)
    hit = memory.seller_name("company", seller, predicted) if seller else None
    return hit[0] if hit else None


def test_seller_numbers_are_registration_tax_and_phone_numbers_not_dates_or_amounts() -> None:
    assert seller_ids([
        "CO REG 273500-U", "GST ID: 000306020352", "TEL: 03-6150 3009",
        "2018-01-15 12:30:45", "TOTAL 123456.00", "INV 201816", "TVR 0000008000",
    ]) == {"273500U", "000306020352", "0361503009"}


def test_a_seller_whose_name_is_misread_past_matching_is_known_by_its_numbers() -> None:
    aik = ["AIK HUAT HARDWARE ENTERPRISE (SETIA ALAM) SDN BHD", "(822737-X)",
           "GST NO: 000394528768", "TEL: 03-3362 3608"]
    memory = _memory(("AIK HUAT HARDWARE ENTERPRISE (SETIA ALAM) SDN BHD", aik),
                     ("KEDAI PAPAN YEW CHUAN", ["TEL 03-8768 6092", "GST 000781500416"]))
    new_receipt = ["ENTERPRISE(SETIA ALAM) SDN BHD", "(822737-X)", "GST NO: 000394528768"]
    assert _name(memory, "ENTERPRISE(SETIA ALAM) SDN BHD", new_receipt) == (
        "AIK HUAT HARDWARE ENTERPRISE (SETIA ALAM) SDN BHD")
    assert _name(memory, "CELE R", ["CELE R", "GST 000781500416"]) == "KEDAI PAPAN YEW CHUAN"
    assert _name(memory, "CELE R", ["CELE R", "TEL 03-1111 2222"]) is None  # numbers unknown


def test_a_number_two_sellers_print_names_neither() -> None:
    mall = "MALL HOTLINE 03-2222 7777"
    memory = _memory(("SHOP ONE SDN BHD", [mall]), ("SHOP TWO SDN BHD", [mall]))
    assert _name(memory, "XQ", ["XQ", mall]) is None


def test_a_misread_letter_is_corrected_but_a_name_printed_a_word_shorter_is_kept() -> None:
    memory = _memory(("GARDENIA BAKERIES (KL) SDN BHD", []), ("AEON CO. (M) SDN BHD", []))
    assert _name(memory, "GARDENIA BAKERIES (EL) SDN BHD") == "GARDENIA BAKERIES (KL) SDN BHD"
    assert _name(memory, "AEON CO. (M) BHD") is None  # how this receipt prints it


def test_another_branch_of_a_chain_keeps_its_own_name() -> None:
    memory = _memory(("BHPETROL PERMAS JAYA 2", ["GST ID: 001234567890"]))
    lines = ["BHPETROL SUBANG AIRPORT", "GST ID: 001234567890"]
    assert _name(memory, "BHPETROL SUBANG AIRPORT", lines) is None
    # A name cut short at its end is still the seller's.
    assert _name(memory, "BHPETROL PERMA", ["BHPETROL PERMA", "GST ID: 001234567890"]) == (
        "BHPETROL PERMAS JAYA 2")


def test_an_address_is_recalled_for_a_misread_digit_but_not_for_another_branch() -> None:
    form = "NO.17,JALAN PERMAS 1/7, BANDAR BARU PERMAS JAYA,81750,MASAI"
    memory = VendorMemory.build([{"address": form}, {"address": form}], KINDS)
    misread = "NO.17,JALAN PERMAS 1/7, BANDAR BARU PERMAS JAYA,81760,MASAI"
    assert memory.recall("address", misread, same_numbers=True) == (
        form, memory.recall("address", misread)[1])  # type: ignore[index]
    branch = "NO.12,JALAN PERMAS 10, BANDAR BARU PERMAS JAYA,81750,MASAI"  # two numbers
    assert memory.recall("address", branch) is not None  # close in words
    assert memory.recall("address", branch, same_numbers=True) is None


def test_a_name_already_in_a_form_reviewers_wrote_is_not_rewritten_into_another() -> None:
    memory = _memory(("MR D.I.Y. (M) SDN BHD", []), ("MR D.I.Y. (M) SDN BHD", []),
                     ("MR. D.I.Y. (M) SDN BHD", []))
    assert _name(memory, "MR. D.I.Y. (M) SDN BHD") == "MR. D.I.Y. (M) SDN BHD"
    assert _name(memory, "mr. d.i.y. (M) SDN  BHD") == "MR. D.I.Y. (M) SDN BHD"
    # A misread one takes the form reviewers wrote most.
    assert _name(memory, "MR. D.I.Y. (N) SDN BHD") == "MR D.I.Y. (M) SDN BHD"
    assert memory.recall("company", "MR. D.I.Y. (M) SDN BHD") == (
        "MR. D.I.Y. (M) SDN BHD", memory.recall("company", "MR. D.I.Y. (M) SDN BHD")[1])  # type: ignore[index]


def test_the_o_of_no_before_a_house_number_is_not_read_as_a_zero() -> None:
    form = "NO. 1, JALAN PERMAS 10, 81750 MASAI"
    memory = VendorMemory.build([{"address": form}] * 2, KINDS)
    hit = memory.recall("address", "NO1, JALAN PERMAS 10, 81750 MASAI", same_numbers=True)
    assert hit is not None and hit[0] == form
    assert memory.recall("address", "NO. 1, JALAN PERMAS 1O, 81750 MASAI",
                         same_numbers=True) is not None  # "1O": a zero


def test_a_chain_whose_reviewers_add_the_branch_row_is_told_from_one_that_stops() -> None:
    body = "LOT P.T. 2811, JALAN ANGSA, TAMAN BERKELEY 41150 KLANG, SELANGOR"
    chain = [f"{body} {branch}" for branch in ("1237-TMN INDAH PERDANA", "1214-JINJANG UTARA",
                                               "1225-DENGKIL")] + [body]
    shop = ["NO 8, JALAN 7/118B, DESA TUN RAZAK 56000 KUALA LUMPUR"] * 3
    labels = [{"company": "99 SPEED MART S/B", "address": a} for a in chain] + [
        {"company": "POPULAR BOOK CO. (M) SDN BHD", "address": a} for a in shop]
    memory = VendorMemory.build(labels, KINDS, texts=[[] for _ in labels])
    speedmart = memory.seller("company", "99 SPEED MART S/B", [])
    popular = memory.seller("company", "POPULAR BOOK CO. (M) SDN BHD", [])
    assert speedmart and popular
    assert memory.wants_branch_row(speedmart, body)
    assert memory.wants_branch_row(speedmart, body.replace("ANGSA", "ANG5A"))  # a misread
    assert not memory.wants_branch_row(speedmart, f"{body} 1313-SUBANG BESTARI")  # has it
    assert not memory.wants_branch_row(popular, shop[0])  # its reviewers stop there
    assert not memory.wants_branch_row(None, body)
    one_tail = VendorMemory.build([labels[0], labels[0]], KINDS, texts=[[], []])
    assert not one_tail.wants_branch_row(one_tail.seller("company", "99 SPEED MART S/B", []),
                                         body)  # one branch's row, twice: no convention


def test_a_memory_extended_with_reviews_is_the_memory_of_all_of_them() -> None:
    first = [({"company": "KEDAI MAJU SDN BHD", "address": "NO 5, JALAN SAGU, 81200 JOHOR"},
              ["CO REG 273500-U"])]
    later = [({"company": "KEDAI MAJU SDN BHD", "address": "NO 5, JALAN SAGU, 81200 JOHOR"},
              []),
             ({"company": "RESTORAN WAN SHENG"}, ["GST ID: 000306020352"])]
    built = VendorMemory.build([label for label, _ in first], KINDS,
                               texts=[lines for _, lines in first])
    extended = built.extended([label for label, _ in later], [lines for _, lines in later])
    assert extended == VendorMemory.build([label for label, _ in first + later], KINDS,
                                          texts=[lines for _, lines in first + later])
    # A seller only a review named is known by its name and by the numbers it prints.
    assert _name(built, "RESTORAN WAN SHENG") is None
    assert _name(extended, "RESTORAN WAN SHEMG") == "RESTORAN WAN SHENG"
    assert _name(extended, "RESTORAN ???", ["GST ID: 000306020352"]) == "RESTORAN WAN SHENG"
    assert extended.addresses[built.seller("company", "KEDAI MAJU SDN BHD") or ""] == {
        "NO 5, JALAN SAGU, 81200 JOHOR": 2}


def test_a_name_only_full_stops_apart_from_the_sellers_is_kept_as_printed() -> None:
    memory = _memory(("MR. D.I.Y. (M) SDN BHD", []), ("MR. D.I.Y. (M) SDN BHD", []))
    assert _name(memory, "MR D.I.Y. (M) SDN BHD") == "MR D.I.Y. (M) SDN BHD"  # as printed
    assert _name(memory, "MR D.I.Y. (M) SDN. BHD.") == "MR D.I.Y. (M) SDN. BHD."
    assert _name(memory, "MR. D.I.Y. (M) SDN 8HD") == "MR. D.I.Y. (M) SDN BHD"  # misread
    assert _name(memory, "MR. D.I.Y.: (M) SDN BHD") == "MR. D.I.Y. (M) SDN BHD"  # a speck
