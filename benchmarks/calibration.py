"""Calibrated confidence and auto-accept, measured on the SROIE dev set with the OCR engine.

The rules (``--engine rules``): calibrate on one half of the receipts (even positions in name
order), measure on the other. The learned extractor (``--engine learned``): a version trained on
the first third (every third receipt), calibrated on its answers for the second, measured on
the third, as a deployment trains on corrections, reviews what the new version reads, then
auto-accepts; with ``--live``, each receipt of the second and third read with the reviews of
those before it (as ``worker/review_memory.py`` gives them to a worker). Reported:
- per field, the expected calibration error of the calibrated confidence (10 bins), and the
  reliability diagram's points; pooled over the fields, for this split and as the mean (± std)
  over ``--splits`` random halvings of the same receipts; and the floor: what a perfectly
  calibrated confidence would score on as many fields (``ece_floor``: sampling noise alone);
- the auto-accept cuts the required fields get at ``--target`` error, chosen together as the
  product chooses them (``calibration.with_cuts``), and on the measuring half the share of
  receipts auto-accepted (every required field at or above its cut and no validation rule
  failed) with the share of their fields that were wrong; and both as the mean (± std) over the
  random halvings, since one split's share moves with a cut's step. ``--own-cuts``: each
  field's own cut instead (the rule before cuts were chosen together), for comparison.

A field is right when it matches the label exactly (``shared/scoring.exact_match``); with
``--errata``, four SROIE total labels the receipt's own print contradicts are corrected first
(``benchmarks/data/sroie-label-errata.json``): the headline figures use the labels as they are.
Lines come from the OCR cache (``ocr_cache.py``).

    python benchmarks/calibration.py --engine learned \
        --out benchmarks/results/calibration-sroie-dev-learned.json
    python benchmarks/calibration.py --receipts-from that.json --accept-fields date,total
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from ocr_cache import cached_lines  # noqa: E402

from shared import calibration  # noqa: E402
from shared.documents.lines import TextLine  # noqa: E402
from shared.engines.ocr.fields import extract_fields  # noqa: E402
from shared.fields import FIELD_SETS  # noqa: E402
from shared.scoring import exact_match  # noqa: E402
from shared.values.checks import check, typed_receipt  # noqa: E402

DATA = Path(os.environ.get("RECEIPTFLOW_SROIE_DEV") or HERE.parents[1] / "shared/data/sroie-dev")
FIELDS = FIELD_SETS["standard"]
KINDS = {f.name: f.kind for f in FIELDS if not f.is_table}


# Labels the receipt's own print contradicts, corrected with ``--errata`` (a sensitivity).
ERRATA: dict[str, dict[str, str]] = {}


def lines_and_label(stem: str) -> tuple[list[TextLine], dict[str, str]]:
    label = json.loads((DATA / "labels" / f"{stem}.json").read_text())
    return cached_lines(DATA, stem), {**label, **ERRATA.get(stem, {})}


def judged(lines: list[TextLine], label: dict[str, str], fields: dict) -> dict[str, object]:
    """One receipt as the worker would store it: confidences, review reasons, and whether each
    field is exactly right."""
    values = {name: fv.value for name, fv in fields.items() if name in KINDS}
    rows = [{c: cell.value for c, cell in r.cells.items()} for r in fields["items"].rows or ()]
    reasons = check(typed_receipt(values, KINDS, {"items": rows}, [lines],
                                  dt.date(2026, 12, 1)))
    return {"conf": {n: fields[n].confidence for n in KINDS},
            "right": {n: exact_match(label[n], values[n], KINDS[n]) for n in KINDS if n in label},
            "flagged": bool(reasons)}


def read_rules(stems: list[str]) -> dict[str, dict[str, object]]:
    out = {}
    for stem in stems:
        lines, label = lines_and_label(stem)
        out[stem] = judged(lines, label, extract_fields(lines, FIELDS))
    return out


def read_learned(stems: list[str], train: list[str], live: bool = False
                 ) -> dict[str, dict[str, object]]:
    """The learned extractor as a deployment serves it: a version trained on the corrections
    of ``train``, reading every other receipt (whose reviews then calibrate it). ``live``: in
    name order, each with the reviews of those read before it (``live_reviews.py``)."""
    from live_reviews import read_in_order

    from shared.engines.ocr.learned import LearnedExtractor

    data = {s: lines_and_label(s) for s in stems}
    model = LearnedExtractor.fit([data[s] for s in train], FIELDS)
    rest = [s for s in stems if s not in set(train)]
    if live:
        read = read_in_order(model, rest, {s: data[s][0] for s in rest},
                             {s: data[s][1] for s in rest}, FIELDS)
        return {s: judged(*data[s], fields) for s, fields in read}
    return {s: judged(*data[s], model.extract(data[s][0], FIELDS)) for s in rest}


def field_pairs(receipts: dict[str, dict[str, object]], stems: list[str], name: str
                ) -> list[tuple[float, bool]]:
    """(confidence, right) of ``name`` on the receipts of ``stems`` labelled with it."""
    return [(receipts[s]["conf"][name], receipts[s]["right"][name])  # type: ignore[index]
            for s in stems if name in receipts[s]["right"]]  # type: ignore[operator]


def records(receipts: dict[str, dict[str, object]], stems: list[str]
            ) -> list[calibration.Record]:
    """The receipts of ``stems`` as the product's reviewed records: field -> (confidence,
    right)."""
    return [{n: (receipts[s]["conf"][n], ok)  # type: ignore[index]
             for n, ok in receipts[s]["right"].items()} for s in stems]  # type: ignore[attr-defined]


def calibrate_all(receipts: dict[str, dict[str, object]], stems: list[str], target: float,
                  required: list[str], own_cuts: bool = False
                  ) -> dict[str, calibration.Calibration]:
    """Each field's calibration on ``stems``, as the product fits them from reviews."""
    return calibration.fit_records(records(receipts, stems), required, target,
                                   together=not own_cuts)


def accepted(receipts: dict[str, dict[str, object]], stems: list[str],
             cals: dict[str, calibration.Calibration], required: list[str]
             ) -> tuple[list[str], int, int]:
    """The receipts of ``stems`` auto-accepted (every required field at or above its threshold,
    no validation rule failed), and of their required fields: how many, how many wrong."""
    taken, fields, wrong = [], 0, 0
    for s in stems:
        r = receipts[s]
        if r["flagged"] or not all(cals[n].accepts(r["conf"][n])  # type: ignore[index]
                                   for n in required):
            continue
        taken.append(s)
        fields += sum(n in r["right"] for n in required)  # type: ignore[operator]
        wrong += sum(not r["right"][n] for n in required  # type: ignore[index]
                     if n in r["right"])  # type: ignore[operator]
    return taken, fields, wrong


def resampled(receipts: dict[str, dict[str, object]], stems: list[str], target: float,
              splits: int, required: list[str], own_cuts: bool = False
              ) -> dict[str, dict[str, float]]:
    """The pooled ECE and the auto-accepted share over ``splits`` random halvings of ``stems``
    (calibrate on one half, measure on the other): with 145 receipts a half, one split's ECE
    moves by about ±0.01 and its share by tens of points (a threshold is met or not); the means
    say what the calibration does."""
    import numpy as np

    rng = np.random.default_rng(0)
    eces, shares, errors = [], [], []
    for _ in range(splits):
        order = list(rng.permutation(stems))
        fit_half, measure_half = order[:len(order) // 2], order[len(order) // 2:]
        probs, right = [], []
        cals = calibrate_all(receipts, fit_half, target, required, own_cuts)
        for name, cal in cals.items():
            for confidence, ok in field_pairs(receipts, measure_half, name):
                probs.append(cal.probability(confidence))
                right.append(ok)
        eces.append(calibration.expected_calibration_error(probs, right))
        if all(n in cals for n in required):
            taken, fields, wrong = accepted(receipts, measure_half, cals, required)
            shares.append(len(taken) / len(measure_half))
            if fields:
                errors.append(wrong / fields)

    return {"ece": {"splits": splits, **spread(eces)},
            "auto_accepted_share": {"splits": len(shares), **spread(shares)},
            "field_error_among_accepted": {"splits": len(errors), **spread(errors)}}


def spread(values: list[float]) -> dict[str, float]:
    """Mean and standard deviation, rounded (0 for none)."""
    import numpy as np

    return {"mean": round(float(np.mean(values)), 4) if values else 0.0,
            "std": round(float(np.std(values)), 4) if values else 0.0}


def ece_floor(probs: list[float], draws: int = 500) -> dict[str, float]:
    """The ECE a perfectly calibrated confidence would score on this many fields: outcomes
    drawn as right with exactly the probability given. Ten bins over a few hundred fields
    never read 0; a measured ECE is judged against this, not against zero."""
    import numpy as np

    rng = np.random.default_rng(0)
    p = np.asarray(probs, dtype=float)
    return spread([calibration.expected_calibration_error(p, rng.random(len(p)) < p)
                   for _ in range(draws)])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--target", type=float, default=0.01)
    p.add_argument("--accept-fields", default="",
                   help="comma-separated fields that must pass (default: all four), as "
                        "RECEIPTFLOW_AUTO_ACCEPT_FIELDS")
    p.add_argument("--receipts-from", type=Path,
                   help="reuse the receipts (confidences, right, flagged) of an earlier --out")
    p.add_argument("--engine", choices=["rules", "learned"], default="rules",
                   help="the OCR engine's rules, or its learned extractor trained on the "
                        "calibration half (as after reviewing it)")
    p.add_argument("--live", action="store_true",
                   help="learned: each receipt read with the reviews of those before it, as a "
                        "worker whose reviewers keep up (worker/review_memory.py)")
    p.add_argument("--splits", type=int, default=200,
                   help="random halvings for the resampled ECE (0: none)")
    p.add_argument("--errata", type=Path,
                   help="labels the print contradicts, corrected (benchmarks/data/"
                        "sroie-label-errata.json): the threshold's sensitivity to them")
    p.add_argument("--own-cuts", action="store_true",
                   help="each field's own cut (at most --target wrong among its fields), not "
                        "the required fields' cuts chosen together")
    p.add_argument("--out", type=Path)
    args = p.parse_args(argv)
    if args.errata and args.receipts_from:
        p.error("--errata judges receipts as they are read; --receipts-from reuses them as judged")
    if args.errata:
        ERRATA.update({stem: {name: entry["printed"] for name, entry in fields.items()}
                       for stem, fields in json.loads(args.errata.read_text()).items()})
    earlier = json.loads(args.receipts_from.read_text()) if args.receipts_from else None
    if earlier is not None:
        args.engine = earlier["engine"]  # the split follows the engine that read them
    stems = sorted(path.stem for path in (DATA / "labels").glob("*.json"))
    if args.engine == "learned":
        # Thirds: a version trained on the first, calibrated on its reviews of the second,
        # measured on the third, as a deployment learns, reviews and then auto-accepts.
        train, fit_half, measure_half = stems[0::3], stems[1::3], stems[2::3]
    else:
        train, fit_half, measure_half = [], stems[0::2], stems[1::2]
    if earlier is not None:
        receipts = earlier["all_receipts"]
    elif args.engine == "learned":
        receipts = read_learned(stems, train, args.live)
    else:
        receipts = read_rules(stems)
    required = [n for n in KINDS if not args.accept_fields or n in args.accept_fields.split(",")]

    result: dict[str, object] = {"set": DATA.name, "engine": args.engine,
                                 "live_reviews": bool(earlier.get("live_reviews") if earlier
                                                      else args.live),
                                 "accept_fields": required,
                                 # The receipts' rights were judged with these corrected.
                                 "errata": earlier.get("errata", []) if earlier else sorted(
                                     f"{stem}/{name}" for stem, fields in ERRATA.items()
                                     for name in fields),
                                 "target_error": args.target, "own_cuts": args.own_cuts,
                                 "trained_on": len(train),
                                 "calibrated_on": len(fit_half), "measured_on": len(measure_half),
                                 "fields": {}}
    cals = calibrate_all(receipts, fit_half, args.target, required, args.own_cuts)
    assert set(cals) == set(KINDS), "too few receipts to calibrate every field"
    for name, cal in cals.items():
        held = field_pairs(receipts, measure_half, name)
        probs = [cal.probability(c) for c, _ in held]
        right = [r for _, r in held]
        raw = [c for c, _ in held]
        result["fields"][name] = {  # type: ignore[index]
            "accuracy": round(sum(right) / len(right), 4), "method": cal.method,
            "ece_raw_confidence": round(calibration.expected_calibration_error(raw, right), 4),
            "ece": round(calibration.expected_calibration_error(probs, right), 4),
            "threshold": cal.threshold, "error_at_threshold_fit": cal.error_at_threshold,
            "reliability": calibration.reliability(probs, right),
        }
    taken, fields_accepted, wrong = accepted(receipts, measure_half, cals, required)
    all_fields = sum(len(receipts[s]["right"]) for s in taken)  # type: ignore[arg-type]
    all_wrong = sum(not v for s in taken  # type: ignore[union-attr]
                    for v in receipts[s]["right"].values())  # type: ignore[union-attr]
    pooled = [(cals[n].probability(receipts[s]["conf"][n]), receipts[s]["right"][n])  # type: ignore[index]
              for s in measure_half for n in KINDS if n in receipts[s]["right"]]  # type: ignore[operator]
    result["ece_pooled"] = round(calibration.expected_calibration_error(
        [p for p, _ in pooled], [r for _, r in pooled]), 4)
    result["ece_floor"] = ece_floor([p for p, _ in pooled])
    if args.splits:
        halvings = resampled(receipts, fit_half + measure_half, args.target, args.splits,
                             required, args.own_cuts)
        result["ece_pooled_resampled"] = halvings["ece"]
        result["auto_accepted_share_resampled"] = halvings["auto_accepted_share"]
        result["field_error_among_accepted_resampled"] = halvings["field_error_among_accepted"]
    result["auto_accepted_share"] = round(len(taken) / len(measure_half), 4)
    result["auto_accepted"] = len(taken)
    # Every field of an accepted receipt skips review, required or not.
    result["all_fields_error_among_accepted"] = round(all_wrong / all_fields, 4) if all_fields \
        else None
    result["field_error_among_accepted"] = round(wrong / fields_accepted, 4) if fields_accepted \
        else None
    print(json.dumps({k: v for k, v in result.items() if k != "fields"}, indent=1))
    for name, row in result["fields"].items():  # type: ignore[attr-defined]
        print(name, {k: v for k, v in row.items() if k != "reliability"})
    if args.out:
        result["calibrations"] = {n: c.to_json() for n, c in cals.items()}
        result["all_receipts"] = receipts
        args.out.write_text(json.dumps(result, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
