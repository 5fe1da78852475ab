"""Score the CPU engine's field rules on cached rapidocr output, without running OCR.

OCR takes seconds per receipt; the rules take milliseconds. Caching the OCR lines lets the rules
be tuned in a tight loop. Tune on ``--split even`` and check ``--split odd`` only now and then, so
the odd half stays an honest estimate of how the rules do on receipts nobody looked at.

    python benchmarks/ocr_rules_cached.py --split even --show-worst 10
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from shared.documents.lines import TextLine
from shared.engines.ocr.fields import extract_fields
from shared.fields import SROIE_FIELDS
from shared.scoring import ScoreBoard, receipt_scores

DEFAULT_LABELS = Path("/work/shared/data/sroie-dev/labels")
DEFAULT_CACHE = Path("/work/ocr-cache")
NUMBER_RE = re.compile(r"(\d+)")


def load_lines(path: Path) -> list[TextLine]:
    """Rebuild the TextLine list the engine would have produced for one receipt."""
    raw = json.loads(path.read_text())
    return [TextLine.from_quad(item["box"], item["text"], item["score"]) for item in raw]


def in_split(stem: str, split: str) -> bool:
    match = NUMBER_RE.search(stem)
    if split == "all" or match is None:
        return split == "all"
    number = int(match.group(1))
    return (number % 2 == 0) == (split == "even")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", choices=["even", "odd", "all"], default="even")
    parser.add_argument("--show-worst", type=int, default=0, metavar="N")
    parser.add_argument("--field", default=None, help="rank --show-worst by this field only")
    parser.add_argument("--labels", type=Path, default=DEFAULT_LABELS)
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    args = parser.parse_args(argv)

    board = ScoreBoard()
    rows: list[tuple[float, str, dict[str, str], dict[str, str], dict[str, float]]] = []
    # (score, name, label, prediction, confidences) per receipt, for --show-worst.
    conf_pairs: dict[str, list[tuple[float, float]]] = {}
    missing = 0
    for label_path in sorted(args.labels.glob("*.json")):
        if not in_split(label_path.stem, args.split):
            continue
        cache_path = args.cache / label_path.name
        if not cache_path.exists():
            missing += 1
            continue
        label = json.loads(label_path.read_text())
        try:
            lines = load_lines(cache_path)
        except json.JSONDecodeError:  # the cache job is still writing this file
            missing += 1
            continue
        result = extract_fields(lines, SROIE_FIELDS)
        prediction = {name: fv.value for name, fv in result.items()}
        total = board.add(label, prediction)
        scores = receipt_scores(label, prediction)
        for name, score in scores.items():
            conf_pairs.setdefault(name, []).append((result[name].confidence, score))
        key = scores.get(args.field, total) if args.field else total
        confs = {name: fv.confidence for name, fv in result.items()}
        rows.append((key, label_path.stem, label, prediction, confs))

    print(f"split={args.split} receipts={board.count} (not cached yet: {missing})")
    for name, value in board.field_means().items():
        pairs = sorted(conf_pairs[name], key=lambda p: -p[0])
        half = max(1, len(pairs) // 2)
        top = sum(s for _, s in pairs[:half]) / half
        bottom = sum(s for _, s in pairs[half:]) / max(1, len(pairs) - half)
        print(f"  {name:<8} {value:6.2f}   (score of most / least confident half: "
              f"{top:6.2f} / {bottom:6.2f})")
    print(f"  {'mean':<8} {board.mean:6.2f}")

    for key, stem, label, prediction, confs in sorted(rows)[: args.show_worst]:
        print(f"\n--- {stem}  score={key:.1f}")
        for name, value in label.items():
            if args.field and name != args.field:
                continue
            got = prediction.get(name, "")
            mark = "  " if got == value else "!!"
            print(f"  {mark} {name:<8} label={value!r}")
            print(f"     {'':<8} pred ={got!r}  conf={confs.get(name, 0.0):.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
