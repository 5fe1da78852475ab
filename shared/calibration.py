"""Calibrated confidence: what an engine's confidence for a field means, measured on reviews.

An engine's confidence is a score (the rules' evidence, a ranker's predicted match, a model's
token probabilities), not a probability. Fitted on reviewed fields (x: the confidence the
engine gave; y: whether the value was exactly right, ``shared/scoring.exact_match`` against the
reviewed value), a monotone curve maps it to one: a calibrated confidence of 0.975 means about
97.5% of such fields are right. One calibration per engine, model version and field, since each
version's scores mean something else. The curve is an isotonic regression (scikit-learn) or,
where it predicts the held-out half better (lower Brier score), Platt scaling: the isotonic
staircase needs many reviews to settle, and on a few hundred the two-parameter sigmoid often
fits a judge's scores better, while the rules' stepped scores want the staircase (SROIE, 145
reviews per field, mean over 200 splits: the learned engine's ECE 0.040 -> 0.037, the rules'
0.034 -> 0.033).

The auto-accept thresholds are cuts on the engine's confidence, one per field, chosen together
(``pick_thresholds``): the cuts that let the most reviewed receipts through, every field it
must pass at or above its cut, while the fields they let through were wrong at most
``target_error`` of the time, pooled, as the target is stated (the error among auto-accepted
fields). A field's own cut alone (``pick_threshold``: at most ``target_error`` wrong among its
fields at or above it) is where the search starts; chosen together, a field that is seldom wrong
(a date) leaves room for a total whose surest answers hold one label slip (SROIE, learned
version, dates and totals: 0% -> 46% of the measured receipts accepted on the fixed split, 33%
-> 67% over random halvings, the error among their dates and totals 1.2% -> 1.0%). Each field's
cut is one more choice fitted to the reviews, so the cuts must let through ``MIN_ACCEPTED``
receipts per field (all four SROIE fields, 20 in all: on a few random halvings the other half's
accepted fields were 5% wrong; 80: none accepted, as before). The calibration error (ECE) is
measured out of fold: each half's probabilities come from the curve fitted on the other half,
so it is not measured on the data it was fitted to.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields, replace

import numpy as np

# Fewer reviewed fields than this: no calibration (and no auto-accept) for the field.
MIN_SAMPLES = 40
# A threshold must let at least this many reviewed fields through: an error rate measured on
# a handful says nothing.
MIN_ACCEPTED = 20
BINS = 10


@dataclass(frozen=True)
class Calibration:
    field: str
    xs: list[float]  # the curve's knots: confidence -> probability right
    ys: list[float]
    samples: int
    accuracy: float  # share of the reviewed fields that were right
    ece: float  # expected calibration error, out of fold
    threshold: float | None  # the calibrated confidence at the cut (shown); None: no cut met it
    # Measured error among the fields let through (with ``accept_fields``: pooled over them, on
    # the receipts whose every such field passed its cut).
    error_at_threshold: float | None
    share_at_threshold: float  # share of fields at or above it
    target_error: float = 0.01  # the error the threshold was chosen for
    # The engine's confidence at and above which fields are accepted (what ``accepts`` cuts on).
    threshold_confidence: float | None = None
    # The reliability diagram, out of fold: per bin, mean calibrated confidence, share right.
    reliability: list[dict[str, float]] = field(default_factory=list)
    method: str = "isotonic"  # which of METHODS drew the curve
    # The fields whose cuts were chosen together with this one (``pick_thresholds``); empty: the
    # field's own cut. A receipt is accepted on these cuts only when these are the fields it must
    # pass: cuts chosen for dates and totals together may let more totals through than suits a
    # deployment that requires all four fields.
    accept_fields: list[str] = field(default_factory=list)

    def probability(self, confidence: float) -> float:
        return float(np.interp(confidence, self.xs, self.ys))

    def accepts(self, confidence: float) -> bool:
        return self.threshold_confidence is not None and confidence >= self.threshold_confidence

    def to_json(self) -> dict[str, object]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, object]) -> Calibration:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})  # type: ignore[arg-type]


Curve = tuple[np.ndarray, np.ndarray]  # knots: confidence -> probability right


def isotonic_curve(x: np.ndarray, y: np.ndarray) -> Curve:
    """Isotonic regression (scikit-learn): any monotone shape, but a staircase that needs many
    reviews to settle."""
    from sklearn.isotonic import IsotonicRegression

    model = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(x, y)
    return np.asarray(model.X_thresholds_), np.asarray(model.y_thresholds_)


def _logit(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 1e-4, 1 - 1e-4)
    return np.log(x / (1 - x)).reshape(-1, 1)


def sigmoid_curve(x: np.ndarray, y: np.ndarray) -> Curve:
    """Platt scaling on the confidence's logit (scikit-learn's logistic regression): two
    parameters, so steady on a few hundred reviews, for scores that are already near a
    probability (a judge's). Stored as knots like the isotonic curve: at the reviewed
    confidences' quantiles and a fixed grid, so it reads the same way."""
    from sklearn.linear_model import LogisticRegression

    grid = np.unique(np.r_[np.linspace(0.0, 1.0, 101),
                           np.quantile(x, np.linspace(0.0, 1.0, 101))])
    if len(np.unique(y)) < 2:  # all right (or all wrong): nothing to fit
        return grid, np.full(len(grid), float(y.mean()))
    model = LogisticRegression(C=100.0).fit(_logit(x), y)
    return grid, model.predict_proba(_logit(grid))[:, 1]


# The ways to map a confidence to a probability; each field takes the one whose out-of-fold
# Brier score is lower on its reviews (scikit-learn's CalibratedClassifierCV offers the same
# two, and recommends isotonic only with many samples).
METHODS = {"isotonic": isotonic_curve, "sigmoid": sigmoid_curve}


def out_of_fold(confidences: Sequence[float], right: Sequence[bool],
                method: str = "isotonic") -> np.ndarray:
    """Each field's calibrated probability from the curve fitted on the other half."""
    x = np.asarray(confidences, dtype=float)
    y = np.asarray(right, dtype=float)
    fold = np.arange(len(x)) % 2 == 0
    probs = np.empty(len(x))
    for held in (fold, ~fold):
        xs, ys = METHODS[method](x[~held], y[~held])
        probs[held] = np.interp(x[held], xs, ys)
    return probs


def expected_calibration_error(probs: Sequence[float], right: Sequence[bool],
                               bins: int = BINS) -> float:
    """The mean |accuracy - confidence| over equal-width bins, weighted by their counts."""
    p = np.asarray(probs, dtype=float)
    y = np.asarray(right, dtype=float)
    if not len(p):
        return 0.0
    index = np.minimum((p * bins).astype(int), bins - 1)
    total = 0.0
    for b in range(bins):
        members = index == b
        if members.any():
            total += members.sum() * abs(y[members].mean() - p[members].mean())
    return float(total / len(p))


def reliability(probs: Sequence[float], right: Sequence[bool],
                bins: int = BINS) -> list[dict[str, float]]:
    """Per bin: mean calibrated confidence, share right, count: the reliability diagram."""
    p = np.asarray(probs, dtype=float)
    y = np.asarray(right, dtype=float)
    index = np.minimum((p * bins).astype(int), bins - 1)
    return [{"bin": b / bins, "confidence": round(float(p[index == b].mean()), 4),
             "accuracy": round(float(y[index == b].mean()), 4), "count": int((index == b).sum())}
            for b in range(bins) if (index == b).any()]


def pick_threshold(confidences: Sequence[float], right: Sequence[bool], target_error: float
                   ) -> tuple[float | None, float | None, float]:
    """The lowest confidence c whose fields at or above it were wrong at most ``target_error``
    of the time (at least ``MIN_ACCEPTED`` of them): (c, error, share). Cut on the engine's own
    confidences, not on calibrated ones: an isotonic fit is a staircase, and its top step can
    hold a hundred fields of which the first eighty were all right."""
    p = np.asarray(confidences, dtype=float)
    y = np.asarray(right, dtype=bool)
    order = np.argsort(-p, kind="stable")
    wrong = np.cumsum(~y[order])
    best: tuple[float | None, float | None, float] = (None, None, 0.0)
    for k in range(len(order)):
        # Only where the next field's confidence is lower: all fields at c are in or out.
        if k + 1 < len(order) and p[order[k + 1]] == p[order[k]]:
            continue
        accepted = k + 1
        error = wrong[k] / accepted
        if accepted >= MIN_ACCEPTED and error <= target_error:
            best = (float(p[order[k]]), float(error), accepted / len(p))
    return best


Record = Mapping[str, tuple[float, bool]]  # one reviewed receipt: field -> (confidence, right)


def pick_thresholds(records: Sequence[Record], names: Sequence[str], target_error: float
                    ) -> tuple[dict[str, float], float, int] | None:
    """Per field of ``names``, the cut on the engine's confidence, chosen together: the cuts
    that let the most reviewed receipts of ``records`` through (each of ``names`` it has at or
    above its cut; at least ``MIN_ACCEPTED`` of them per field of ``names``) while their fields
    of ``names`` were wrong at most ``target_error`` of the time, pooled. Returns (cuts, error,
    receipts let through), or None where no cuts meet the target.

    Coordinate ascent over each field's distinct confidences, from two starts (every field at
    its surest, and every field at its own cut, ``pick_threshold``), keeping the better end: a
    few fields and a few hundred reviews, so each pass is cheap, and it ends because each move
    lets more receipts through."""
    rows = [r for r in records if any(n in r for n in names)]
    if not rows:
        return None
    # Confidence per receipt and field; a field the receipt lacks passes any cut.
    conf = np.array([[r[n][0] if n in r else np.inf for n in names] for r in rows])
    wrong = np.array([[n in r and not r[n][1] for n in names] for r in rows])
    held = np.array([[n in r for n in names] for r in rows])
    levels = [np.unique(conf[:, j][np.isfinite(conf[:, j])])[::-1] for j in range(len(names))]
    # Each field's cut is one more choice fitted to these reviews: the more fields, the more
    # receipts the error must be measured on.
    least = MIN_ACCEPTED * len(names)
    if any(not len(lv) for lv in levels):
        return None

    def outcome(cuts: np.ndarray) -> tuple[bool, int, float]:
        through = (conf >= cuts).all(axis=1)
        n_fields = int(held[through].sum())
        error = float(wrong[through].sum()) / n_fields if n_fields else 1.0
        ok = int(through.sum()) >= least and error <= target_error
        return ok, int(through.sum()), error

    def ascend(cuts: np.ndarray) -> tuple[np.ndarray, tuple[bool, int, float]]:
        best = outcome(cuts)
        moved = True
        while moved:
            moved = False
            for j in range(len(names)):
                for level in levels[j]:
                    trial = cuts.copy()
                    trial[j] = level
                    got = outcome(trial)
                    if got[0] and (not best[0] or got[1] > best[1]):
                        cuts, best, moved = trial, got, True
        return cuts, best

    own = [pick_threshold([r[n][0] for r in rows if n in r], [r[n][1] for r in rows if n in r],
                          target_error)[0] for n in names]
    starts = [np.array([lv[0] for lv in levels]),
              np.array([c if c is not None else lv[0] for c, lv in zip(own, levels, strict=True)])]
    ends = [ascend(start) for start in starts]
    cuts, (ok, through, error) = max(ends, key=lambda end: (end[1][0], end[1][1]))
    if not ok:
        return None
    return {n: float(c) for n, c in zip(names, cuts, strict=True)}, error, through


def with_cuts(cals: Mapping[str, Calibration], records: Sequence[Record], names: Sequence[str],
              target_error: float) -> dict[str, Calibration]:
    """The calibrations of ``names`` with their cuts chosen together (``pick_thresholds``) on
    ``records``; the others as they are. Where no cuts meet the target, none of ``names`` gets
    one."""
    names = [n for n in names if n in cals]
    found = pick_thresholds(records, names, target_error) if names else None
    out = dict(cals)
    for name in names:
        cal = cals[name]
        if found is None:
            out[name] = replace(cal, threshold=None, threshold_confidence=None,
                                error_at_threshold=None, share_at_threshold=0.0,
                                accept_fields=sorted(names))
            continue
        cuts, error, _ = found
        xs, ys = np.asarray(cal.xs), np.asarray(cal.ys)
        mine = [r[name][0] for r in records if name in r]
        out[name] = replace(
            cal, threshold=round(float(np.interp(cuts[name], xs, ys)), 6),
            threshold_confidence=cuts[name], error_at_threshold=round(error, 4),
            share_at_threshold=round(sum(c >= cuts[name] for c in mine) / max(1, len(mine)), 4),
            accept_fields=sorted(names))
    return out


def fit_records(records: Sequence[Record], required: Sequence[str], target_error: float = 0.01,
                *, together: bool = True) -> dict[str, Calibration]:
    """Each field's calibration from reviewed receipts (a field with fewer than
    ``MIN_SAMPLES`` reviews gets none), the ``required`` fields' cuts chosen together
    (``with_cuts``; ``together=False``: each field's own cut, the rule before)."""
    pairs: dict[str, list[tuple[float, bool]]] = {}
    for record in records:
        for name, pair in record.items():
            pairs.setdefault(name, []).append(pair)
    cals = {name: cal for name, field_pairs in pairs.items()
            if (cal := fit(name, [c for c, _ in field_pairs], [r for _, r in field_pairs],
                           target_error)) is not None}
    return with_cuts(cals, records, required, target_error) if together else cals


def fit(name: str, confidences: Sequence[float], right: Sequence[bool],
        target_error: float = 0.01) -> Calibration | None:
    """The field's calibration from its reviewed (confidence, right) pairs; None when there
    are too few of them."""
    if len(confidences) < MIN_SAMPLES:
        return None
    y = np.asarray(right, dtype=float)
    held = {m: out_of_fold(confidences, right, m) for m in METHODS}
    method = min(held, key=lambda m: float(np.mean((held[m] - y) ** 2)))
    probs = held[method]
    cut, error, share = pick_threshold(confidences, right, target_error)
    xs, ys = METHODS[method](np.asarray(confidences, dtype=float), y)
    threshold = None if cut is None else round(float(np.interp(cut, xs, ys)), 6)
    return Calibration(
        field=name,
        method=method,
        xs=[round(float(v), 6) for v in xs],
        ys=[round(float(v), 6) for v in ys],
        samples=len(confidences),
        accuracy=round(float(np.mean(right)), 4),
        ece=round(expected_calibration_error(probs, right), 4),
        threshold=threshold,
        threshold_confidence=cut,
        error_at_threshold=None if error is None else round(error, 4),
        share_at_threshold=round(share, 4),
        target_error=target_error,
        reliability=reliability(probs, right),
    )
