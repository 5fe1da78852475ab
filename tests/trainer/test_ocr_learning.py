"""The CPU engine learns from corrections: trained on labelled receipts, the learned extractor beats
the hand-written rules on receipts it has not seen.

Runs without OCR or the rapidocr cache: the lines are the data set's ground-truth text boxes
(``sroie-dev/ocr``), so it fits in CI (about 75 s on 2 cores).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

pytest.importorskip("sklearn")

from shared.documents.lines import TextLine
from shared.engines.ocr.fields import extract_fields
from shared.engines.ocr.learned import LearnedExtractor
from shared.fields import SROIE_FIELDS
from shared.scoring import ScoreBoard

# The SROIE dev set beside the checkout (../shared/data/sroie-dev), or RECEIPTFLOW_SROIE_DEV.
DATA = Path(os.environ.get("RECEIPTFLOW_SROIE_DEV") or
            Path(__file__).resolve().parents[2].parent / "shared/data/sroie-dev")
TRAIN, TEST = 150, 100
# Measured (scikit-learn 1.9.1, python-crfsuite 0.9.12) on these 100 held-out receipts: exact
# fields rules 87.25%, learned 89.0% (+1.75: address 67 -> 74%); fuzzy 97.41 and 97.59. The
# rules read ground-truth text well enough that the fuzzy mean leaves little to gain; a field
# exactly right is what learning buys. The margin asserted leaves slack for library drift, not
# for a model that stopped learning.
MIN_EXACT_GAIN = 1.0

Receipt = tuple[list[TextLine], dict[str, str]]


def _load(stem: str) -> Receipt:
    boxes = json.loads((DATA / "ocr" / f"{stem}.json").read_text())
    lines = [TextLine(b["text"], tuple(float(v) for v in b["box"]), 1.0) for b in boxes]
    return lines, json.loads((DATA / "labels" / f"{stem}.json").read_text())


def _split() -> tuple[list[Receipt], list[Receipt]]:
    if not (DATA / "ocr").is_dir() or not (DATA / "labels").is_dir():
        pytest.skip(f"SROIE dev set not found at {DATA} (needs ocr/ and labels/)")
    stems = sorted(p.stem for p in (DATA / "labels").glob("*.json")
                   if (DATA / "ocr" / p.name).exists())
    # Even numbers train, odd ones test.
    even = [s for s in stems if int(s.rsplit("-", 1)[-1]) % 2 == 0]
    odd = [s for s in stems if int(s.rsplit("-", 1)[-1]) % 2 == 1]
    if len(even) < TRAIN or len(odd) < TEST:
        pytest.skip(f"SROIE dev set at {DATA} is too small ({len(stems)} receipts)")
    return [_load(s) for s in even[:TRAIN]], [_load(s) for s in odd[:TEST]]


def test_learned_extractor_beats_the_rules_on_held_out_receipts(tmp_path: Path) -> None:
    train, test = _split()
    started = time.perf_counter()
    LearnedExtractor.fit(train, SROIE_FIELDS).save(tmp_path / "learned")
    fit_s = time.perf_counter() - started
    # Served the way workers will: from the saved folder.
    model = LearnedExtractor.load(tmp_path / "learned")

    rules, learned = ScoreBoard(), ScoreBoard()
    for lines, label in test:
        rules.add(label, {k: fv.value for k, fv in extract_fields(lines, SROIE_FIELDS).items()})
        learned.add(label, {k: fv.value for k, fv in model.extract(lines, SROIE_FIELDS).items()})

    r, lr = rules.summary(), learned.summary()
    print(f"\ntrained on {TRAIN} in {fit_s:.1f} s; held-out {TEST} (fuzzy / exact %):")
    for name in r["fields"]:
        print(f"  {name:<8} rules {r['fields'][name]:6.2f} / {r['exact'][name]:5.1f}"
              f"  learned {lr['fields'][name]:6.2f} / {lr['exact'][name]:5.1f}")
    print(f"  {'mean':<8} rules {rules.mean:6.2f} / {r['exact_mean']:5.2f}"
          f"  learned {learned.mean:6.2f} / {lr['exact_mean']:5.2f}")
    assert lr["exact_mean"] >= r["exact_mean"] + MIN_EXACT_GAIN
    assert learned.mean >= rules.mean
