"""Does the learned extractor learn? Rules vs learned on held-out receipts, on cached OCR.

Trains ``LearnedExtractor`` on the first N receipts of one half (``--train even``: even numbers)
and scores rules and learned on the whole other half, for each N in ``--sizes``, so the learning
curve shows too. ``--source gt`` uses the ground-truth OCR lines shipped with the data set
(``sroie-dev/ocr``) instead of the rapidocr cache.

    python benchmarks/ocr_learned_cached.py --sizes 50,100,200
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from shared.documents.lines import TextLine
from shared.engines.ocr.fields import extract_fields
from shared.engines.ocr.learned import LearnedExtractor
from shared.fields import SROIE_FIELDS
from shared.scoring import ScoreBoard

DATA = Path("/work/shared/data/sroie-dev")
DEFAULT_CACHE = Path("/work/ocr-cache")

Example = tuple[str, list[TextLine], dict[str, str]]


def load_lines(path: Path, source: str) -> list[TextLine]:
    raw = json.loads(path.read_text())
    if source == "gt":  # {"box": [x0, y0, x1, y1], "text"}: exact text, no recognizer score
        return [TextLine(item["text"], tuple(map(float, item["box"])), 1.0) for item in raw]
    return [TextLine.from_quad(item["box"], item["text"], item["score"]) for item in raw]


def load(data: Path, cache: Path, source: str) -> list[Example]:
    lines_dir = data / "ocr" if source == "gt" else cache
    out: list[Example] = []
    for label_path in sorted((data / "labels").glob("*.json")):
        path = lines_dir / label_path.name
        if path.exists():
            out.append((label_path.stem, load_lines(path, source),
                        json.loads(label_path.read_text())))
    return out


def board(examples: list[Example], predict) -> ScoreBoard:  # type: ignore[no-untyped-def]
    result = ScoreBoard()
    for _, lines, label in examples:
        result.add(label, {k: fv.value for k, fv in predict(lines).items()})
    return result


def report(name: str, rules: ScoreBoard, learned: ScoreBoard) -> None:
    r, lr = rules.field_means(), learned.field_means()
    print(f"  {name}")
    for key in r:
        print(f"    {key:<8} rules {r[key]:6.2f}  learned {lr[key]:6.2f}  "
              f"gain {lr[key] - r[key]:+6.2f}")
    print(f"    {'mean':<8} rules {rules.mean:6.2f}  learned {learned.mean:6.2f}  "
          f"gain {learned.mean - rules.mean:+6.2f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", choices=["cache", "gt"], default="cache")
    parser.add_argument("--train", choices=["even", "odd"], default="even")
    parser.add_argument("--sizes", default="50,100,200,all")
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    args = parser.parse_args(argv)

    examples = load(args.data, args.cache, args.source)
    parity = 0 if args.train == "even" else 1
    train = [e for e in examples if int(e[0].rsplit("-", 1)[-1]) % 2 == parity]
    test = [e for e in examples if int(e[0].rsplit("-", 1)[-1]) % 2 != parity]
    print(f"source={args.source} train={args.train} ({len(train)}) held-out={len(test)}")
    rules = board(test, lambda lines: extract_fields(lines, SROIE_FIELDS))
    for size in args.sizes.split(","):
        n = len(train) if size == "all" else int(size)
        started = time.perf_counter()
        model = LearnedExtractor.fit([(lines, label) for _, lines, label in train[:n]],
                                     SROIE_FIELDS)
        fit_s = time.perf_counter() - started
        started = time.perf_counter()
        learned = board(test, lambda lines, m=model: m.extract(lines, SROIE_FIELDS))
        per = (time.perf_counter() - started) / max(1, len(test)) * 1000
        report(f"trained on {n} receipts: fit {fit_s:.1f} s, extract {per:.1f} ms/receipt, "
               f"transforms {model.meta['transforms']}", rules, learned)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
