"""How sure the learned extractor is that an answer is exactly right.

A picker's score says which candidate is best, not whether the best is right: a ranker's
predicted ratio of 0.9 is as high for a misread total as for a clean one. What does tell is
around the answer: whether the rules, the ranker and the word tagger agree on it; whether the
vendor memory recognised the seller (and how closely); how sure OCR was of the characters it
came from; how often the value is printed; for a total, whether the receipt's own sums give it
(``rules/sums.py``). A judge per field, a small gradient-boosted
classifier over those signals, is trained on answers the extractor gave receipts it had not
been trained on (cross-fitted, ``learned.LearnedExtractor.fit``), and its probability becomes
the field's confidence. The deployment still calibrates it on its own reviews
(``shared/acceptance.py``): the judge makes confidences that separate right from wrong, the
calibration makes them mean what they say.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier
from threadpoolctl import threadpool_limits

from shared.documents.lines import TextLine
from shared.engines.base import FieldValue
from shared.scoring import normalised

PICKERS = ("ranker", "rules", "tagger")  # in order of preference on a tie
FEATURES = ("confidence", "rules_confidence", "agree_share", "agree_rules", "agree_ranker",
            "agree_tagger", "recalled", "recall_ratio", "ocr_score", "printed", "length",
            "sums_to")
# Signals that can only make an answer likelier right: the judge is held to that. A few
# hundred reviews hold a handful of wrong answers, and an unconstrained judge learns their
# accidents (with ``sums_to`` added, SROIE's wrong total 50.00 for 25.00 was the 28th surest
# of 290). Held, on SROIE (``benchmarks/calibration.py``) the date,total auto-accept share over
# 200 halvings rose 35.9 -> 40.5% and the pooled ECE on the fixed split fell 0.021 -> 0.007
# (0.029 over the halvings either way; per field dates and totals better, company and address
# worse: 0.066 -> 0.096 and 0.028 -> 0.045).
RISING = frozenset({"confidence", "rules_confidence", "agree_share", "recall_ratio", "ocr_score",
                    "sums_to"})
# Fewer cross-fitted answers than this, or all of one kind: the field keeps its picker's score.
MIN_SAMPLES = 20
MODEL_PARAMS = {"max_iter": 80, "max_depth": 3, "learning_rate": 0.08, "min_samples_leaf": 6,
                "l2_regularization": 1.0, "random_state": 0}

Options = Mapping[tuple[str, bool], FieldValue]  # (picker, with memory) -> its answer


def features(options: Options, chosen: tuple[str, bool], recall_ratio: float | None,
             lines: Sequence[TextLine], sums_to: bool = False) -> list[float]:
    """The signals about the chosen answer, in ``FEATURES`` order; ``sums_to``: the answer is
    a total the receipt's arithmetic gives."""
    value = options[chosen].value
    key = normalised(value)
    plain = {p: normalised(options[(p, False)].value) for p in PICKERS if (p, False) in options}
    agree = {p: float(text == key) for p, text in plain.items()}
    rules = options.get(("rules", False))
    # The lines the value was read from: those inside it (an address over lines), or the one
    # that holds it (a total beside its keyword).
    scores, printed = [], 0
    for ln in lines:
        text = normalised(ln.text)
        if not (key and text):
            continue
        printed += key in text
        if (len(text) >= 4 and text in key) or key in text:
            scores.append(ln.score)
    return [
        float(options[chosen].confidence),
        float(rules.confidence) if rules else 0.0,
        sum(agree.values()) / max(1, len(agree)),
        agree.get("rules", -1.0), agree.get("ranker", -1.0), agree.get("tagger", -1.0),
        float(chosen[1] and key != plain.get(chosen[0], key)),
        (recall_ratio or 0.0) / 100.0,
        min(scores) if scores else 0.0,
        float(min(printed, 5)),
        math.log1p(len(key)),
        float(sums_to),
    ]


@dataclass
class Judge:
    model: HistGradientBoostingClassifier | None
    constant: float  # the share right, for a field whose answers were all right (or wrong)

    def probability(self, row: Sequence[float]) -> float:
        if self.model is None:
            return self.constant
        # A version trained before a signal was added reads the ones it knew (new ones are
        # appended to ``FEATURES``).
        known = row[:self.model.n_features_in_]
        with threadpool_limits(1):
            return float(self.model.predict_proba(np.asarray([known], dtype=float))[0, 1])


def fit(rows: Sequence[Sequence[float]], right: Sequence[bool]) -> Judge | None:
    if len(rows) < MIN_SAMPLES:
        return None
    y = np.asarray(right, dtype=int)
    if y.min() == y.max():
        return Judge(None, float(y[0]))
    rising = [int(name in RISING) for name in FEATURES]
    model = HistGradientBoostingClassifier(**MODEL_PARAMS,  # type: ignore[arg-type]
                                           monotonic_cst=rising[:len(rows[0])])
    with threadpool_limits(1):
        model.fit(np.asarray(rows, dtype=float), y)
    return Judge(model, float(y.mean()))
