"""The CPU engine learns from corrections: trained on labelled receipts, the learned extractor beats
the hand-written rules on receipts it has not seen, as OCR reads them.

Runs without OCR or the rapidocr cache, so it fits in CI (about 100 s on 2 cores): the lines are
the data set's ground-truth text boxes (``sroie-dev/ocr``), once as they are and once with
OCR's look-alike misreads put in. On exact text the rules leave little to
learn; on misread text a version that remembers its sellers as reviewers wrote them does.
"""

from __future__ import annotations

import json
import os
import random
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
# Measured (scikit-learn 1.9.1, python-crfsuite 0.9.12) on these 100 held-out receipts, exact
# fields: on the ground-truth text rules 89.75%, learned 90.0% (the rules read exact text well
# enough that little is left: the learned version must only not lose); on the text with
# misreads rules 65.5%, learned 75.25% (+9.75: company 62 -> 81%, address 25 -> 45%, the vendor
# memory writing a returning seller as reviewers did). The margin asserted leaves slack for
# library drift, not for a model that stopped learning.
MIN_EXACT_GAIN = 3.0
# Each look-alike character is swapped at rapidocr's overall character error rate on SROIE dev
# (4.2%, benchmarks/ocr_quality.py); the pairs are confusions seen in its misses (a thermal
# comma for a full stop, O for 0, I for 1, HARDWAKE, CONFECTIUNERY...).
MISREAD_RATE = 0.04
LOOK_ALIKES = {"O": "0", "0": "O", "I": "1", "1": "I", "S": "5", "5": "S", "B": "8", "8": "B",
               ",": ".", ".": ",", "E": "F", "N": "M", "U": "O", "R": "K"}

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


def _misread(receipts: list[Receipt], seed: int) -> list[Receipt]:
    """The receipts' lines with look-alike characters swapped at ``MISREAD_RATE``, the labels
    as reviewers wrote them."""
    rng = random.Random(seed)

    def misread(text: str) -> str:
        return "".join(LOOK_ALIKES[c] if c in LOOK_ALIKES and rng.random() < MISREAD_RATE
                       else c for c in text)

    return [([TextLine(misread(ln.text), ln.box, ln.score) for ln in lines], label)
            for lines, label in receipts]


def _scores(train: list[Receipt], test: list[Receipt], tmp_path: Path
            ) -> tuple[dict[str, object], dict[str, object]]:
    """The rules' and the learned extractor's scores on ``test``, trained on ``train``."""
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
    print(f"  {'mean':<8} rules {r['mean']:6.2f} / {r['exact_mean']:5.2f}"
          f"  learned {lr['mean']:6.2f} / {lr['exact_mean']:5.2f}")
    return r, lr


def test_learned_extractor_loses_nothing_on_exact_text(tmp_path: Path) -> None:
    r, lr = _scores(*_split(), tmp_path)
    assert lr["exact_mean"] >= r["exact_mean"]


def test_learned_extractor_beats_the_rules_on_misread_receipts(tmp_path: Path) -> None:
    train, test = _split()
    r, lr = _scores(_misread(train, seed=1), _misread(test, seed=2), tmp_path)
    assert lr["exact_mean"] >= r["exact_mean"] + MIN_EXACT_GAIN
    assert lr["mean"] >= r["mean"]
