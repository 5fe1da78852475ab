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

The auto-accept threshold of a field is the lowest confidence at which the fields at or above
it were wrong at most ``target_error`` of the time (shown as its calibrated value). The
calibration error (ECE) is measured out of fold: each half's probabilities come from the
curve fitted on the other half, so it is not measured on the data it was fitted to.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, fields

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
    error_at_threshold: float | None  # measured error among fields at or above it
    share_at_threshold: float  # share of fields at or above it
    target_error: float = 0.01  # the error the threshold was chosen for
    # The engine's confidence at and above which fields are accepted (what ``accepts`` cuts on).
    threshold_confidence: float | None = None
    # The reliability diagram, out of fold: per bin, mean calibrated confidence, share right.
    reliability: list[dict[str, float]] = field(default_factory=list)
    method: str = "isotonic"  # which of METHODS drew the curve

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
