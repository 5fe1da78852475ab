"""`receiptflow eval` prints fuzzy and exact per field, scores a trained version
(`--version`) and labels written without spaces (`--normalize`); `train` shows progress."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli.main import cli
from tests.helpers import receipt_pdf

pytest.importorskip("sklearn")

SHOPS = ["KEDAI RUNCIT MAJU SDN BHD", "SYARIKAT ABC TRADING", "RESTORAN SRI BAYU",
         "KEDAI BUKU ILMU", "PASAR MINI JAYA", "KEDAI ROTI SEDAP", "SYARIKAT XYZ SDN BHD",
         "RESTORAN NASI KANDAR", "KEDAI KOPI LAMA", "PASAR RAYA BESAR"]


def _folder(root: Path) -> Path:
    """Ten digital PDFs (no OCR: the text layer) whose reviewers write totals as "RM 12.30"."""
    (root / "images").mkdir(parents=True)
    (root / "labels").mkdir()
    for i, shop in enumerate(SHOPS):
        total = f"{10 + i}.{i}0"
        (root / "images" / f"r{i}.pdf").write_bytes(receipt_pdf(
            shop, f"NO {i + 1}, JALAN BUKIT 2,", "81100 JOHOR BAHRU", f"DATE: {i + 1:02d}/12/2018",
            f"TOTAL  {total}", "CASH  50.00"))
        (root / "labels" / f"r{i}.json").write_text(json.dumps({
            "company": shop.replace(" ", ""), "date": f"{i + 1:02d}/12/2018",
            "total": f"RM {total}"}))
    return root


def _table(output: str) -> dict[str, tuple[float, float]]:
    rows = re.findall(r"^\s+(\w+)\s+([\d.]+)\s+([\d.]+)$", output, re.MULTILINE)
    return {name: (float(fuzzy), float(exact)) for name, fuzzy, exact in rows}


def test_eval_scores_fuzzy_and_exact_normalised_and_a_trained_version(
        services: dict[str, str], tmp_path: Path) -> None:
    folder = _folder(tmp_path / "set")
    runner = CliRunner()
    plain = runner.invoke(cli, ["eval", str(folder), "--engine", "ocr"])
    assert plain.exit_code == 0, plain.output
    rules = _table(plain.output)
    # Totals are right as numbers ("RM 10.00" == "10.00") though their printed forms differ;
    # the company is written without spaces, so only --normalize finds it right in fuzzy.
    assert rules["total"][1] == 100.0 and rules["total"][0] < 90
    assert rules["company"][1] == 100.0 and rules["company"][0] < 100
    normalised = _table(runner.invoke(cli, ["eval", str(folder), "--engine", "ocr",
                                            "--normalize"]).output)
    assert normalised["company"][0] == 100.0 and normalised["total"][0] == 100.0

    trained = runner.invoke(cli, ["train", "--engine", "ocr", "--folder", str(folder),
                                  "--held-out", "0.3"])
    assert trained.exit_code == 0, trained.output
    assert "training" in trained.output  # the progress bar (on stderr, mixed in here)
    report = json.loads(trained.output[trained.output.index("{"):])
    assert report["metrics"]["candidate"]["exact"]["total"] == 100.0
    version = report["model_version"]
    scored = runner.invoke(cli, ["eval", str(folder), "--version", str(version)])
    assert scored.exit_code == 0, scored.output
    assert f"version {version}" in scored.output
    # The version learned the reviewers' "RM " convention: the printed totals now match too.
    assert _table(scored.output)["total"][0] == 100.0

    missing = runner.invoke(cli, ["eval", str(folder), "--version", "999999"])
    assert missing.exit_code != 0 and "does not exist" in missing.output
