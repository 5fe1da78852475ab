"""A learned field extractor for the CPU engine: candidates from the OCR lines, ranked by a model.

The hand-written rules (``fields.extract_fields``) give one answer per field. Here every field gets
a list of candidate values instead (``candidates.py``: the rules' answer plus the alternatives a
rule could have picked, each with a feature vector). A gradient-boosted regressor, one per field,
predicts the score each candidate would get against the reviewer's label (``value_score``: the
fuzzy metric and exact match weighed alike). The best candidate wins; its predicted score / 100
is the confidence.

Because the rules' answer and confidence are features, the model starts from the rules and only
learns where they go wrong on the receipts it was trained on. A per-field output transform
(upper case, currency prefix...) is picked on the training set too, so a labelling convention
the corrections show is followed.

Two more learners sit beside the ranker: a word tagger (``tagger.py``: a CRF over the OCR words,
so a value can span lines or be part of one) and a vendor memory (``vendors.py``: a seller's
company and address as reviewers wrote them). With enough corrections (``SELECTION_MIN``), each
field's picker (rules, ranker or tagger) and whether the memory applies are chosen on answers
cross-fitted over three thirds of the corrections (each third answered by learners fitted on the
other two; the memory, a lookup that gains with every seller, on nine tenths), and a judge per
field learns from those answers how likely a pick is to be right (``judge.py``: the confidence).
Then everything is refitted on all the corrections. A served version's memory keeps growing
with the reviews made after it was trained (``with_reviews``, ``worker/review_memory.py``).

Trained models are folders (``save``/``load``), versioned like an LLM adapter. The folder holds a
pickle: load only folders this deployment wrote.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import joblib
import numpy as np
import sklearn
from sklearn.ensemble import HistGradientBoostingRegressor
from threadpoolctl import threadpool_limits

from shared.documents.lines import TextLine
from shared.documents.rows import group_rows, union_box
from shared.engines.base import FieldValue
from shared.engines.ocr import judge
from shared.engines.ocr.candidates import (
    Candidate,
    Page,
    candidates,
    context_tokens,
    context_vocab,
    receipt_features,
)
from shared.engines.ocr.fields import extract_fields
from shared.engines.ocr.rules.sums import arithmetic_totals, reproduces
from shared.engines.ocr.tagger import WordTagger
from shared.engines.ocr.vendors import VendorMemory
from shared.fields import FieldSpec
from shared.scoring import exact_match, field_score

FORMAT_VERSION = 2  # 2: rankers, tagger and vendor memory in one file (1: rankers only)
READABLE_FORMATS = (1, 2)
MODEL_FILE = "models.joblib"
META_FILE = "learned.json"

# Small trees and strong regularisation: a user's corrections are tens to hundreds of receipts.
MODEL_PARAMS: dict[str, object] = {
    "max_iter": 200,
    "learning_rate": 0.08,
    "max_leaf_nodes": 15,
    "min_samples_leaf": 10,
    "l2_regularization": 1.0,
    "random_state": 0,
}
# Fewer corrections than this: every field uses the ranker, without the memory (too few to
# choose on).
SELECTION_MIN = 30
PICKERS = judge.PICKERS  # in order of preference on a tie
Options = judge.Options  # (picker, with memory) -> its answer
CURRENCY_RE = re.compile(r"^\s*(RM|MYR|\$|USD|SGD)\s*", re.IGNORECASE)


# --- output transforms -------------------------------------------------------------------------


def _strip_currency(text: str) -> str:
    return CURRENCY_RE.sub("", text)


TRANSFORMS: dict[str, Callable[[str], str]] = {
    "none": lambda s: s,
    "upper": str.upper,
    "lower": str.lower,
    "title": str.title,
    "strip_currency": _strip_currency,
    "prefix_rm": lambda s: s if s.upper().startswith("RM") or not s else "RM" + s,
    "prefix_rm_space": lambda s: s if s.upper().startswith("RM") or not s else "RM " + s,
    "no_spaces": lambda s: s.replace(" ", ""),
    "no_commas": lambda s: s.replace(",", ""),
}


# --- the extractor -----------------------------------------------------------------------------


@dataclass
class _FieldModel:
    kind: str
    feature_names: list[str]
    model: HistGradientBoostingRegressor | None  # None: too few examples, serve the rules
    vocab: dict[str, float]
    transform: str = "none"
    # Class attributes as defaults: versions pickled before they existed load with them.
    picker: str = "ranker"  # rules | ranker | tagger
    remember: bool = False  # the vendor memory may replace the value (company and address)


def value_score(target: str, text: str, kind: str, normalize: bool) -> float:
    """What training aims at (0-100): the fuzzy score and exact match weighed alike, for a
    field not exactly right costs the reviewer an edit, however close it is."""
    return 0.5 * field_score(target, text, kind, normalize) + 50.0 * exact_match(target, text,
                                                                                 kind)


def _matrix(rows: Sequence[Mapping[str, float]], names: Sequence[str]) -> np.ndarray:
    return np.array([[row.get(name, np.nan) for name in names] for row in rows], dtype=np.float64)


class LearnedExtractor:
    """Per-field pickers trained from (OCR lines, corrected label) pairs."""

    def __init__(self, models: dict[str, _FieldModel], meta: dict[str, object],
                 tagger: WordTagger | None = None, memory: VendorMemory | None = None,
                 judges: dict[str, judge.Judge] | None = None) -> None:
        self._models = models
        self.meta = meta
        self._tagger = tagger
        self._memory = memory
        self._judges = judges or {}

    @classmethod
    def fit(
        cls,
        examples: Sequence[tuple[Sequence[TextLine], Mapping[str, object]]],
        fields: Sequence[FieldSpec],
        normalize: bool = False,
    ) -> LearnedExtractor:
        """Train the pickers; a field with fewer than 5 labelled receipts keeps rules.
        ``normalize``: labels written without spaces (WildReceipt), compared normalised."""
        started = time.perf_counter()
        fitted = _fit_all(examples, fields, normalize)
        choices: dict[str, dict[str, object]] = {}
        if len(examples) >= SELECTION_MIN:
            # Cross-fitted: each third answered by rankers, tagger and memory fitted on the
            # other two, as the extractor answers receipts it has not seen. The judges are
            # trained, and the pickers chosen, on all three thirds: one third alone (a third
            # of the corrections) made the choice a coin toss between near-equal pickers, and
            # the vendor memory (which gains with every seller it sees) lost it at 100 SROIE
            # corrections that it wins on the held-out receipts (exact 82.2 -> 85.2%).
            # The memory is cross-fitted finer (``MEMORY_FOLDS``): it is a lookup, not a
            # model that overfits, and with a third of the sellers left out it lost the choice
            # it wins on new receipts (SROIE, 150 corrections: company exact 85% with the
            # memory, 81% without).
            memories = [_memory([ex for i, ex in enumerate(examples) if i % MEMORY_FOLDS != m],
                                fields) for m in range(MEMORY_FOLDS)]
            folds: list[list[_Held]] = []
            for k in range(FOLDS):
                probe = _fit_all([ex for i, ex in enumerate(examples) if i % FOLDS != k],
                                 fields, normalize)
                fold = []
                for i, (lines, label) in enumerate(examples):
                    if i % FOLDS == k:
                        seen = probe.with_memory(memories[i % MEMORY_FOLDS])
                        fold.append(_Held(seen, *seen._options(lines, fields), lines, label))
                folds.append(fold)
            choices = _choose([(h.options, h.label) for fold in folds for h in fold],
                              fitted._models, normalize)
            for name, choice in choices.items():
                model = fitted._models.get(name)
                if model is not None:
                    model.picker = str(choice["picker"])
                    model.remember = bool(choice["remember"])
            fitted._judges = _fit_judges([h for fold in folds for h in fold], fitted._models)
        fitted.meta.update({
            "training_size": len(examples),
            "fit_seconds": round(time.perf_counter() - started, 2),
            "pickers": {name: {"picker": m.picker, "remember": m.remember}
                        for name, m in fitted._models.items()},
            "selection": choices,
            "judges": sorted(fitted._judges),
        })
        return fitted

    def with_memory(self, memory: VendorMemory) -> LearnedExtractor:
        """The same pickers beside another vendor memory."""
        return LearnedExtractor(self._models, self.meta, self._tagger, memory, self._judges)

    def with_reviews(self, labels: Sequence[Mapping[str, object]],
                     texts: Sequence[Sequence[str]]) -> LearnedExtractor:
        """The same pickers, with a vendor memory that also knows these corrected receipts
        (``texts``: each one's lines): what reviewers corrected since the version was trained
        is used at once, without waiting for the next training run."""
        if self._memory is None:
            return self
        return self.with_memory(self._memory.extended(labels, texts))

    def _options(self, lines: Sequence[TextLine], fields: Sequence[FieldSpec],
                 rules: Mapping[str, FieldValue] | None = None
                 ) -> tuple[dict[str, dict[tuple[str, bool], FieldValue]], str | None]:
        """Every picker's answer for every trained field, with and without the memory; and
        the seller the memory recognised (what the judges' recall is read with)."""
        page = Page.of(lines)
        rules = rules if rules is not None else extract_fields(lines, fields)
        tagged = self._tagger.extract(lines, rules) if self._tagger else {}
        seller = self._seller(rules, lines)
        out: dict[str, dict[tuple[str, bool], FieldValue]] = {}
        for spec in fields:
            model = self._models.get(spec.name)
            if model is None or model.model is None or model.kind != spec.kind:
                continue
            rule = rules[spec.name]
            answers = {"rules": rule, "ranker": self._rank(page, spec, model, rule)}
            if spec.name in tagged:
                answers["tagger"] = self._tagged(tagged[spec.name], model, rule)
            out[spec.name] = {}
            for picker, value in answers.items():
                out[spec.name][(picker, False)] = value
                out[spec.name][(picker, True)] = self._remembered(spec.name, value, seller,
                                                                  page)
        return out, seller

    def _seller(self, rules: Mapping[str, FieldValue], lines: Sequence[TextLine]) -> str | None:
        """The seller the rules' company names, or the receipt's numbers do, when the memory
        knows it."""
        company = next((n for n, m in self._models.items() if m.kind == "company"), None)
        if self._memory is None or company is None or company not in rules:
            return None
        return self._memory.seller(company, rules[company].value, [ln.text for ln in lines])

    def _recall(self, name: str, text: str, seller: str | None) -> tuple[str, float] | None:
        """The memory's form of a value: a known seller's name or address, or any remembered
        value."""
        if self._memory is None:
            return None
        kind = self._models[name].kind
        if kind == "company":  # the seller is found by this name, or else by its numbers
            return self._memory.seller_name(name, seller, text) if seller else None
        if seller is not None and kind == "address":
            hit = self._memory.seller_address(seller, text)
            if hit is not None:
                return hit
        return self._memory.recall(name, text, same_numbers=kind == "address")

    def extract(
        self, lines: Sequence[TextLine], fields: Sequence[FieldSpec]
    ) -> dict[str, FieldValue]:
        """One FieldValue per field; fields this model was not trained on get the rules' answer.
        A field with a judge gets the judge's probability that its answer is right as its
        confidence."""
        if self._judges:
            return self._judged(lines, fields)
        page = Page.of(lines)
        rules = extract_fields(lines, fields)
        seller = self._seller(rules, lines)
        tagged: dict[str, FieldValue] | None = None
        result: dict[str, FieldValue] = {}
        for spec in fields:
            model = self._models.get(spec.name)
            rule = rules[spec.name]
            if model is None or model.model is None or model.kind != spec.kind:
                result[spec.name] = rule
                continue
            if model.picker == "rules":
                value = rule
            elif model.picker == "tagger" and self._tagger is not None:
                if tagged is None:
                    tagged = self._tagger.extract(lines, rules)
                value = self._tagged(tagged.get(spec.name), model, rule)
            else:
                value = self._rank(page, spec, model, rule)
            result[spec.name] = (self._remembered(spec.name, value, seller, page)
                                 if model.remember else value)
        return result

    def _judged(self, lines: Sequence[TextLine], fields: Sequence[FieldSpec]
                ) -> dict[str, FieldValue]:
        rules = extract_fields(lines, fields)
        options, seller = self._options(lines, fields, rules)
        result: dict[str, FieldValue] = {}
        for spec in fields:
            model = self._models.get(spec.name)
            by_picker = options.get(spec.name)
            if model is None or by_picker is None:
                result[spec.name] = rules[spec.name]
                continue
            chosen = self._chosen(model, by_picker)
            value = by_picker[chosen]
            verdict = self._judges.get(spec.name)
            if verdict is not None:
                value = replace(value, confidence=round(
                    verdict.probability(self._judge_row(spec.name, by_picker, chosen, lines,
                                                        seller)), 4))
            result[spec.name] = value
        return result

    @staticmethod
    def _chosen(model: _FieldModel, by_picker: Options) -> tuple[str, bool]:
        # A tagger that tagged no word for the field answers with the rules (as ``_tagged``).
        picker = model.picker if (model.picker, model.remember) in by_picker else "rules"
        return picker, model.remember

    def _judge_row(self, name: str, by_picker: Options, chosen: tuple[str, bool],
                   lines: Sequence[TextLine], seller: str | None) -> list[float]:
        recalled = self._recall(name, by_picker[(chosen[0], False)].value, seller)
        model = self._models.get(name)
        # The rules' answer is the rules' total: where the rules read the items to end.
        sums_to = model is not None and model.kind == "amount" and reproduces(
            arithmetic_totals(group_rows(lines), by_picker[("rules", False)].box),
            by_picker[chosen].value)
        return judge.features(by_picker, chosen, recalled[1] if recalled else None, lines,
                              sums_to)

    def _rank(self, page: Page, spec: FieldSpec, model: _FieldModel,
              rule: FieldValue) -> FieldValue:
        assert model.model is not None
        cands = candidates(page, spec, rule)
        if not cands:
            return FieldValue("", 0.0, None)
        feats = receipt_features(cands, page, rule, model.vocab)
        with threadpool_limits(1):
            scores = model.model.predict(_matrix(feats, model.feature_names))
        best = int(np.argmax(scores))
        value = TRANSFORMS[model.transform](cands[best].text)
        # The predicted ratio of the pick: an expected score, so it ranks answers for review.
        confidence = float(np.clip(scores[best] / 100.0, 0.0, 1.0))
        box = rule.box if cands[best].extra.get("from_rule") else cands[best].box
        return FieldValue(value, round(confidence, 4), box)

    @staticmethod
    def _tagged(value: FieldValue | None, model: _FieldModel, rule: FieldValue) -> FieldValue:
        if value is None or not value.value:
            return rule  # no word tagged: the rules' answer
        return FieldValue(TRANSFORMS[model.transform](value.value), value.confidence, value.box)

    def _remembered(self, name: str, value: FieldValue, seller: str | None, page: Page
                    ) -> FieldValue:
        """The memory's form of the value: a remembered one, else the value respelled; for a
        chain whose reviewers add the branch's row after its address, with that row."""
        if (self._memory is not None and self._models[name].kind == "address"
                and self._memory.wants_branch_row(seller, value.value)):
            after = page.row_after(value.box)
            if after is not None:
                spelled = self._memory.spell(name, value.value)
                return replace(value, value=f"{spelled} {after.text.upper()}",
                               box=union_box([b for b in (value.box, after.box) if b]))
        recalled = self._recall(name, value.value, seller)
        if recalled is None:
            if self._memory is None:
                return value
            return replace(value, value=self._memory.spell(name, value.value))
        text, ratio = recalled
        return FieldValue(text, round(max(value.confidence, ratio / 100.0), 4), value.box)

    def save(self, folder: Path) -> None:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        joblib.dump({"models": self._models, "tagger": self._tagger, "memory": self._memory,
                     "judges": self._judges}, folder / MODEL_FILE)
        # The JSON last: a folder with it is complete (a crash mid-save leaves no meta).
        (folder / META_FILE).write_text(json.dumps(self.meta, indent=1, sort_keys=True))

    @classmethod
    def load(cls, folder: Path) -> LearnedExtractor:
        """The extractor saved in ``folder``; ValueError when it is missing or unreadable."""
        folder = Path(folder)
        try:
            meta = json.loads((folder / META_FILE).read_text())
        except (OSError, ValueError) as exc:
            raise ValueError(f"{folder}: no readable {META_FILE} ({exc})") from exc
        if not isinstance(meta, dict) or meta.get("format_version") not in READABLE_FORMATS:
            raise ValueError(f"{folder}: unsupported learned-extractor format {meta!r:.80}")
        try:
            saved = joblib.load(folder / MODEL_FILE)
        except Exception as exc:  # joblib/pickle raise many types on a damaged file
            raise ValueError(f"{folder}: cannot read {MODEL_FILE} ({exc!r})") from exc
        if meta["format_version"] == 1:
            saved = {"models": saved, "tagger": None, "memory": None}
        models = saved.get("models") if isinstance(saved, dict) else None
        if not isinstance(models, dict) or not all(
            isinstance(m, _FieldModel) for m in models.values()
        ) or not isinstance(saved.get("tagger"), WordTagger | None) or not isinstance(
                saved.get("memory"), VendorMemory | None):
            raise ValueError(f"{folder}: {MODEL_FILE} does not hold a learned extractor")
        judges = saved.get("judges") or {}  # saved before judges: the pickers' scores
        if not isinstance(judges, dict) or not all(
                isinstance(j, judge.Judge) for j in judges.values()):
            raise ValueError(f"{folder}: {MODEL_FILE} holds no judges it can use")
        return cls(models, meta, saved["tagger"], saved["memory"], judges)

    @property
    def field_names(self) -> list[str]:
        return list(self._models)

    @property
    def memory(self) -> VendorMemory | None:
        return self._memory


def _fit_all(examples: Sequence[tuple[Sequence[TextLine], Mapping[str, object]]],
             fields: Sequence[FieldSpec], normalize: bool) -> LearnedExtractor:
    """Rankers, tagger and memory fitted on ``examples``, every field on the ranker."""
    pages = [Page.of(lines) for lines, _ in examples]
    rules = [extract_fields(lines, fields) for lines, _ in examples]
    labels = [label for _, label in examples]
    text_fields = [spec for spec in fields if not spec.is_table]
    models = {spec.name: _fit_field(spec, pages, rules, labels, normalize)
              for spec in text_fields}  # line items keep the rules (rules/items.py)
    kinds = {spec.name: spec.kind for spec in text_fields}
    meta: dict[str, object] = {
        "format_version": FORMAT_VERSION,
        "fields": [spec.model_dump() for spec in fields],
        "sklearn_version": sklearn.__version__,
        "transforms": {name: m.transform for name, m in models.items()},
        "normalize": normalize,
    }
    return LearnedExtractor(models, meta, WordTagger.fit(examples, rules, kinds, boxes=normalize),
                            _memory(examples, fields))


def _memory(examples: Sequence[tuple[Sequence[TextLine], Mapping[str, object]]],
            fields: Sequence[FieldSpec]) -> VendorMemory:
    kinds = {spec.name: spec.kind for spec in fields if not spec.is_table}
    return VendorMemory.build([label for _, label in examples], kinds,
                              texts=[[ln.text for ln in lines] for lines, _ in examples])


def _fit_field(
    spec: FieldSpec,
    pages: Sequence[Page],
    rules: Sequence[Mapping[str, FieldValue]],
    labels: Sequence[Mapping[str, object]],
    normalize: bool = False,
) -> _FieldModel:
    def ratio(target: str, text: str) -> float:
        return value_score(target, text, spec.kind, normalize)

    per_receipt: list[tuple[Page, FieldValue, list[Candidate], list[float], str]] = []
    for page, rule_result, label in zip(pages, rules, labels, strict=True):
        target = label.get(spec.name)
        if not isinstance(target, str):
            continue  # no correction for this field on this receipt
        rule = rule_result[spec.name]
        cands = candidates(page, spec, rule)
        ratios = [ratio(target, c.text) for c in cands]
        per_receipt.append((page, rule, cands, ratios, target))
    if len(per_receipt) < 5:
        return _FieldModel(spec.kind, [], None, {})

    vocab = context_vocab([
        (context_tokens(c, page), r)
        for page, _, cands, ratios, _ in per_receipt
        for c, r in zip(cands, ratios, strict=True)
    ])
    feats: list[dict[str, float]] = []
    targets: list[float] = []
    groups: list[int] = []
    for g, (page, rule, cands, ratios, _) in enumerate(per_receipt):
        feats.extend(receipt_features(cands, page, rule, vocab))
        targets.extend(ratios)
        groups.extend([g] * len(ratios))
    names = sorted({name for row in feats for name in row})
    x = _matrix(feats, names)
    y = np.array(targets)
    # Regression on the ratio, not "right or wrong": among addresses that are all a little off,
    # the one closest to the label is still the best pick, and the metric rewards it.
    model = HistGradientBoostingRegressor(**MODEL_PARAMS)  # type: ignore[arg-type]
    with threadpool_limits(1):
        model.fit(x, y)
        scores = model.predict(x)

    # The output convention: the transform that best matches the labels on the training picks.
    group_arr = np.array(groups)
    picks = []
    for g, (_, _, cands, _, target) in enumerate(per_receipt):
        idx = np.flatnonzero(group_arr == g)
        if len(idx):
            picks.append((cands[int(np.argmax(scores[idx]))].text, target))
    best_name, best_score = "none", -1.0
    for name, fn in TRANSFORMS.items():
        score = sum(ratio(t, fn(p)) for p, t in picks) / max(1, len(picks))
        if score > best_score + 0.05:  # "none" first, and a transform must earn its place
            best_name, best_score = name, score
    return _FieldModel(spec.kind, names, model, vocab, best_name)


FOLDS = 3  # cross-fitting folds for choosing pickers and training judges
MEMORY_FOLDS = 10  # and for the vendor memory's answers: each sees 90% of the sellers


@dataclass
class _Held:
    """One training receipt as a probe that never saw it answers it."""

    probe: LearnedExtractor
    options: dict[str, dict[tuple[str, bool], FieldValue]]
    seller: str | None
    lines: Sequence[TextLine]
    label: Mapping[str, object]


def _choose(held: Sequence[tuple[Mapping[str, Options], Mapping[str, object]]],
            models: Mapping[str, _FieldModel], normalize: bool) -> dict[str, dict[str, object]]:
    """Per field, the picker and memory setting that score best on the cross-fitted answers."""
    totals: dict[tuple[str, str, bool], float] = {}
    for options, label in held:
        for name, by_picker in options.items():
            target = label.get(name)
            if not isinstance(target, str):
                continue
            for (picker, remember), value in by_picker.items():
                key = (name, picker, remember)
                totals[key] = totals.get(key, 0.0) + value_score(
                    target, value.value, models[name].kind, normalize)
    out: dict[str, dict[str, object]] = {}
    for name in models:
        # Ties go to the simpler choice: the earlier picker, no memory.
        scored = [(totals[(name, p, r)], -PICKERS.index(p), not r, p)
                  for p in PICKERS for r in (False, True) if (name, p, r) in totals]
        if scored:
            score, _, forget, picker = max(scored)
            out[name] = {"picker": picker, "remember": not forget,
                         "held_out_score": round(score / max(1, len(held)), 2)}
    return out


def _fit_judges(held: Sequence[_Held], models: Mapping[str, _FieldModel]
                ) -> dict[str, judge.Judge]:
    """Per field, a judge trained on whether each cross-fitted answer was exactly right."""
    rows: dict[str, list[list[float]]] = {}
    right: dict[str, list[bool]] = {}
    for h in held:
        for name, by_picker in h.options.items():
            target = h.label.get(name)
            model = models.get(name)
            if not isinstance(target, str) or model is None:
                continue
            chosen = LearnedExtractor._chosen(model, by_picker)
            rows.setdefault(name, []).append(h.probe._judge_row(
                name, by_picker, chosen, h.lines, h.seller))
            right.setdefault(name, []).append(
                exact_match(target, by_picker[chosen].value, model.kind))
    judges = {name: judge.fit(rows[name], right[name]) for name in rows}
    return {name: j for name, j in judges.items() if j is not None}

