"""Receipts as people have them, through the upload page in a real browser: a digital PDF, a
receipt cut over a two-page PDF, a HEIC photo and a sideways photo come back with fields, and
the receipt page shows page thumbnails, turns pages by keyboard and draws a field's box on the
page it was read from."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from helpers import DATA
from helpers import document_forms as forms
from PIL import Image
from test_ui import FIELDS, _log_in, _upload, _wait_batch_done  # the same steps as a person's

pytestmark = pytest.mark.slow

LINES = json.loads((DATA / "sroie-000-lines.json").read_text())


def _files(folder: Path) -> dict[str, Path]:
    image = Image.open(DATA / "sroie-000.jpg").convert("RGB")
    pages, _ = forms.cut_in_two(image, LINES)
    made = {
        "digital.pdf": forms.digital_pdf([(image.size, LINES)]),
        "two-pages.pdf": forms.scanned_pdf(pages),
        "phone.heic": forms.heic(image),
        "sideways.jpg": forms.jpeg(forms.turned(image, 90)),
    }
    for name, data in made.items():
        (folder / name).write_bytes(data)
    return {name: folder / name for name in made}


def test_pdfs_heic_and_a_sideways_photo_through_the_upload_page(
        live_server, pipeline, browser, accounts, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    page = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
    page.set_default_timeout(20_000)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    _log_in(page, live_server.url, accounts["reviewer"])
    files = _files(tmp_path)
    _upload(page, list(files.values()), "documents")
    _wait_batch_done(page, len(files))
    # Every form reads the receipt's total.
    for name in files:
        row = page.locator("tr", has=page.get_by_role("link", name=name))
        expect(row.locator("td").nth(2 + FIELDS.index("total"))).to_have_text("9.00")

    # The two-page PDF: thumbnails, PageDown/PageUp, the total's box drawn on page 2.
    page.get_by_role("link", name="two-pages.pdf").click()
    thumbs = page.locator("#pages .thumb")
    expect(thumbs).to_have_count(2)
    image = page.locator("#receipt-image")
    expect(image).to_have_attribute("data-page", "1")
    page.keyboard.press("PageDown")
    expect(image).to_have_attribute("data-page", "2")
    expect(thumbs.nth(1)).to_have_class(re.compile(r"\bcurrent\b"))
    page.keyboard.press("PageUp")
    expect(image).to_have_attribute("data-page", "1")
    page.locator("#f-total").focus()
    expect(image).to_have_attribute("data-page", "2")
    expect(page.locator("#box")).to_be_visible()
    page.locator("#f-company").focus()
    expect(image).to_have_attribute("data-page", "1")

    # The sideways photo is shown upright, and says what was done.
    page.go_back()
    page.get_by_role("link", name="sideways.jpg").click()
    expect(page.locator("#page-notes")).to_contain_text("turned 270° to read it upright")
    # The notes can show before the image has loaded (its size reads 0 x 0 until then).
    page.wait_for_function("() => { const i = document.querySelector('#receipt-image');"
                           " return i.complete && i.naturalWidth > 0; }")
    natural = page.evaluate("() => { const i = document.querySelector('#receipt-image');"
                            " return [i.naturalWidth, i.naturalHeight]; }")
    assert natural[1] > natural[0], "the page is still shown on its side"
    assert errors == []
