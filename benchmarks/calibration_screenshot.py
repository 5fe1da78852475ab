"""The training page's reliability diagrams for the SROIE calibration benchmark's results, as a
screenshot (``docs/screenshots/07-calibration.png``).

The calibrations ``calibration.py`` fitted are stored in a scratch SQLite database as a
deployment would hold them: the rules' as the ``ocr/base`` scope, the learned version's as
``ocr/v1`` (a version registered for it); ``receiptflow web`` (started as the fault suite starts
it, ``faults/harness.py``) serves the training page and Debian's chromium takes the shot. A
Redis server is needed for the web's health check.

    python benchmarks/calibration_screenshot.py --out docs/screenshots/07-calibration.png
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from faults.harness import ADMIN, ADMIN_PASSWORD, Product  # noqa: E402

RESULTS = HERE / "results"
CHROMIUM = os.environ.get("RECEIPTFLOW_CHROMIUM", "/usr/bin/chromium")


def _store(rules: Path, learned: Path) -> None:
    """The two benchmark results' calibrations as the deployment's rows."""
    from shared.db.models import CalibrationFit, ModelStatus, ModelVersion
    from shared.db.session import session_scope

    with session_scope() as session:
        version = ModelVersion(engine="ocr", name="learned from 146 SROIE corrections",
                               base_model="rules", status=ModelStatus.CANDIDATE)
        session.add(version)
        session.flush()
        for path, scope, version_id in ((rules, "ocr/base", None),
                                        (learned, f"ocr/v{version.id}", version.id)):
            for name, cal in json.loads(path.read_text())["calibrations"].items():
                session.add(CalibrationFit(scope=scope, engine="ocr", model_version_id=version_id,
                                           field=name, data=cal, samples=cal["samples"],
                                           source="training"))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    # With dates and totals required (RECEIPTFLOW_AUTO_ACCEPT_FIELDS=date,total): on SROIE's
    # labels no cuts meet 1% with all four fields required.
    p.add_argument("--rules", type=Path,
                   default=RESULTS / "calibration-sroie-dev-rules-date-total.json")
    p.add_argument("--learned", type=Path,
                   default=RESULTS / "calibration-sroie-dev-learned-date-total.json")
    p.add_argument("--redis", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/14"))
    p.add_argument("--out", type=Path, required=True)
    args = p.parse_args(argv)
    scratch = Path(tempfile.mkdtemp(prefix="receiptflow-screenshot-"))
    product = Product(scratch, f"sqlite:///{scratch / 'receiptflow.sqlite3'}", args.redis)
    product.setup()
    os.environ.update(product.env)  # the same database, before the settings are read
    _store(args.rules, args.learned)
    product.start_web()
    try:
        from playwright.sync_api import sync_playwright

        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM,
                                         args=["--headless", "--no-sandbox", "--disable-gpu"])
            page = browser.new_context(viewport={"width": 1300, "height": 900}).new_page()
            page.goto(f"{product.url}/login")
            page.get_by_label("Username").fill(ADMIN)
            page.get_by_label("Password").fill(ADMIN_PASSWORD)
            page.get_by_role("button", name="Log in").click()
            page.wait_for_url("**/batches")
            page.goto(f"{product.url}/training")
            page.locator('[data-scope="ocr/base"] figure').first.wait_for()
            page.locator('[data-scope="ocr/base"]').scroll_into_view_if_needed()
            args.out.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(args.out), full_page=True)
            browser.close()
    finally:
        product.web.stop()
    print(args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
