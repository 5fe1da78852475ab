"""Checks on what clients send, before it reaches a parser or the database.

- JSON bodies nested deeper than ``MAX_JSON_DEPTH`` are refused before parsing (Python's parser
  would recurse until RecursionError).
- Text that is stored must be plain text: PostgreSQL refuses NUL characters, and no field of a
  receipt holds control characters.
"""

from __future__ import annotations

import re

from flask import Flask, request
from flask_smorest import abort

MAX_JSON_DEPTH = 32
_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"')
_BRACKET = re.compile(rb"[\[\]{}]")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def json_depth(body: bytes) -> int:
    """How deep arrays and objects nest in a JSON text (brackets inside strings don't count)."""
    depth = deepest = 0
    for bracket in _BRACKET.findall(_JSON_STRING.sub(b'""', body)):
        depth += 1 if bracket in (b"[", b"{") else -1
        deepest = max(deepest, depth)
    return deepest


def plain_text(value: str, what: str) -> str:
    """``value`` if it holds no control characters (tab and line breaks allowed), else a 422."""
    if _CONTROL.search(value):
        abort(422, message=f"{what}: contains control characters (such as NUL); send plain text")
    return value


def init_app(app: Flask) -> None:
    @app.before_request
    def _json_not_too_deep() -> None:
        if request.is_json and json_depth(request.get_data(cache=True)) > MAX_JSON_DEPTH:
            abort(400, message=f"the JSON body nests deeper than {MAX_JSON_DEPTH} levels")
