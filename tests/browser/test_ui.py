"""The web UI in a real browser: the whole learning loop as a person does it (log in, upload,
watch the batch, review with the keyboard, train, promote, see the next batch use the new
version), and what a reviewer may not see."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from helpers import DATA, sample_images

CHROMIUM = os.environ.get("RECEIPTFLOW_CHROMIUM", "/usr/bin/chromium")
if not Path(CHROMIUM).exists():
    pytest.skip(f"no browser at {CHROMIUM}: install Debian's chromium: apt-get install chromium",
                allow_module_level=True)
try:
    from playwright.sync_api import Page, expect
except ImportError:
    pytest.skip("playwright is not importable: install the dev extra "
                "(and Debian's chromium: apt-get install chromium)", allow_module_level=True)

pytestmark = pytest.mark.slow

FIELDS = ("company", "date", "address", "total")
BATCH_TIMEOUT_MS = 240_000
TRAINING_TIMEOUT_MS = 300_000


def _label(name: str) -> dict[str, str]:
    return json.loads((DATA / name).with_suffix(".json").read_text())


def _log_in(page: Page, url: str, account: dict[str, str], shot: Path | None = None) -> None:
    page.goto(f"{url}/")
    expect(page).to_have_url(re.compile(r"/login\b"))
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    page.get_by_label("Username").fill(account["username"])
    page.get_by_label("Password").fill(account["password"])
    if shot:
        page.screenshot(path=shot)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/batches$"))
    expect(page.locator("nav")).to_contain_text(account["username"])


def _upload(page: Page, images: list[Path], name: str) -> int:
    """Upload through the form; returns the batch id of the batch page it lands on."""
    page.locator("nav").get_by_role("link", name="Upload").click()
    expect(page.get_by_role("heading", name="Upload receipts")).to_be_visible()
    page.get_by_label("Batch name").fill(name)
    page.set_input_files("#files", [str(p) for p in images])
    expect(page.locator("#chosen")).to_have_text(f"{len(images)} file(s) chosen")
    page.get_by_role("button", name="Upload").click()
    page.wait_for_url(re.compile(r"/batches/\d+$"))
    batch_id = int(page.url.rsplit("/", 1)[1])
    expect(page.get_by_role("heading", name=f"Batch {batch_id} {name}")).to_be_visible()
    return batch_id


def _wait_batch_done(page: Page, n: int) -> None:
    progress = page.locator("[data-batch]")
    expect(progress.locator(".done")).to_have_text(str(n), timeout=BATCH_TIMEOUT_MS)
    expect(progress.locator(".failed")).to_have_text("0")
    # Finished: progress.js reloads once, so the table shows the values.
    expect(progress).to_have_attribute("data-reload-when-finished", "no",
                                       timeout=BATCH_TIMEOUT_MS)
    expect(page.locator("td.status-done")).to_have_count(n)


def _receipt_name(page: Page) -> str:
    return page.locator("h1").inner_text().split()[0]


def _review_with_keyboard(page: Page, label: dict[str, str]) -> None:
    """Type every field's label value, moving down with ↓, then Enter: save and next."""
    for i, field in enumerate(FIELDS):
        expect(page.locator(f"#f-{field}")).to_be_focused()
        page.keyboard.type(label[field])  # the focused field's text is selected: replaced
        if i < len(FIELDS) - 1:
            page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")


def test_learning_loop_through_the_ui(live_server, pipeline, browser, accounts,
                                      screenshots) -> None:
    url = live_server.url
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.set_default_timeout(20_000)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    # 1. Log in as an admin.
    _log_in(page, url, accounts["admin"], screenshots / "01-login.png")
    expect(page.locator("nav").get_by_role("link", name="Training")).to_be_visible()

    # 2. Upload six receipts and watch the batch finish without reloading.
    images = sample_images(6)
    assert len(images) == 6
    batch_id = _upload(page, images, "browser first")
    counts = page.locator("[data-batch]")
    initial = int(counts.locator(".done").inner_text())
    assert initial < 6, "the batch finished before its page loaded: cannot see live progress"
    page.evaluate("window.__sameDocument = true")
    # The count moves while the document stays the same one (no reload yet).
    page.wait_for_function(
        "n => window.__sameDocument === true"
        " && +document.querySelector('[data-batch] .done').textContent > n",
        arg=initial, timeout=BATCH_TIMEOUT_MS)
    live = int(counts.locator(".done").inner_text())
    assert initial < live <= 6
    _wait_batch_done(page, 6)
    page.screenshot(path=screenshots / "02-batch.png", full_page=True)

    # 3. Review queue for this batch, then keyboard-only review.
    page.locator("nav").get_by_role("link", name="Review").click()
    expect(page.get_by_role("heading", name="Review queue")).to_be_visible()
    page.get_by_label("Batch").fill(str(batch_id))
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("main")).to_contain_text("6 unreviewed")
    page.locator("#start-review").click()
    page.wait_for_url(re.compile(rf"/receipts/\d+\?batch={batch_id}$"))
    first_url = page.url
    first_name = _receipt_name(page)
    first_label = _label(first_name)

    company = page.locator("#f-company")
    expect(company).to_be_focused()  # review.js focuses the first field
    page.keyboard.press("ArrowDown")
    expect(page.locator("#f-date")).to_be_focused()
    page.keyboard.press("ArrowUp")
    expect(company).to_be_focused()
    page.keyboard.press("ArrowUp")  # wraps around to the last field
    expect(page.locator("#f-total")).to_be_focused()
    page.keyboard.press("ArrowDown")
    expect(company).to_be_focused()

    # A field whose value was located on the image shows its box on hover and on focus.
    box = page.locator("#box")
    boxed = page.locator("#review-form input[data-box]")
    assert boxed.count() >= 1, "no field of the first receipt has a box to highlight"
    page.mouse.move(0, 0)
    boxed.first.hover()
    expect(box).to_be_visible()
    size = box.bounding_box()
    assert size is not None and size["width"] > 0 and size["height"] > 0
    page.screenshot(path=screenshots / "03-review.png")
    page.mouse.move(0, 0)
    # Focus alone (↓ around all fields, back to the first): box shown iff the field has one.
    for field in (*FIELDS[1:], FIELDS[0]):
        page.keyboard.press("ArrowDown")
        field_input = page.locator(f"#f-{field}")
        expect(field_input).to_be_focused()
        if field_input.get_attribute("data-box"):
            expect(box).to_be_visible()
        else:
            expect(box).to_be_hidden()
    # Correct the receipt to its label, keyboard only (the first field's text is selected).
    extracted_total = page.locator("#f-total").get_attribute("data-extracted")
    _review_with_keyboard(page, first_label)
    page.wait_for_url(lambda u: u != first_url and "/receipts/" in u)
    assert _receipt_name(page) != first_name  # the next receipt opened

    history_page = context.new_page()
    history_page.goto(first_url)
    history = history_page.locator("#history")
    expect(history).to_be_visible()
    row = history.locator("tr").nth(1)
    expect(row.locator("td").nth(1)).to_have_text(accounts["admin"]["username"])
    expect(row.locator("td").nth(2)).to_contain_text(f"total: {first_label['total']}")
    expect(row.locator("td").nth(2)).to_contain_text(f"company: {first_label['company']}")
    expect(history_page.locator("#f-total")).to_have_value(first_label["total"])
    assert history_page.locator("#f-total").get_attribute("data-extracted") == extracted_total
    history_page.close()

    # 4. The other five, each corrected to its label.
    reviewed = [first_name]
    for _ in range(5):
        name = _receipt_name(page)
        assert name not in reviewed
        current = page.url
        _review_with_keyboard(page, _label(name))
        page.wait_for_url(lambda u, prev=current: u != prev)
        reviewed.append(name)
    assert sorted(reviewed) == sorted(p.name for p in images)
    expect(page.get_by_role("heading", name="Review queue")).to_be_visible()
    expect(page.locator("main")).to_contain_text("Nothing to review.")

    # 5. Train the OCR engine's learned extractor on the reviewed receipts.
    page.locator("nav").get_by_role("link", name="Training").click()
    expect(page.get_by_role("heading", name="Training", exact=True)).to_be_visible()
    n_reviewed = int(re.search(r"(\d+) reviewed receipts",
                               page.locator("#start-training").inner_text()).group(1))
    assert n_reviewed >= 6
    page.get_by_label("Engine").select_option("ocr")
    page.get_by_label("Held-out fraction").fill("0.34")
    page.get_by_role("button", name="Start training").click()
    page.wait_for_url(re.compile(r"/training/\d+$"))
    run_id = int(page.url.rsplit("/", 1)[1])
    expect(page.get_by_role("heading", name=f"Training run {run_id}")).to_be_visible()
    expect(page.locator("#run-status")).to_have_text("done", timeout=TRAINING_TIMEOUT_MS)
    expect(page.locator("#run-error")).to_have_text("")
    # Done: the page reloads once to offer the candidate.
    expect(page.locator("#candidate")).to_be_visible(timeout=30_000)
    table = page.locator("#eval-table")
    expect(table.locator("tr")).to_have_count(5)  # header, fuzzy × 2, exact % × 2
    expect(table.locator("tr").first.locator("th").last).to_have_text("mean")
    for row_name, prefix in ((1, "current"), (2, "candidate"), (3, "current"),
                             (4, "candidate: exact %")):
        cells = table.locator("tr").nth(row_name).locator("td")
        expect(cells.first).to_contain_text(prefix)
        mean = cells.last.inner_text()
        assert re.fullmatch(r"\d+(\.\d+)?", mean), f"{prefix} mean is {mean!r}"
        assert 0 <= float(mean) <= 100
    # The OCR engine's learned extractor has no loss curve; the plot says so.
    expect(page.locator("#loss-plot #no-loss")).to_have_count(1)
    expect(page.locator("#eval-plot rect")).to_have_count(2 * 5)  # (4 fields + mean) × 2
    heights = [float(h) for h in page.locator("#eval-plot rect").evaluate_all(
        "rs => rs.map((r) => r.getAttribute('height'))")]
    assert any(h > 0 for h in heights)
    page.screenshot(path=screenshots / "04-training-run.png", full_page=True)

    # 6. Promote the candidate; the training page shows it active.
    version_id = int(re.search(r"model version (\d+)",
                               page.locator("#candidate").inner_text()).group(1))
    expect(page.locator("#candidate")).to_contain_text("(candidate)")
    page.locator("#promote").click()
    page.wait_for_url(re.compile(rf"/training/{run_id}$"))
    expect(page.locator(".flash")).to_contain_text(f"version {version_id}")
    expect(page.locator("#candidate")).to_contain_text("(active)")
    expect(page.locator("#promote")).to_have_count(0)
    page.locator("nav").get_by_role("link", name="Training").click()
    version_row = page.locator(f'#versions tr[data-version="{version_id}"]')
    expect(version_row.locator("td").nth(3)).to_have_text("active")
    expect(version_row.get_by_role("button")).to_have_count(0)
    expect(page.locator("#runs")).to_contain_text(accounts["admin"]["username"])
    page.screenshot(path=screenshots / "05-versions.png", full_page=True)

    # 7. The next batch is extracted by the promoted version.
    _upload(page, images[:2], "browser second")
    _wait_batch_done(page, 2)
    page.locator("table a[href^='/receipts/']").first.click()
    page.wait_for_url(re.compile(r"/receipts/\d+$"))
    expect(page.locator("main")).to_contain_text(
        re.compile(rf"Extracted by ocr \([^)]*, version {version_id}\)"))

    assert not errors, f"JavaScript errors: {errors}"
    context.close()


def test_reviewer_sees_no_training(live_server, browser, accounts) -> None:
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(20_000)
    _log_in(page, live_server.url, accounts["reviewer"])
    nav = page.locator("nav")
    expect(nav).to_contain_text("(reviewer)")
    expect(nav.get_by_role("link", name="Review")).to_be_visible()
    expect(nav.get_by_role("link", name="Training")).to_have_count(0)
    expect(nav.get_by_role("link", name="Users")).to_have_count(0)
    resp = page.goto(f"{live_server.url}/training")
    assert resp is not None and resp.status == 403
    expect(page.locator("h1")).to_contain_text("403")
    context.close()
