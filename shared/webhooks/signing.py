"""The signature on every webhook delivery, as Stripe and GitHub do it.

``X-ReceiptFlow-Signature: t=<unix time>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>``. The time
is signed with the body, so a captured delivery cannot be replayed later: a receiver checks the
signature and that ``t`` is recent. While a rotated secret's old value is still valid, a second
``v1=`` signed with it follows, so a receiver can switch secrets without missing an event.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Iterable

HEADER = "X-ReceiptFlow-Signature"
# A receiver should refuse deliveries signed longer ago than this (replays).
TOLERANCE_S = 300


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def signature(secret: str, timestamp: int, body: bytes) -> str:
    message = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def header(secrets_: Iterable[str], timestamp: int, body: bytes) -> str:
    return ",".join([f"t={timestamp}", *(f"v1={signature(s, timestamp, body)}" for s in secrets_)])


def verify(secret: str, value: str, body: bytes, *, now: float | None = None,
           tolerance_s: float = TOLERANCE_S) -> bool:
    """What a receiver runs: True when one ``v1`` matches and ``t`` is recent."""
    parts = [p.partition("=") for p in value.split(",")]
    stamps = [v for k, _, v in parts if k == "t"]
    if len(stamps) != 1 or not stamps[0].isdigit():
        return False
    timestamp = int(stamps[0])
    if abs((time.time() if now is None else now) - timestamp) > tolerance_s:
        return False
    expected = signature(secret, timestamp, body)
    return any(hmac.compare_digest(expected, v) for k, _, v in parts if k == "v1")
