"""Response headers that keep a browser from being turned against the site.

- Content-Security-Policy: scripts, styles and images only from this site, no inline script
  (all JavaScript is in ``web/static/``), no plug-ins, forms post only here, and no framing
  (``frame-ancestors``, with X-Frame-Options for older browsers): clickjacking.
- X-Content-Type-Options: nosniff: a stored upload is never reinterpreted, e.g. a JPEG with
  HTML appended is never rendered as a page.
- Referrer-Policy: batch and receipt ids in URLs stay on this site.

Stored files (receipt images) get a stricter policy of their own: ``sandbox`` with nothing
allowed, in case one is opened on its own in a tab.
"""

from __future__ import annotations

from flask import Flask, Response

PAGE_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data: blob:",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])
FILE_POLICY = "default-src 'none'; sandbox; frame-ancestors 'none'"


def file_headers() -> dict[str, str]:
    """Headers for a stored file served back (the caller sets the type it decoded as)."""
    return {"Content-Security-Policy": FILE_POLICY, "Content-Disposition": "inline",
            "Cache-Control": "private, max-age=86400"}


def init_app(app: Flask) -> None:
    @app.after_request
    def _headers(response: Response) -> Response:
        response.headers.setdefault("Content-Security-Policy", PAGE_POLICY)
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers.setdefault("Referrer-Policy", "same-origin")
        return response
