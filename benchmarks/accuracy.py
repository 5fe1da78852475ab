"""The OCR engine's accuracy on a labelled set: fuzzy and exact per field, rules vs learned,
and the learned extractor's learning curve.

- rules: the field rules on every receipt of the set.
- learned: ``LearnedExtractor`` (ranker, word tagger, vendor memory, chosen per field) trained
  on the first N of a shuffled pool of ``--pool`` receipts, for each N in ``--sizes``, scored
  on all the others (the same held-out receipts for every N, and for the rules beside it).
- live: the largest version reading the held-out receipts in order, each one's review given
  to its vendor memory once it is read (``live_reviews.py``), as a worker gets reviews made
  after its version was trained.

Lines come from the OCR cache (``ocr_cache.py``: OCR runs once per receipt) or, for SROIE,
from the set's ground-truth lines (``--lines truth``). WildReceipt labels are written without
spaces: ``--normalize`` (the default for a set named wild-*) scores them as `receiptflow eval
--normalize` does.

    python benchmarks/accuracy.py /work/shared/data/wild-dev \
        --out benchmarks/results/accuracy-wild-dev.json
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from live_reviews import read_in_order  # noqa: E402
from ocr_cache import cached_lines, truth_lines  # noqa: E402

from shared.engines.ocr.fields import extract_fields  # noqa: E402
from shared.engines.ocr.learned import LearnedExtractor  # noqa: E402
from shared.fields import SROIE_FIELDS  # noqa: E402
from shared.scoring import ScoreBoard, exact_match  # noqa: E402


def _board(pairs, normalize: bool) -> dict[str, object]:  # type: ignore[no-untyped-def]
    board = ScoreBoard(normalize=normalize)
    for label, prediction in pairs:
        board.add(label, prediction)
    return board.summary()


def _values(fields) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {name: fv.value for name, fv in fields.items()}


def _line(name: str, summary: dict[str, object]) -> str:
    fuzzy: dict[str, float] = summary["fields"]  # type: ignore[assignment]
    exact: dict[str, float] = summary["exact"]  # type: ignore[assignment]
    cells = "  ".join(f"{k} {fuzzy[k]:5.1f}/{exact[k]:5.1f}%" for k in fuzzy)
    return (f"{name:<14} n={summary['receipts']:<4} fuzzy {summary['mean']:5.2f}  "
            f"exact {summary['exact_mean']:5.1f}%  | {cells}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("data", type=Path)
    p.add_argument("--lines", choices=["ocr", "truth"], default="ocr")
    p.add_argument("--sizes", default="25,50,100,150")
    p.add_argument("--pool", type=int, default=150, help="receipts the learned ones train from")
    p.add_argument("--normalize", action=argparse.BooleanOptionalAction, default=None)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path)
    p.add_argument("--misses", type=Path, help="write the largest version's held-out fields "
                   "that are not exactly right (label, rules, learned), one JSON per line")
    args = p.parse_args(argv)
    normalize = args.data.name.startswith("wild") if args.normalize is None else args.normalize
    stems = sorted(path.stem for path in (args.data / "labels").glob("*.json"))
    labels = {s: json.loads((args.data / "labels" / f"{s}.json").read_text()) for s in stems}
    lines = {s: (truth_lines(args.data, s) if args.lines == "truth"
                 else cached_lines(args.data, s)) for s in stems}

    started = time.perf_counter()
    rules = {s: _values(extract_fields(lines[s], SROIE_FIELDS)) for s in stems}
    rules_rate = len(stems) / (time.perf_counter() - started)
    result: dict[str, object] = {
        "set": args.data.name, "lines": args.lines, "normalized": normalize,
        "rules_all": _board(((labels[s], rules[s]) for s in stems), normalize),
        "rules_receipts_per_s_on_lines": round(rules_rate, 1),
    }
    print(_line("rules (all)", result["rules_all"]), flush=True)  # type: ignore[arg-type]

    order = list(stems)
    random.Random(args.seed).shuffle(order)
    pool, held = order[:args.pool], order[args.pool:]
    result["held_out"] = len(held)
    result["rules_held_out"] = _board(((labels[s], rules[s]) for s in held), normalize)
    print(_line("rules (held)", result["rules_held_out"]), flush=True)  # type: ignore[arg-type]
    curve = []
    for n in [int(x) for x in args.sizes.split(",")]:
        t = time.perf_counter()
        learned = LearnedExtractor.fit([(lines[s], labels[s]) for s in pool[:n]], SROIE_FIELDS,
                                       normalize=normalize)
        fit_s = time.perf_counter() - t
        answers = {s: _values(learned.extract(lines[s], SROIE_FIELDS)) for s in held}
        summary = _board(((labels[s], answers[s]) for s in held), normalize)
        curve.append({"trained_on": n, "fit_seconds": round(fit_s, 1),
                      "pickers": learned.meta["pickers"], **summary})
        print(_line(f"learned {n}", summary), f" fit {fit_s:.0f} s", flush=True)
    result["learned"] = curve
    # The largest version again, its vendor memory given each held-out receipt's review once
    # it is read, as a worker is between batches: what reviews do before the next training.
    live = {s: _values(f) for s, f in read_in_order(learned, held, lines, labels, SROIE_FIELDS)}
    result["learned_live"] = {"trained_on": n, **_board(((labels[s], live[s]) for s in held),
                                                        normalize)}
    print(_line(f"live {n}", result["learned_live"]), flush=True)  # type: ignore[arg-type]
    if args.misses:
        kinds = {f.name: f.kind for f in SROIE_FIELDS}
        with args.misses.open("w") as out:
            for s in held:
                for name, want in labels[s].items():
                    if name in kinds and not exact_match(want, answers[s].get(name, ""),
                                                         kinds[name]):
                        out.write(json.dumps({"receipt": s, "field": name, "label": want,
                                              "rules": rules[s].get(name, ""),
                                              "learned": answers[s].get(name, "")}) + "\n")
    if args.out:
        args.out.write_text(json.dumps(result, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
