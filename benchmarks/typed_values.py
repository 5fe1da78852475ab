"""Typed values, line items and validation rules of the OCR engine on the SROIE dev set.

- typed date and total: on all dev receipts, the label's printed value typed with the receipt's
  hints (``shared/values``) against the typed value of what the engine read; equal ISO dates,
  equal decimal amounts.
- line items: on the 69 receipts of ``data/sroie-items.json``: precision, recall and F1 of items
  (description equal after whitespace normalisation, and amount equal), and the share of
  receipts whose items sum to the labelled total (or to the labelled items' sum: the subtotal).
- validation: on all dev receipts, how often a rule flags a receipt whose total the engine got
  wrong, and one it got right.

OCR runs once per receipt and its lines are cached (``ocr_cache.py``); the rules then run on them.
``--lines truth`` runs the rules on the set's ground-truth text lines instead (``ocr/``): the
rules' own share of the errors, apart from the OCR's.

    python benchmarks/typed_values.py --out benchmarks/results/typed-values-cpu.json
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import time
from collections import Counter
from decimal import Decimal
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from ocr_cache import cached_lines, truth_lines  # noqa: E402

from shared.documents.lines import TextLine  # noqa: E402
from shared.engines.ocr.fields import extract_fields  # noqa: E402
from shared.fields import FIELD_SETS  # noqa: E402
from shared.values import typed  # noqa: E402
from shared.values.checks import check, typed_receipt  # noqa: E402

DATA = Path(os.environ.get("RECEIPTFLOW_SROIE_DEV") or HERE.parents[1] / "shared/data/sroie-dev")
ITEMS = HERE / "data" / "sroie-items.json"
FIELDS = FIELD_SETS["accounting"]
KINDS = {f.name: f.kind for f in FIELDS}
# Rules that look at the total: the ones that can catch a wrong one.
TOTAL_RULES = {"items_sum", "subtotal_tax_total", "total_positive"}


def ocr_lines(stem: str, source: str = "ocr") -> list[TextLine]:
    """The engine's lines for a receipt (``ocr_cache.py``), or the set's ground truth."""
    return truth_lines(DATA, stem) if source == "truth" else cached_lines(DATA, stem)


def _items_key(row: dict[str, str], loose: bool = False) -> tuple[str, Decimal | None]:
    """An item as compared: its description with whitespace runs made one space, and its
    amount. ``loose``: also case-folded and without any whitespace, as the WildReceipt labels
    are compared: the labels are upper case (SROIE's ground-truth convention), and what an
    OCR engine reads from a receipt printed in mixed case, or its spacing around punctuation
    ("LEMON (HOT)" / "Lemon(Hot)"), is the same description to a bookkeeper."""
    try:
        amount = Decimal(row["amount"])
    except Exception:
        amount = None
    text = " ".join(row["description"].split())
    return ("".join(text.split()).casefold() if loose else text), amount


def _matches(want: list[dict[str, str]], got: list[dict[str, str]], loose: bool) -> int:
    left = [_items_key(i, loose) for i in want]
    hits = 0
    for g in (_items_key(i, loose) for i in got):
        if g in left:
            left.remove(g)
            hits += 1
    return hits


def _f1(hits: int, got: int, want: int) -> dict[str, float]:
    precision = hits / got if got else 0.0
    recall = hits / want if want else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4)}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--lines", choices=["ocr", "truth"], default="ocr",
                   help="the OCR engine's lines, or the set's ground-truth lines")
    p.add_argument("--limit", type=int, default=0)
    p.add_argument("--out", type=Path, default=None)
    args = p.parse_args(argv)
    stems = sorted(path.stem for path in (DATA / "labels").glob("*.json"))[: args.limit or None]
    if not stems:
        raise SystemExit(f"no labels in {DATA} (set RECEIPTFLOW_SROIE_DEV)")
    item_labels = json.loads(ITEMS.read_text())
    today = dt.date(2026, 12, 1)

    counts: Counter[str] = Counter()
    hits: Counter[str] = Counter()
    n_got = n_want = 0
    sums_total = sums_items = 0
    flags: Counter[str] = Counter()
    wrong_totals: list[dict[str, object]] = []  # each one, to tell a rule's miss from a label's
    started = time.time()
    for n, stem in enumerate(stems, 1):
        label = json.loads((DATA / "labels" / f"{stem}.json").read_text())
        lines = ocr_lines(stem, args.lines)
        fields = extract_fields(lines, FIELDS)
        values = {name: fv.value for name, fv in fields.items()}
        rows = [{c: cell.value for c, cell in r.cells.items()} for r in fields["items"].rows or ()]
        checked = typed_receipt(values, KINDS, {"items": rows}, [lines], today)
        hints, got = checked.hints, checked.typed
        for key, kind in (("date", "date"), ("total", "amount")):
            want = typed(kind, str(label.get(key, "")), hints)
            if want is None:
                counts[f"{key}_label_unreadable"] += 1
                continue
            counts[f"{key}_labelled"] += 1
            counts[f"{key}_right"] += bool(got[key]) and got[key]["value"] == want["value"]
        reasons = check(checked)
        want_total = typed("amount", str(label.get("total", "")), hints)
        right_total = bool(got["total"] and want_total
                           and got["total"]["value"] == want_total["value"])
        flagged = any(r.rule in TOTAL_RULES for r in reasons)
        if not right_total:
            wrong_totals.append({"receipt": stem, "read": values["total"],
                                 "label": str(label.get("total", "")), "flagged": flagged})
        flags[f"{'right' if right_total else 'wrong'}_total"] += 1
        flags[f"{'right' if right_total else 'wrong'}_total_flagged"] += flagged
        for r in reasons:
            flags[f"rule:{r.rule}"] += 1
        if stem in item_labels:
            want_items = item_labels[stem]
            n_got, n_want = n_got + len(rows), n_want + len(want_items)
            for mode in ("strict", "loose"):
                hits[mode] += _matches(want_items, rows, mode == "loose")
            got_amounts = [a for _, a in map(_items_key, rows) if a is not None]
            total = sum(got_amounts, Decimal(0))
            labelled_total = Decimal(want_total["value"]) if want_total else None
            labelled_items = sum((Decimal(i["amount"]) for i in want_items), Decimal(0))
            sums_total += labelled_total is not None and abs(total - labelled_total) <= Decimal(
                "0.05")
            sums_items += bool(rows) and abs(total - labelled_items) <= Decimal("0.05")
        if n % 50 == 0:
            print(f"[{n}/{len(stems)}] {time.time() - started:.0f} s", flush=True)

    labelled = sum(1 for s in stems if s in item_labels)
    report = {
        "lines": args.lines,
        "receipts": len(stems),
        "date_accuracy": round(counts["date_right"] / max(1, counts["date_labelled"]), 4),
        "total_accuracy": round(counts["total_right"] / max(1, counts["total_labelled"]), 4),
        "labels_unreadable": {k: v for k, v in counts.items() if k.endswith("unreadable")},
        "items": {"receipts": labelled, "items_labelled": n_want, "items_read": n_got,
                  "strict": _f1(hits["strict"], n_got, n_want),
                  "case_and_spacing_folded": _f1(hits["loose"], n_got, n_want),
                  "sum_to_labelled_total": round(sums_total / max(1, labelled), 4),
                  "sum_to_labelled_items": round(sums_items / max(1, labelled), 4)},
        "validation": {
            "wrong_totals": flags["wrong_total"],
            "wrong_totals_flagged": round(flags["wrong_total_flagged"]
                                          / max(1, flags["wrong_total"]), 4),
            "right_totals": flags["right_total"],
            "right_totals_flagged": round(flags["right_total_flagged"]
                                          / max(1, flags["right_total"]), 4),
            "reasons": {k.removeprefix("rule:"): v for k, v in flags.items()
                        if k.startswith("rule:")},
            "wrong_total_receipts": wrong_totals},
    }
    print(json.dumps(report, indent=2))
    if args.out:
        args.out.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
