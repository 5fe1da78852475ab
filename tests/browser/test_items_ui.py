"""Line items and review reasons in a real browser: the queue shows why a receipt is flagged,
the receipt page shows typed values and an items table edited by keyboard (Ctrl+Enter adds a
row, Ctrl+Delete removes one), and saving re-runs the rules."""

from __future__ import annotations

import re

import pytest
import requests
from helpers import itemised_receipt
from test_ui import _log_in, _upload, _wait_batch_done

pytestmark = pytest.mark.slow


def test_items_are_edited_by_keyboard_and_the_rules_run_again(
        live_server, pipeline, browser, accounts, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    page = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
    page.set_default_timeout(20_000)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    _log_in(page, live_server.url, accounts["reviewer"])
    path = tmp_path / "short.pdf"
    path.write_bytes(itemised_receipt("12.00"))  # items 11.00, total 12.00
    batch_id = _upload(page, [path], "items")
    _wait_batch_done(page, 1)
    expect(page.locator("tr", has=page.get_by_role("link", name="short.pdf"))).to_contain_text(
        "2 items")

    page.goto(f"{live_server.url}/review?batch={batch_id}&reason=items_sum")
    expect(page.locator("td.reasons")).to_have_text("items sum to 11.00 but the total is 12.00")
    page.get_by_role("link", name="short.pdf").click()
    expect(page.locator("#review-reasons")).to_contain_text("items sum to 11.00")
    expect(page.locator(".field", has=page.locator("#f-date")).locator(".typed")).to_have_text(
        "2018-12-25")
    expect(page.locator(".field", has=page.locator("#f-total")).locator(".typed")).to_have_text(
        "12.00 MYR")

    table = page.locator("#table-items tbody")
    expect(table.locator("tr")).to_have_count(2)
    # Focusing a row shows where it is printed.
    page.get_by_label("amount of row 2").focus()
    expect(page.locator("#box")).to_be_visible()
    # Ctrl+Enter: a new row under row 2, its first cell focused.
    page.keyboard.press("Control+Enter")
    expect(table.locator("tr")).to_have_count(3)
    expect(page.get_by_label("description of row 3")).to_be_focused()
    page.keyboard.type("KEROPOK")
    page.get_by_label("amount of row 3").fill("1.00")
    # Ctrl+Delete removes a row (one typed by mistake), and the names follow the rows.
    page.get_by_label("amount of row 3").focus()
    page.keyboard.press("Control+Enter")
    page.keyboard.type("MISTAKE")
    expect(table.locator("tr")).to_have_count(4)
    page.keyboard.press("Control+Delete")
    expect(table.locator("tr")).to_have_count(3)
    expect(page.get_by_label("description of row 3")).to_have_value("KEROPOK")
    # Enter saves.
    page.get_by_label("description of row 3").press("Enter")
    page.wait_for_url(re.compile(r"/review|/receipts/"))

    api = requests.Session()
    api.headers["Authorization"] = f"Bearer {accounts['reviewer']['token']}"
    batch = api.get(f"{live_server.url}/api/v1/batches/{batch_id}").json()
    receipt = api.get(f"{live_server.url}/api/v1/receipts/{batch['receipts'][0]['id']}").json()
    assert [(i["description"], i["amount"]) for i in receipt["items"]["items"]] == [
        ("TEH TARIK", "3.00"), ("NASI LEMAK", "8.00"), ("KEROPOK", "1.00")]
    assert receipt["review_reasons"] == []
    assert errors == []
