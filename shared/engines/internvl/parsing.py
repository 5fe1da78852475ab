"""Turn the model's free-text answer into field values, tolerantly, and never raise.

The model is asked for a JSON object holding the configured fields, but what it writes is often
not strict JSON: it wraps the object in a code fence or prose, leaves trailing commas, uses
single quotes, or stops mid-object when generation hits the token limit. ``json.loads`` rejects
all of those and would not tell where each value sits in the text anyway, which the engine needs
to map a value back onto its generated tokens for a per-field confidence.

So this module scans the answer itself with a small tolerant recursive-descent scanner that
works on the original string (no cleaning pass that would shift offsets) and records the
``[start, end)`` offsets of each top-level value's raw text.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

NO_OBJECT = "no JSON object in the model's answer"
TRUNCATED_EMPTY = "truncated JSON object in the model's answer, no field recovered"

# Deeper nesting than this is not a receipt answer; refusing it keeps recursion bounded.
_MAX_DEPTH = 32
# A string's closing quote is the first one followed by something that can end a JSON string;
# this lets simple cases like 'McDonald's' (single-quoted, apostrophe inside) through.
_STRING_END = re.compile(r"\s*(?:[,:}\]]|$)")
_ESCAPE = re.compile(r"\\(u[0-9a-fA-F]{4}|.)", re.DOTALL)
_SIMPLE_ESCAPES = {'"': '"', "'": "'", "\\": "\\", "/": "/",
                   "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}
# A bare (unquoted) value runs up to the next delimiter or the end of its line.
_BARE_VALUE = re.compile(r"[^,}\]\n]*")
_NULLS = frozenset({"null", "none"})


@dataclass(frozen=True)
class ParsedAnswer:
    """What was read from one answer.

    ``values`` has one entry per requested field ("" when missing or null). ``spans`` maps a
    field to the ``[start, end)`` offsets of its value's raw text in the answer (escapes kept,
    surrounding whitespace excluded); fields with an empty value have no span. ``error`` is None
    when a JSON object was found. ``truncated`` is True when the object was cut off before its
    closing brace and only the complete pairs before the cut were kept.
    """

    values: dict[str, str]
    spans: dict[str, tuple[int, int]]
    error: str | None
    truncated: bool = False
    # A table field's rows (each a cell per column); its span in ``spans`` is the whole list.
    rows: dict[str, list[dict[str, Cell]]] = field(default_factory=dict)


@dataclass(frozen=True)
class Cell:
    """One cell of a table field's row; ``span`` as in :class:`ParsedAnswer` (None: empty)."""

    value: str
    span: tuple[int, int] | None


class _Truncated(Exception):
    """The text ended inside a value: the generation was cut off. A list cut off keeps its
    complete items (``partial``), so a long table keeps the rows written before the cut."""

    def __init__(self, partial: list[object] | None = None) -> None:
        super().__init__()
        self.partial = partial
        self.member: _Member | None = None


class _Malformed(Exception):
    """The text at this point is not (tolerant) JSON."""


@dataclass
class _Literal:
    """A bare value (number, true, false, null, unquoted text) kept exactly as written."""

    text: str


class _Dict(dict):  # type: ignore[type-arg]
    """A nested object's members, with where each value is written (for cell confidences)."""

    spans: dict[str, tuple[int, int]]


@dataclass
class _Member:
    """One key/value pair with the raw span of its value."""

    key: str
    value: object
    start: int
    end: int
    partial: bool = False  # a list cut off by the end of the text: its complete items only


@dataclass
class _Object:
    """The complete members of one scanned object; ``truncated`` if the text ended inside it."""

    members: list[_Member]
    truncated: bool


def parse_answer(answer: str, field_names: Sequence[str],
                 tables: Mapping[str, Sequence[str]] | None = None) -> ParsedAnswer:
    """Read ``field_names`` from the first JSON-like object in ``answer`` that holds any of them.

    Every ``{`` is a candidate start, in order, so code fences, prose and objects that hold none
    of the fields (including an outer wrapper around the real object) are skipped naturally.
    ``tables`` names the table fields and their columns: their value is a list of rows, each an
    object of column -> text (or a list of cells in column order).
    """
    tables = tables or {}
    wanted = {_normalize_key(name): name for name in field_names}
    saw_complete = saw_truncated = False
    for match in re.finditer(r"\{", answer):
        try:
            obj = _scan_object(answer, match.start(), depth=0)[0]
        except _Malformed:
            continue
        picked = _pick_fields(obj, wanted)
        if picked:
            return _build(answer, field_names, picked, tables, truncated=obj.truncated)
        saw_truncated = saw_truncated or obj.truncated
        saw_complete = saw_complete or not obj.truncated
    empty = {name: "" for name in field_names}
    if saw_complete:  # an object, just without any requested field: every field is missing
        return ParsedAnswer(values=empty, spans={}, error=None)
    error = TRUNCATED_EMPTY if saw_truncated else NO_OBJECT
    return ParsedAnswer(values=empty, spans={}, error=error)


def _normalize_key(key: str) -> str:
    """Match keys ignoring case and spacing: "Total Amount" == "total_amount" == " TOTAL "."""
    return re.sub(r"[\s_]+", "_", key.strip().casefold())


def _pick_fields(obj: _Object, wanted: dict[str, str]) -> dict[str, _Member]:
    """The members whose key names a requested field; the first wins when a key repeats."""
    picked: dict[str, _Member] = {}
    for member in obj.members:
        name = wanted.get(_normalize_key(member.key))
        if name is not None and name not in picked:
            picked[name] = member
    return picked


def _build(
    answer: str, field_names: Sequence[str], picked: dict[str, _Member],
    tables: Mapping[str, Sequence[str]], *, truncated: bool
) -> ParsedAnswer:
    values: dict[str, str] = {}
    spans: dict[str, tuple[int, int]] = {}
    rows: dict[str, list[dict[str, Cell]]] = {}
    for name in field_names:
        member = picked.get(name)
        if name in tables:
            values[name] = ""
            rows[name] = _rows(answer, member.value, tables[name]) if member else []
            if member:
                spans[name] = _strip_span(answer, member.start, member.end)
            continue
        if member is not None and member.partial:
            member = None  # a text field's value must be whole
        values[name] = _to_text(member.value).strip() if member else ""
        if member and values[name]:
            spans[name] = _strip_span(answer, member.start, member.end)
    return ParsedAnswer(values=values, spans=spans, error=None, truncated=truncated, rows=rows)


def _rows(answer: str, value: object, columns: Sequence[str]) -> list[dict[str, Cell]]:
    """A table field's rows; what is not a row (a bare string, a number) is dropped, as is a
    row with no cell filled."""
    if not isinstance(value, list):
        return []
    wanted = {_normalize_key(c): c for c in columns}
    rows = []
    for item in value:
        cells: dict[str, Cell] = {}
        if isinstance(item, _Dict):
            for key, cell in item.items():
                column = wanted.get(_normalize_key(key))
                if column is not None and column not in cells:
                    text = _to_text(cell).strip()
                    span = _strip_span(answer, *item.spans[key]) if text else None
                    cells[column] = Cell(text, span)
        elif isinstance(item, list):
            cells = {col: Cell(_to_text(cell).strip(), None)
                     for col, cell in zip(columns, item, strict=False)}
        if any(cell.value for cell in cells.values()):
            rows.append({col: cells.get(col, Cell("", None)) for col in columns})
    return rows


def _strip_span(text: str, start: int, end: int) -> tuple[int, int]:
    """Shrink ``[start, end)`` past surrounding whitespace, as the value itself is stripped."""
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


# --- the scanner -------------------------------------------------------------------------------
# Each ``_scan_*`` takes the text and a position at the start of its construct and returns the
# parsed value and the position just past it. They raise _Truncated when the text ends first and
# _Malformed on anything they cannot read.


def _skip_ws(text: str, pos: int) -> int:
    while pos < len(text) and text[pos].isspace():
        pos += 1
    return pos


def _scan_object(text: str, pos: int, depth: int) -> tuple[_Object, int]:
    """Scan ``{...}``; tolerates a trailing comma, and returns the complete members
    read so far (``truncated=True``) when the text ends inside the object."""
    if depth > _MAX_DEPTH:
        raise _Malformed("nested too deeply")
    members: list[_Member] = []
    pos = _skip_ws(text, pos + 1)
    while True:
        if pos >= len(text):
            return _Object(members, truncated=True), pos
        if text[pos] == "}":
            return _Object(members, truncated=False), pos + 1
        try:
            member, pos = _scan_member(text, pos, depth)
        except _Truncated as exc:
            return _Object([*members, *([exc.member] if exc.member else [])],
                           truncated=True), len(text)
        members.append(member)
        pos = _skip_ws(text, pos)
        if pos < len(text) and text[pos] == ",":
            pos = _skip_ws(text, pos + 1)
        elif pos < len(text) and text[pos] != "}":
            raise _Malformed(f"unexpected {text[pos]!r} after a value")


def _scan_member(text: str, pos: int, depth: int) -> tuple[_Member, int]:
    """Scan ``"key": value``; the member's span is the raw text of the value."""
    if text[pos] not in "\"'":
        raise _Malformed("object key is not a quoted string")
    key, pos = _scan_string(text, pos)
    pos = _skip_ws(text, pos)
    if pos >= len(text):
        raise _Truncated
    if text[pos] != ":":
        raise _Malformed("missing ':' after a key")
    pos = _skip_ws(text, pos + 1)
    if pos >= len(text):
        raise _Truncated
    if text[pos] in "\"'":
        value, end = _scan_string(text, pos)
        return _Member(key, value, pos + 1, end - 1), end  # span excludes the quotes
    try:
        value, end = _scan_value(text, pos, depth + 1)
    except _Truncated as exc:
        if exc.partial:
            exc.member = _Member(key, exc.partial, pos, len(text), partial=True)
        raise
    return _Member(key, value, pos, end), end


def _scan_value(text: str, pos: int, depth: int) -> tuple[object, int]:
    """Scan any value: string, object, array, or a bare literal."""
    pos = _skip_ws(text, pos)
    if pos >= len(text):
        raise _Truncated
    char = text[pos]
    if char in "\"'":
        return _scan_string(text, pos)
    if char == "{":
        obj, end = _scan_object(text, pos, depth)
        if obj.truncated:
            raise _Truncated  # a cut-off nested value is not a complete value
        nested = _Dict((m.key, m.value) for m in obj.members)
        nested.spans = {m.key: (m.start, m.end) for m in obj.members}
        return nested, end
    if char == "[":
        return _scan_array(text, pos, depth)
    return _scan_bare(text, pos)


def _scan_array(text: str, pos: int, depth: int) -> tuple[list[object], int]:
    """Scan ``[...]``, tolerating a trailing comma."""
    if depth > _MAX_DEPTH:
        raise _Malformed("nested too deeply")
    items: list[object] = []
    pos = _skip_ws(text, pos + 1)
    while True:
        if pos >= len(text):
            raise _Truncated(items)
        if text[pos] == "]":
            return items, pos + 1
        try:
            item, pos = _scan_value(text, pos, depth + 1)
        except _Truncated:
            raise _Truncated(items) from None
        items.append(item)
        pos = _skip_ws(text, pos)
        if pos < len(text) and text[pos] == ",":
            pos = _skip_ws(text, pos + 1)
        elif pos < len(text) and text[pos] != "]":
            raise _Malformed(f"unexpected {text[pos]!r} in an array")


def _scan_bare(text: str, pos: int) -> tuple[_Literal | None, int]:
    """Scan an unquoted value (``9.00``, ``true``, ``null``, or stray text) as written.

    A bare value that runs into the end of the text may itself be cut (``9.`` of ``9.00``), so
    it counts as truncated rather than complete.
    """
    match = _BARE_VALUE.match(text, pos)
    end = match.end() if match else pos
    if end >= len(text):
        raise _Truncated
    raw = text[pos:end].rstrip()
    if not raw:
        raise _Malformed("missing value")
    end = pos + len(raw)
    return (None if raw.casefold() in _NULLS else _Literal(raw)), end


def _scan_string(text: str, pos: int) -> tuple[str, int]:
    """Scan a string quoted with ``"`` or ``'`` and return it unescaped.

    Backslash escapes are skipped over; a quote only closes the string when what follows can end
    a JSON string, so an apostrophe inside a single-quoted value does not cut it short.
    """
    quote = text[pos]
    i = pos + 1
    while i < len(text):
        char = text[i]
        if char == "\\":
            i += 2
            continue
        if char == quote and _STRING_END.match(text, i + 1):
            return _unescape(text[pos + 1 : i]), i + 1
        i += 1
    raise _Truncated


def _unescape(raw: str) -> str:
    """Decode JSON escapes (plus ``\\'``); unknown escapes are kept as written.

    ``\\uD83D\\uDE00``-style surrogate pairs are joined into one character.
    """

    def replace(match: re.Match[str]) -> str:
        code = match.group(1)
        if code.startswith("u") and len(code) == 5:
            return chr(int(code[1:], 16))
        return _SIMPLE_ESCAPES.get(code, match.group(0))

    text = _ESCAPE.sub(replace, raw)
    return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def _to_text(value: object) -> str:
    """A field's text: strings as they are, null as "", anything else as compact JSON."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return _compact(value)


def _compact(value: object) -> str:
    """Compact JSON for nested values; bare literals keep their written form (``9.00``)."""
    if value is None:
        return "null"
    if isinstance(value, _Literal):
        return value.text
    if isinstance(value, dict):
        pairs = (f"{json.dumps(k, ensure_ascii=False)}:{_compact(v)}" for k, v in value.items())
        return "{" + ",".join(pairs) + "}"
    if isinstance(value, list):
        return "[" + ",".join(_compact(item) for item in value) + "]"
    return json.dumps(value, ensure_ascii=False)
