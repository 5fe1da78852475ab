"""The training page's reliability diagrams for the SROIE calibration benchmark's results, as a
screenshot (``docs/screenshots/07-calibration.png``).

The calibrations ``calibration.py`` fitted are stored in a scratch SQLite database as a
deployment would hold them: the rules' as the ``ocr/base`` scope, the learned version's as
``ocr/v1`` (a version registered for it); ``receiptflow web`` serves the training page and
Debian's chromium takes the shot. A Redis server is needed for the web's health check.

    python benchmarks/calibration_screenshot.py --out docs/screenshots/07-calibration.png
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
CHROMIUM = os.environ.get("RECEIPTFLOW_CHROMIUM", "/usr/bin/chromium")
PASSWORD = "screenshot-password-1"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _store(rules: Path, learned: Path) -> None:
    """The two benchmark results' calibrations as the deployment's rows, and an admin."""
    from shared.db.models import CalibrationFit, ModelStatus, ModelVersion
    from shared.db.session import session_scope
    from web.auth.users import create_user

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
        create_user(session, "admin", PASSWORD, "admin")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rules", type=Path, default=RESULTS / "calibration-sroie-dev-rules.json")
    p.add_argument("--learned", type=Path,
                   default=RESULTS / "calibration-sroie-dev-learned.json")
    p.add_argument("--redis", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/14"))
    p.add_argument("--out", type=Path, required=True)
    args = p.parse_args(argv)
    scratch = Path(tempfile.mkdtemp(prefix="receiptflow-screenshot-"))
    env = {**os.environ, "RECEIPTFLOW_DATA_DIR": str(scratch),
           "DATABASE_URL": f"sqlite:///{scratch / 'receiptflow.sqlite3'}",
           "REDIS_URL": args.redis, "RECEIPTFLOW_DEVELOPMENT": "true",
           "RECEIPTFLOW_COOKIE_SECURE": "false"}
    root = str(HERE.parent)
    subprocess.run([sys.executable, "-m", "cli.main", "db", "upgrade"], env=env, cwd=root,
                   check=True)
    os.environ.update(env)  # before the settings are read
    sys.path.insert(0, root)
    _store(args.rules, args.learned)

    port = _free_port()
    web = subprocess.Popen([sys.executable, "-m", "cli.main", "web", "--port", str(port)],
                           env=env, cwd=root, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                if requests.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            time.sleep(0.3)
        from playwright.sync_api import sync_playwright

        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM,
                                         args=["--headless", "--no-sandbox", "--disable-gpu"])
            page = browser.new_context(viewport={"width": 1300, "height": 900}).new_page()
            page.goto(f"{url}/login")
            page.get_by_label("Username").fill("admin")
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Log in").click()
            page.wait_for_url("**/batches")
            page.goto(f"{url}/training")
            page.locator('[data-scope="ocr/base"] figure').first.wait_for()
            page.locator('[data-scope="ocr/base"]').scroll_into_view_if_needed()
            args.out.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(args.out), full_page=True)
            browser.close()
    finally:
        web.terminate()
        web.wait(timeout=20)
    print(args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
