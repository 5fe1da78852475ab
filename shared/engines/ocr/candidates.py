"""What the learned ranker chooses from: each field's candidate values, and their features.

A field's candidates are the rules' answer plus the alternatives a rule could have picked: every
amount or date on the receipt, every run of header rows for company/address, every row, line and
"label: value" tail for fields of other kinds. Each is described by a feature vector: where it
sits, what is printed around it (``context_vocab`` learns which neighbouring words mark the
field), which patterns it matches, how close it is to the rules' answer and how sure the rules
were. ``learned.py`` trains and runs the ranker on these.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from statistics import median

from rapidfuzz import fuzz

from shared.documents.lines import Box, TextLine
from shared.documents.rows import Row, group_rows, union_box
from shared.engines.base import FieldValue
from shared.engines.ocr.rules.address import address_value
from shared.engines.ocr.rules.amount import (
    LOOSE_AMOUNT_RE,
    NOT_TOTAL_RE,
    ROUNDING_ADJ_RE,
    SUBTOTAL_RE,
    SUMMARY_RE,
    _amounts,
    amount_text,
    total_keyword_weight,
)
from shared.engines.ocr.rules.company import clean_name
from shared.engines.ocr.rules.date import DATE_KEYWORD_RE, OTHER_DATE_RE, find_dates
from shared.engines.ocr.rules.header import (
    ADDRESS_START_RE,
    COMPANY_SUFFIX_RE,
    LEGAL_FORM_RE,
    POSTCODE_RE,
    STOP_RE,
    address_text,
    find_header,
    is_noise,
    is_registration,
    is_stamp,
    is_stop,
)
from shared.fields import FieldSpec

# Header candidates (company, address) come from the top rows only: the rules look no further.
HEADER_ROWS = 20
MAX_COMPANY_ROWS = 3
MAX_ADDRESS_ROWS = 7
# Fields of other kinds: every row and line is a candidate, up to this many rows.
MAX_GENERIC_ROWS = 120
# Training target: ``value_score`` against the label (fuzzy and exact). A candidate this good
# (exactly right, or nearly) counts as "right" for the context vocabulary.
GOOD_RATIO = 90.0
TOKEN_RE = re.compile(r"[A-Z]{2,}")


# --- candidates --------------------------------------------------------------------------------


@dataclass
class Candidate:
    """One possible value of a field, with the rows/lines it was read from."""

    text: str
    rows: list[Row]
    lines: list[TextLine]
    extra: dict[str, float] = field(default_factory=dict)  # kind-specific features

    @property
    def box(self) -> Box | None:
        return union_box([line.box for line in self.lines])


@dataclass
class Page:
    """The receipt's rows plus page-level numbers the features are normalised by."""

    rows: list[Row]
    width: float
    height: float
    x_min: float
    line_height: float
    amounts: list[float]

    @classmethod
    def of(cls, lines: Sequence[TextLine]) -> Page:
        rows = group_rows(lines)
        all_lines = [line for row in rows for line in row.lines]
        if not all_lines:
            return cls(rows, 1.0, 1.0, 0.0, 1.0, [])
        x_min = min(line.x0 for line in all_lines)
        return cls(
            rows=rows,
            width=max(1.0, max(line.x1 for line in all_lines) - x_min),
            height=max(1.0, max(line.y1 for line in all_lines)),
            x_min=x_min,
            line_height=max(1.0, median(line.height for line in all_lines)),
            amounts=[_to_float(a) for line in all_lines for a in _amounts(line)],
        )

    def row_after(self, box: Box | None) -> Row | None:
        """The printed row right below the rows inside ``box``."""
        if box is None:
            return None
        last = max((row.index for row in self.rows if _inside(row.box, box)), default=None)
        return self.rows[last + 1] if last is not None and last + 1 < len(self.rows) else None


def _to_float(amount: str) -> float:
    try:
        return float(amount.replace(",", ""))
    except ValueError:
        return 0.0


def _amount_candidates(page: Page) -> Iterator[Candidate]:
    rows = page.rows
    summary_at = next(
        (r.index for r in rows[len(rows) // 3 :] if SUMMARY_RE.search(r.text)), len(rows)
    )
    seen_adjustment = False
    for row in rows:
        if ROUNDING_ADJ_RE.search(row.text):
            seen_adjustment = True
        above = rows[row.index - 1].text if row.index > 0 else ""
        weight = total_keyword_weight(row.text)
        for k, line in enumerate(row.lines):
            strict = _amounts(line)
            found = strict or [
                amount_text(m) for m in LOOSE_AMOUNT_RE.finditer(line.text)
            ]
            for j, amount in enumerate(found):
                value = _to_float(amount)
                yield Candidate(amount, [row], [line], {
                    "kw_row": weight,
                    "kw_above": total_keyword_weight(above),
                    "not_total": float(bool(NOT_TOTAL_RE.search(row.text))),
                    "subtotal": float(bool(SUBTOTAL_RE.search(row.text))),
                    "after_adj": float(seen_adjustment),
                    "after_summary": float(row.index >= summary_at),
                    "loose": float(not strict),
                    "rightmost": float(k == len(row.lines) - 1 and j == len(found) - 1),
                    "alone": float(len(row.lines) == 1),
                    # Signed: a credit note's total is negative ("-1.73").
                    "log_value": math.copysign(math.log1p(abs(value)), value),
                    "is_max": float(bool(page.amounts) and value >= max(page.amounts)),
                    "rank": float(sum(a > value for a in page.amounts)),
                    "same_count": float(sum(abs(a - value) < 1e-6 for a in page.amounts)),
                    "cash": float(bool(re.search(r"CASH|TENDER|PAID", row.text, re.I))),
                    "change": float(bool(re.search(r"CHANGE|BALANCE", row.text, re.I))),
                    "zero": float(value <= 0),
                })


def _date_candidates(page: Page) -> Iterator[Candidate]:
    seen: Counter[str] = Counter()
    for i, row in enumerate(page.rows):
        keyword = bool(DATE_KEYWORD_RE.search(row.text))
        above = i > 0 and bool(DATE_KEYWORD_RE.search(page.rows[i - 1].text))
        for line in row.lines:
            for cand in find_dates(line, row):
                seen[cand.text] += 1
                yield Candidate(cand.text.upper(), [row], [line], {
                    "strength": cand.strength,
                    "kw_row": float(keyword),
                    "kw_above": float(above),
                    "other": float(bool(OTHER_DATE_RE.search(row.text))),
                    "order": float(sum(seen.values()) - 1),
                    "repeat": float(seen[cand.text] - 1),
                    "has_month_name": float(bool(re.search(r"[A-Z]", cand.text, re.I))),
                    "four_digit_year": float(bool(re.search(r"\d{4}", cand.text))),
                    "sep_slash": float("/" in cand.text),
                    "sep_dash": float("-" in cand.text),
                    "sep_dot": float("." in cand.text),
                })


def _row_flags(row: Row) -> dict[str, float]:
    text = row.text
    letters = [ch for ch in text if ch.isalpha()]
    return {
        "legal": float(bool(LEGAL_FORM_RE.search(text))),
        "suffix": float(bool(COMPANY_SUFFIX_RE.search(text))),
        "noise": float(is_noise(row)),
        "stamp": float(is_stamp(row)),
        "reg": float(is_registration(row)),
        "stop": float(is_stop(row)),
        "addr_start": float(bool(ADDRESS_START_RE.match(text))),
        "postcode": float(bool(POSTCODE_RE.search(text))),
        "lower": float(bool(letters) and all(ch.islower() for ch in letters)),
        "comma_end": float(text.rstrip().endswith(",")),
    }


def _span_features(span: list[Row], rows: list[Row], prefix: str = "") -> dict[str, float]:
    """Flags of the first/last rows of a multi-row span and of the rows around it."""
    flags = [_row_flags(row) for row in span]
    out: dict[str, float] = {}
    for name in flags[0]:
        out[f"{prefix}first_{name}"] = flags[0][name]
        out[f"{prefix}last_{name}"] = flags[-1][name]
        out[f"{prefix}any_{name}"] = max(f[name] for f in flags)
    before = rows[span[0].index - 1] if span[0].index > 0 else None
    after = rows[span[-1].index + 1] if span[-1].index + 1 < len(rows) else None
    for side, row in (("before", before), ("after", after)):
        row_flags = _row_flags(row) if row is not None else {}
        for name in ("postcode", "addr_start", "stop", "reg", "legal", "comma_end", "noise"):
            out[f"{prefix}{side}_{name}"] = row_flags.get(name, -1.0)
    return out


def _header_spans(page: Page, max_rows: int) -> Iterator[list[Row]]:
    top = page.rows[:HEADER_ROWS]
    for i in range(len(top)):
        for j in range(i + 1, min(len(top), i + max_rows) + 1):
            yield top[i:j]


def _company_candidates(page: Page) -> Iterator[Candidate]:
    header = find_header(page.rows)
    rule_rows = {row.index for row in header.company}
    printed = [row.index for row in page.rows[:HEADER_ROWS] if not (is_noise(row) or is_stamp(row))]
    for span in _header_spans(page, MAX_COMPANY_ROWS):
        text = clean_name(" ".join(row.text for row in span)).upper()
        if not text:
            continue
        idx = {row.index for row in span}
        yield Candidate(text, span, [ln for row in span for ln in row.lines], {
            **_span_features(span, page.rows),
            "printed_order": float(sum(i < span[0].index for i in printed)),
            "rule_rows_jaccard": len(idx & rule_rows) / len(idx | rule_rows),
        })


def _address_candidates(page: Page) -> Iterator[Candidate]:
    header = find_header(page.rows)
    rule_rows = {row.index for row in header.address}
    company_end = header.company[-1].index if header.company else -1
    # Each header row's address part (contact details cut), once for all the spans it is in;
    # and the rows whose address part still ends the header.
    parts = {row.index: address_text(row) for row in page.rows[:HEADER_ROWS]}
    stops = {i for i, part in parts.items() if STOP_RE.search(part)}
    for span in _header_spans(page, MAX_ADDRESS_ROWS):
        if span[0].index in stops or span[-1].index in stops:
            continue  # "TABLE :8", "INVOICE" at an end: the address is the span without it
        text = address_value(parts[row.index] for row in span).upper()
        if not text:
            continue
        idx = {row.index for row in span}
        yield Candidate(text, span, [ln for row in span for ln in row.lines], {
            **_span_features(span, page.rows),
            "rule_rows_jaccard": len(idx & rule_rows) / len(idx | rule_rows),
            "after_company": float(span[0].index - company_end),
            "n_postcodes": float(sum(bool(POSTCODE_RE.search(row.text)) for row in span)),
            "n_stop": float(sum(is_stop(row) for row in span)),
        })


def _generic_candidates(page: Page) -> Iterator[Candidate]:
    for row in page.rows[:MAX_GENERIC_ROWS]:
        yield Candidate(row.text, [row], list(row.lines), {"whole_row": 1.0})
        if len(row.lines) > 1:
            for k, line in enumerate(row.lines):
                yield Candidate(line.text.strip(), [row], [line], {
                    "whole_row": 0.0, "line_order": float(k), "last": float(k == len(row.lines) - 1)
                })
        for line in row.lines:
            # "Invoice No: 123": the value after a printed label.
            label, sep, value = line.text.rpartition(":")
            if sep and label.strip() and value.strip():
                extra = {"whole_row": 0.0, "after_colon": 1.0}
                yield Candidate(value.strip(), [row], [line], extra)


CANDIDATES: dict[str, Callable[[Page], Iterator[Candidate]]] = {
    "amount": _amount_candidates,
    "date": _date_candidates,
    "company": _company_candidates,
    "address": _address_candidates,
}


def candidates(page: Page, spec: FieldSpec, rule: FieldValue) -> list[Candidate]:
    """The field's candidates; the rules' answer first (it may be none of the others)."""
    make = CANDIDATES.get(spec.kind, _generic_candidates)
    found = [c for c in make(page) if c.text]
    if rule.value:
        rule_lines = [ln for row in page.rows for ln in row.lines
                      if rule.box and _inside(ln.box, rule.box)]
        rule_rows = [row for row in page.rows if any(ln in rule_lines for ln in row.lines)]
        found.insert(0, Candidate(rule.value, rule_rows, rule_lines, {"from_rule": 1.0}))
    return found


def _inside(box: Box, outer: Box) -> bool:
    return box[0] >= outer[0] - 1 and box[1] >= outer[1] - 1 and box[2] <= outer[2] + 1 and (
        box[3] <= outer[3] + 1
    )


# --- features ----------------------------------------------------------------------------------


def context_tokens(cand: Candidate, page: Page) -> set[str]:
    """Words printed left of the candidate on its row and on the row above: its label, if any."""
    tokens: set[str] = set()
    if not cand.rows:
        return tokens
    first = cand.rows[0]
    x0 = min((ln.x0 for ln in cand.lines), default=0.0)
    for line in first.lines:
        if line.x1 <= x0 + 1 and line not in cand.lines:
            tokens.update(TOKEN_RE.findall(line.text.upper()))
    if cand.lines:
        own = cand.lines[0].text.upper()
        head = own.split(cand.text.upper()[:4])[0] if cand.text else ""
        tokens.update(TOKEN_RE.findall(head))
    if first.index > 0:
        tokens.update("^" + t for t in TOKEN_RE.findall(page.rows[first.index - 1].text.upper()))
    return tokens


def _features(
    cand: Candidate, page: Page, rule: FieldValue, vocab: Mapping[str, float]
) -> dict[str, float]:
    text = cand.text
    n = max(1, len(text))
    letters = [ch for ch in text if ch.isalpha()]
    lines = cand.lines or [ln for row in cand.rows for ln in row.lines]
    first_row = cand.rows[0].index if cand.rows else -1
    box = cand.box
    context = context_tokens(cand, page)
    feats = {
        "row": float(first_row),
        "row_rel": first_row / max(1, len(page.rows)),
        "rows_from_bottom": float(len(page.rows) - first_row) if cand.rows else -1.0,
        "n_rows": float(len(cand.rows)),
        "n_page_rows": float(len(page.rows)),
        "y_rel": box[1] / page.height if box else -1.0,
        "x0_rel": (box[0] - page.x_min) / page.width if box else -1.0,
        "x1_rel": (box[2] - page.x_min) / page.width if box else -1.0,
        "height_rel": (median(ln.height for ln in lines) / page.line_height) if lines else -1.0,
        "ocr_score": min((ln.score for ln in lines), default=-1.0),
        "length": float(len(text)),
        "words": float(len(text.split())),
        "digits": sum(ch.isdigit() for ch in text) / n,
        "alpha": len(letters) / n,
        "upper": sum(ch.isupper() for ch in letters) / max(1, len(letters)),
        "punct": sum(not ch.isalnum() and not ch.isspace() for ch in text) / n,
        "from_rule": cand.extra.get("from_rule", 0.0),
        "is_rule": float(bool(rule.value) and text == rule.value),
        "sim_rule": fuzz.ratio(text, rule.value) / 100 if rule.value else -1.0,
        "rule_conf": rule.confidence,
        "rule_empty": float(not rule.value),
        "ctx_vocab": max((vocab.get(t, 0.0) for t in context), default=0.0),
        # fsum: exact, so the same whatever order the set iterates in (PYTHONHASHSEED).
        "ctx_vocab_sum": math.fsum(vocab.get(t, 0.0) for t in context),
    }
    for key, value in cand.extra.items():
        feats[f"k_{key}"] = value
    return feats


def receipt_features(
    cands: Sequence[Candidate], page: Page, rule: FieldValue, vocab: Mapping[str, float]
) -> list[dict[str, float]]:
    return [_features(c, page, rule, vocab) for c in cands]


def context_vocab(pairs: Sequence[tuple[set[str], float]]) -> dict[str, float]:
    """For each context word: the share of candidates next to it that are right (smoothed).

    This is what lets a field with no rules ("invoice_no") learn its printed label ("INV NO").
    """
    seen: Counter[str] = Counter()
    good: Counter[str] = Counter()
    for tokens, ratio in pairs:
        seen.update(tokens)
        if ratio >= GOOD_RATIO:
            good.update(tokens)
    prior = 0.05
    return {t: round((good[t] + prior) / (seen[t] + 1.0), 4) for t in seen if seen[t] >= 2}
