"""A word tagger for the CPU engine: a linear-chain CRF (python-crfsuite) over the receipt's OCR
words in reading order, so a value can span lines or be part of one.

The candidate ranker (``learned.py``) picks whole lines or runs of header rows; a value printed
inside a longer line ("Date: 12/30/2016 Time 10:41") or a company name broken over two lines
with a slogan between cannot be picked exactly. Here every word is labelled with the field it
belongs to (or ``O``) from features of the word (its shape, what patterns it matches), its
line (keywords on it, its height against the receipt's, where it sits) and its neighbours, and
from the rules' answers (is this word in the rules' company, date, ...): the tagger starts from
the rules and learns where they go wrong. A field's value is its best-scoring run of words.

Training needs the words each corrected value was read from; :func:`align` finds them: the run
of words whose text, normalised as the exact-match metric does (``shared/scoring.py``), best
matches the label, so labels written without spaces (WildReceipt) align too.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from statistics import median

from rapidfuzz import fuzz

from shared.documents.lines import Box, TextLine
from shared.documents.rows import group_rows, union_box
from shared.engines.base import FieldValue
from shared.engines.ocr.rules.amount import (
    LOOSE_AMOUNT_RE,
    SUBTOTAL_WEIGHT,
    SUMMARY_RE,
    total_keyword_weight,
)
from shared.engines.ocr.rules.date import DATE_KEYWORD_RE, has_date
from shared.scoring import amount_value, normalised
from shared.values import AMOUNT_KINDS

OUTSIDE = "O"
# A value is at most this many words (a long address); alignment searches no further.
MAX_SPAN_WORDS = 40
# An aligned run must match its label at least this well (normalised fuzz.ratio).
MIN_ALIGN_RATIO = 75.0
WORD_RE = re.compile(r"\S+")
PHONE_RE = re.compile(r"\b(TEL|PHONE|FAX|PH|HP|T)\b\.?", re.IGNORECASE)
# A word that is a postcode on its own (header.POSTCODE_RE finds one inside a row).
POSTCODE_WORD_RE = re.compile(r"^\d{4,6}[,.]?$|^[A-Z]{1,2}\d[A-Z\d]?$")
TRAINER_PARAMS = {"c1": 0.05, "c2": 0.05, "max_iterations": 150,
                  "feature.possible_transitions": True}


@dataclass(frozen=True)
class Word:
    text: str
    box: Box
    line: int  # index of its line in reading order
    row: int  # index of its row (lines side by side share one)
    first: bool  # first word of its line
    last: bool


def words_of(lines: Sequence[TextLine]) -> list[Word]:
    """The receipt's words in reading order (rows top to bottom, left to right), each with a
    box cut from its line's box in proportion to its characters."""
    words: list[Word] = []
    line_no = 0
    for row_no, row in enumerate(group_rows(lines)):
        for line in row.lines:
            matches = list(WORD_RE.finditer(line.text))
            width = (line.x1 - line.x0) / max(1, len(line.text))
            for i, m in enumerate(matches):
                box = (line.x0 + width * m.start(), line.y0, line.x0 + width * m.end(), line.y1)
                words.append(Word(m.group(0), box, line_no, row_no, i == 0,
                                  i == len(matches) - 1))
            line_no += 1
    return words


def _shape(text: str) -> str:
    shape = re.sub(r"[A-Z]", "X", re.sub(r"[a-z]", "x", re.sub(r"\d", "9", text)))
    return re.sub(r"(.)\1+", r"\1\1", shape)[:8]  # runs cut to two: "XXXX" -> "XX"


def _bucket(value: float, edges: Sequence[float]) -> str:
    return str(sum(value > e for e in edges))


class _Receipt:
    """Per-receipt numbers the word features are normalised by."""

    def __init__(self, words: Sequence[Word]) -> None:
        self.words = words
        self.lines: dict[int, list[Word]] = {}
        for w in words:
            self.lines.setdefault(w.line, []).append(w)
        self.n_rows = max((w.row for w in words), default=0) + 1
        heights = [w.box[3] - w.box[1] for w in words]
        self.height = median(heights) if heights else 1.0
        self.x0 = min((w.box[0] for w in words), default=0.0)
        self.width = max(1.0, max((w.box[2] for w in words), default=1.0) - self.x0)
        self.line_text = {n: " ".join(w.text for w in ws) for n, ws in self.lines.items()}


def names_total(line: str) -> bool:
    """The line names the total paid ("TOTAL", "JUMLAH", "SUMME", ...), as the rules read it:
    not a subtotal, tax, change or cash line."""
    return total_keyword_weight(line) > SUBTOTAL_WEIGHT


def _word_features(w: Word, r: _Receipt) -> dict[str, object]:
    text = w.text
    low = text.casefold()
    line = r.line_text[w.line]
    f: dict[str, object] = {
        "bias": 1.0,
        "w": low[:20],
        "shape": _shape(text),
        "len": _bucket(len(text), (1, 3, 6, 10)),
        "digit": text.isdigit(), "alpha": text.isalpha(),
        "upper": text.isupper(), "title": text.istitle(),
        "amount": bool(LOOSE_AMOUNT_RE.fullmatch(text.strip("RM$€£:"))),
        "date": has_date(text), "postcode": bool(POSTCODE_WORD_RE.match(text)),
        "punct_end": text[-1] in ",.:;", "has_digit": any(c.isdigit() for c in text),
        "row": _bucket(w.row / max(1, r.n_rows - 1), (0.05, 0.1, 0.2, 0.35, 0.5, 0.7, 0.85)),
        "row_abs": _bucket(w.row, (0, 1, 2, 3, 5, 8, 12)),
        "x": _bucket((w.box[0] - r.x0) / r.width, (0.25, 0.5, 0.75)),
        "tall": _bucket((w.box[3] - w.box[1]) / r.height, (0.8, 1.2, 1.6)),
        "first": w.first, "last": w.last,
        "l_total": names_total(line),
        "l_summary": bool(SUMMARY_RE.search(line)), "l_date": bool(DATE_KEYWORD_RE.search(line)),
        "l_phone": bool(PHONE_RE.search(line)), "l_words": _bucket(len(r.lines[w.line]),
                                                                   (1, 2, 4, 8)),
    }
    line_words = r.lines[w.line]
    if w.first:
        f["l_head"] = line_words[0].text.casefold()[:12]
    return f


def _features(words: Sequence[Word], rules: Mapping[str, FieldValue]) -> list[dict[str, object]]:
    r = _Receipt(words)
    feats = [_word_features(w, r) for w in words]
    for name, rule in rules.items():
        if not rule.value or rule.box is None:
            continue
        inside = normalised(rule.value)
        for w, f in zip(words, feats, strict=True):
            cx, cy = (w.box[0] + w.box[2]) / 2, (w.box[1] + w.box[3]) / 2
            x0, y0, x1, y1 = rule.box
            if x0 - 2 <= cx <= x1 + 2 and y0 - 2 <= cy <= y1 + 2 and normalised(w.text) in inside:
                f[f"rule_{name}"] = True
    # Neighbours: the words before and after, and the line's first words.
    out: list[dict[str, object]] = []
    for i, f in enumerate(feats):
        g = dict(f)
        for offset in (-1, 1):
            j = i + offset
            if 0 <= j < len(feats):
                rule_keys = [k for k in feats[j] if k.startswith("rule_")]
                for key in ("w", "shape", "amount", "l_total", "row", *rule_keys):
                    if key in feats[j]:
                        g[f"{offset}:{key}"] = feats[j][key]
                g[f"{offset}:same_line"] = words[j].line == words[i].line
            else:
                g[f"{offset}:edge"] = True
        out.append(g)
    return [_crfsuite_items(g) for g in out]


def _crfsuite_items(f: Mapping[str, object]) -> dict[str, object]:
    """crfsuite takes str -> float (weights) or str -> str (one-hot): booleans as 0/1."""
    out: dict[str, object] = {}
    for key, value in f.items():
        if isinstance(value, bool):
            if value:
                out[key] = 1.0
        else:
            out[key] = value
    return out


def align(words: Sequence[Word], label: str, kind: str) -> tuple[int, int] | None:
    """The run of words ``[start, end)`` the label was read from, or None where no run matches
    well: amounts by value (the one on a line naming the total when several match, else the
    last), other kinds by the normalised text."""
    if kind in AMOUNT_KINDS:
        want = amount_value(label)
        if want is None:
            return None
        hits = [i for i, w in enumerate(words) if amount_value(w.text) == want
                and LOOSE_AMOUNT_RE.search(w.text)]
        if not hits:
            return None
        r = _Receipt(words)
        on_total = [i for i in hits if names_total(r.line_text[words[i].line])]
        i = on_total[0] if on_total else hits[-1]
        return i, i + 1
    target = normalised(label)
    if not target:
        return None
    norm = [normalised(w.text) for w in words]
    best: tuple[float, int, int] | None = None
    for start, first in enumerate(norm):
        if not first or first[:3] not in target:
            continue
        text = ""
        for end in range(start + 1, min(len(words), start + MAX_SPAN_WORDS) + 1):
            text += norm[end - 1]
            if len(text) > 1.5 * len(target) + 4:
                break
            ratio = fuzz.ratio(text, target)
            if best is None or ratio > best[0]:
                best = (ratio, start, end)
    if best is None or best[0] < MIN_ALIGN_RATIO:
        return None
    return best[1], best[2]


class WordTagger:
    """One CRF over all the fields it was trained for.

    ``boxes``: the labels join several printed boxes with spaces (WildReceipt: a company's
    name printed twice, an address over three lines, each box without its own spaces): each box
    is aligned on its own, and a value is all of its field's runs in reading order.
    """

    def __init__(self, model: bytes, fields: dict[str, str], boxes: bool = False) -> None:
        self.model = model  # the crfsuite model file's bytes: pickled with the extractor
        self.fields = fields  # name -> kind
        self.boxes = boxes
        self._tagger = None

    def __getstate__(self) -> dict[str, object]:
        return {"model": self.model, "fields": self.fields, "boxes": self.boxes}

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__init__(state["model"], state["fields"],  # type: ignore[misc, arg-type]
                      bool(state.get("boxes")))

    @classmethod
    def fit(cls, examples: Sequence[tuple[Sequence[TextLine], Mapping[str, object]]],
            rules: Sequence[Mapping[str, FieldValue]], kinds: Mapping[str, str],
            boxes: bool = False) -> WordTagger | None:
        """Trained on every receipt with at least one aligned field; None without any."""
        import pycrfsuite

        trainer = pycrfsuite.Trainer(verbose=False)
        trained: set[str] = set()
        for (lines, label), rule in zip(examples, rules, strict=True):
            words = words_of(lines)
            if not words:
                continue
            tags = [OUTSIDE] * len(words)
            for name, kind in kinds.items():
                value = label.get(name)
                if not isinstance(value, str) or not value.strip():
                    continue
                parts = value.split() if boxes and kind not in AMOUNT_KINDS else [value]
                for part in parts:
                    span = align(words, part, kind)
                    if span is not None:
                        tags[span[0]:span[1]] = [name] * (span[1] - span[0])
                        trained.add(name)
            trainer.append(_features(words, rule), tags)
        if not trained:
            return None
        trainer.set_params(TRAINER_PARAMS)
        with tempfile.TemporaryDirectory(prefix="receiptflow-crf-") as tmp:
            path = Path(tmp) / "model.crfsuite"
            trainer.train(str(path))
            return cls(path.read_bytes(), {n: k for n, k in kinds.items() if n in trained},
                       boxes)

    def _open(self):  # type: ignore[no-untyped-def]
        if self._tagger is None:
            import pycrfsuite

            tagger = pycrfsuite.Tagger()
            tagger.open_inmemory(self.model)
            self._tagger = tagger
        return self._tagger

    def extract(self, lines: Sequence[TextLine], rules: Mapping[str, FieldValue]
                ) -> dict[str, FieldValue]:
        """Each trained field's best run of words: the run (consecutive words tagged with the
        field) with the highest summed marginal probability; its mean marginal is the
        confidence. A field with no word tagged is empty."""
        words = words_of(lines)
        out = {name: FieldValue("", 0.0, None) for name in self.fields}
        if not words:
            return out
        tagger = self._open()
        tags = tagger.tag(_features(words, rules))
        runs: dict[str, list[tuple[float, int, int]]] = {}
        start = 0
        for i in range(1, len(words) + 1):
            if i == len(words) or tags[i] != tags[start]:
                name = tags[start]
                if name in self.fields:
                    mass = sum(tagger.marginal(name, j) for j in range(start, i))
                    runs.setdefault(name, []).append((mass, start, i))
                start = i
        for name, found in runs.items():
            if self.boxes and self.fields[name] not in AMOUNT_KINDS:
                picked = sorted((a, b) for _mass, a, b in found)
            else:
                picked = [max(found)[1:]]
            chosen = [w for a, b in picked for w in words[a:b]]
            mass = sum(m for m, a, b in found if (a, b) in picked)
            out[name] = FieldValue(" ".join(join_words(words[a:b]) for a, b in picked),
                                   round(mass / len(chosen), 4),
                                   union_box([w.box for w in chosen]))
        return out


def join_words(words: Sequence[Word]) -> str:
    return " ".join(w.text for w in words)
