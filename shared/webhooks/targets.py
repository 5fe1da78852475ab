"""Which webhook URLs may be called. The web is reachable from a network, so a URL is hostile
until checked: a webhook must not become a way to reach the services beside ReceiptFlow
(databases, cloud metadata at 169.254.169.254, admin ports on loopback).

Checked when a webhook is registered and again before every delivery, since a name can be made
to resolve elsewhere later. Redirects are never followed (``delivery.py``).
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

MAX_URL = 2000


class TargetRefused(ValueError):
    """The URL may not be called; the message says why and what to do."""


def _addresses(host: str, port: int) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise TargetRefused(f"the host {host!r} does not resolve ({exc}); check the URL") from exc
    return [ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos]


def _private(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return not address.is_global or address.is_multicast


def check(url: str, *, allow_private: bool, resolve: bool = True) -> str:
    """The URL, if it may be called; else TargetRefused."""
    if not isinstance(url, str) or not url or len(url) > MAX_URL:
        raise TargetRefused(f"give the receiver's URL, at most {MAX_URL} characters")
    if any(ch.isspace() or not ch.isprintable() for ch in url):
        raise TargetRefused("the URL has spaces or control characters")
    try:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise TargetRefused(f"the URL cannot be read: {exc}") from exc
    if parts.scheme not in ("http", "https"):
        raise TargetRefused("the URL must start with https:// (or http://)")
    if not parts.hostname:
        raise TargetRefused("the URL has no host")
    if parts.username or parts.password:
        raise TargetRefused("the URL must not carry a user name or password; the signature "
                            "authenticates ReceiptFlow to your receiver")
    if allow_private or not resolve:
        return url
    refused = [a for a in _addresses(parts.hostname, port) if _private(a)]
    if refused:
        raise TargetRefused(
            f"{parts.hostname} resolves to {refused[0]}, a private, loopback or link-local "
            "address; webhooks go to public addresses only (an operator can allow private ones "
            "with RECEIPTFLOW_WEBHOOK_ALLOW_PRIVATE=true)")
    return url
