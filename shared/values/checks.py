"""Validation rules: checks a receipt's typed values must pass, data per deployment.

A failed check is a review reason ("items sum to 68.87 but the total is 73.00"), shown in the
review queue and on the receipt; the checks run on the values a receipt has now, so a correction
re-runs them. The rules are a JSON list (``RECEIPTFLOW_VALIDATION_FILE``), each
``{"rule": NAME, ...options}``; :data:`DEFAULT_RULES` when none is given.
"""

from __future__ import annotations

import datetime as dt
import inspect
import json
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from itertools import combinations
from pathlib import Path
from typing import Any

from shared.documents.lines import TextLine
from shared.values.hints import Hints
from shared.values.money import parse_amount
from shared.values.taxes import printed_adjustments

log = logging.getLogger(__name__)

DEFAULT_RULES: tuple[dict[str, Any], ...] = (
    {"rule": "items_sum", "tolerance": "0.05"},
    {"rule": "subtotal_tax_total", "tolerance": "0.05"},
    {"rule": "date_not_future"},
    {"rule": "date_after", "year": 2000},
    {"rule": "date_unambiguous"},
    {"rule": "total_positive"},
)


@dataclass(frozen=True)
class Reason:
    rule: str
    message: str

    def to_json(self) -> dict[str, str]:
        return {"rule": self.rule, "message": self.message}


@dataclass
class Receipt:
    """What the checks look at: the typed value of each field (by name) and its kind, the
    table fields' rows, and the tax, charges (+) and discounts (-) printed between the items and
    the total (``taxes.py``)."""

    typed: Mapping[str, dict[str, Any] | None]
    kinds: Mapping[str, str]
    items: Mapping[str, Sequence[Mapping[str, str]]]
    hints: Hints
    today: dt.date
    adjustments: tuple[Decimal, ...] = ()

    def added(self) -> list[Decimal]:
        """What one or two of the printed taxes, charges and discounts add to the items."""
        return [*self.adjustments, *(a + b for a, b in combinations(self.adjustments, 2))]

    def amount(self, kind: str) -> Decimal | None:
        for name, k in self.kinds.items():
            value = self.typed.get(name)
            if k == kind and value and value.get("type") == "amount":
                return Decimal(value["value"])
        return None

    def date(self) -> dict[str, Any] | None:
        return next((self.typed.get(n) for n, k in self.kinds.items()
                     if k == "date" and self.typed.get(n)), None)


def _money(value: Decimal) -> str:
    return f"{value:.2f}"


def items_sum(r: Receipt, tolerance: str = "0.05") -> str | None:
    """The items come to the subtotal or the total; to the total with the tax field on top, or
    with one or two of the taxes, charges and discounts the receipt prints."""
    total = r.amount("amount")
    for name, rows in r.items.items():
        amounts = [a.value for row in rows
                   if (a := parse_amount(str(row.get("amount", "")), r.hints)) is not None]
        if not amounts or total is None:
            continue
        got = sum(amounts, Decimal(0))
        targets = [t for t in (total, r.amount("subtotal")) if t is not None]
        tax = r.amount("tax")
        if tax is not None:
            targets.append(total - tax)
        targets += [total - a for a in r.added()]
        if not any(abs(got - t) <= Decimal(tolerance) for t in targets):
            against = "the subtotal or the total" if len(targets) > 1 else "the total"
            return (f"{name} sum to {_money(got)} but {against} is "
                    + " / ".join(_money(t) for t in targets[:2]))
    return None


def subtotal_tax_total(r: Receipt, tolerance: str = "0.05",
                       service_charge: Sequence[str] = ("10",)) -> str | None:
    """subtotal + tax = total, within rounding; a service charge of one of the given rates (in
    percent of the subtotal) may come between, as restaurants print it. Without a tax, one or
    two of the taxes, charges and discounts the receipt prints (``taxes.py``) stand in for it:
    a total read from the cash tendered is caught where the subtotal is right."""
    subtotal, tax, total = r.amount("subtotal"), r.amount("tax"), r.amount("amount")
    if subtotal is None or total is None:
        return None
    if tax is None:
        if any(abs(subtotal + a - total) <= Decimal(tolerance) for a in [Decimal(0), *r.added()]):
            return None
        printed = ", ".join(_money(a) for a in r.adjustments) or "none read"
        return (f"the subtotal {_money(subtotal)} with the taxes and charges printed "
                f"({printed}) does not make the total {_money(total)}")
    charges = [Decimal(0), *(subtotal * Decimal(rate) / 100 for rate in service_charge)]
    # A subtotal printed "inclusive of tax" is the total already.
    sums = [subtotal, *(subtotal + tax + charge for charge in charges)]
    if any(abs(s - total) <= Decimal(tolerance) for s in sums):
        return None
    return (f"subtotal {_money(subtotal)} + tax {_money(tax)} = {_money(subtotal + tax)}, "
            f"but the total is {_money(total)}")


def date_not_future(r: Receipt) -> str | None:
    date = r.date()
    if date and dt.date.fromisoformat(date["value"]) > r.today:
        return f"the date {date['value']} is in the future"
    return None


def date_after(r: Receipt, year: int = 2000) -> str | None:
    date = r.date()
    if date and dt.date.fromisoformat(date["value"]).year < int(year):
        return f"the date {date['value']} is before {year}"
    return None


def date_unambiguous(r: Receipt) -> str | None:
    date = r.date()
    if date and date.get("ambiguous"):
        return (f"the date could be {date['value']} or {date['other']}: nothing on the receipt "
                "tells day from month")
    return None


def total_positive(r: Receipt) -> str | None:
    total = r.amount("amount")
    if total is not None and total <= 0:
        return f"the total is {_money(total)}: not more than zero"
    return None


RULES: dict[str, Callable[..., str | None]] = {
    "items_sum": items_sum, "subtotal_tax_total": subtotal_tax_total,
    "date_not_future": date_not_future, "date_after": date_after,
    "date_unambiguous": date_unambiguous, "total_positive": total_positive,
}


def load_rules(path: Path | None) -> tuple[dict[str, Any], ...]:
    """The deployment's rules, checked: a list of {"rule": NAME, ...options} with known names
    and options each rule takes, tried once on a sample receipt so a bad option value is
    reported at start-up, not on a receipt."""
    if path is None:
        return DEFAULT_RULES
    try:
        rules = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ValueError(f"cannot read {path}: {exc}") from exc
    if not isinstance(rules, list) or not all(isinstance(r, dict) for r in rules):
        raise ValueError("the validation file must hold a JSON list of {\"rule\": ...} objects")
    unknown = [r.get("rule") for r in rules if r.get("rule") not in RULES]
    if unknown:
        raise ValueError(f"unknown validation rules {unknown}; known: {sorted(RULES)}")
    sample = _sample()
    for rule in rules:
        options = {k: v for k, v in rule.items() if k != "rule"}
        fn = RULES[rule["rule"]]
        try:
            inspect.signature(fn).bind(sample, **options)
            fn(sample, **options)
        except TypeError as exc:
            takes = [p for p in inspect.signature(fn).parameters if p != "r"]
            raise ValueError(f"rule {rule['rule']!r}: {exc}; its options: {takes}") from exc
        except (ArithmeticError, ValueError) as exc:
            raise ValueError(f"rule {rule['rule']!r}: a bad option value in {options}: "
                             f"{exc!r}") from exc
    return tuple(rules)


def _sample() -> Receipt:
    amount = {"type": "amount", "value": "10.00", "currency": None}
    return Receipt({"total": amount, "subtotal": amount, "tax": amount,
                    "date": {"type": "date", "value": "2020-01-01", "ambiguous": False}},
                   {"total": "amount", "subtotal": "subtotal", "tax": "tax", "date": "date"},
                   {"items": [{"amount": "10.00"}]}, Hints(), dt.date(2020, 1, 2))


def check(receipt: Receipt, rules: Sequence[Mapping[str, Any]] = DEFAULT_RULES) -> list[Reason]:
    """The reasons a reviewer should look at this receipt. A rule that cannot run on it (a
    value it did not expect) is skipped and logged: checking never loses a result."""
    reasons = []
    for rule in rules:
        options = {k: v for k, v in rule.items() if k != "rule"}
        try:
            message = RULES[rule["rule"]](receipt, **options)
        except Exception:
            log.warning("validation rule %s failed on a receipt", rule["rule"], exc_info=True)
            continue
        if message:
            reasons.append(Reason(rule["rule"], message))
    return reasons


def typed_receipt(printed: Mapping[str, str], kinds: Mapping[str, str],
                  items: Mapping[str, Sequence[Mapping[str, str]]],
                  pages: Sequence[Sequence[TextLine]], today: dt.date) -> Receipt:
    """A receipt's printed values typed, with what its text lines (``pages``: each page's) tell
    (country, currency, date order, the taxes, charges and discounts printed): what
    :func:`check` looks at. Shared by the stored results (``shared/results.py``) and the
    benchmarks that check receipts without a database."""
    from shared.values import read_hints, typed

    hints = read_hints([*(ln.text for lines in pages for ln in lines), *printed.values()])
    return Receipt({name: typed(kind, printed.get(name, ""), hints)
                    for name, kind in kinds.items()}, kinds, items, hints, today,
                   printed_adjustments(pages, hints))
