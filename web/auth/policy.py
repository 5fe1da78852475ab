"""Who may call what: every endpoint of the app, by name, and the least role it needs.

One table, enforced by one ``before_request`` hook (``web.auth.init_app``). An endpoint that is
not listed here is refused with 403, and ``tests/web/test_authorization.py`` fails until it is
added, so a new route cannot ship without a decision about who may use it.

- ``public``: no log-in. Only the log-in page, the health check, static files and the OpenAPI
  document (it describes the API, including how to authenticate, and holds no data). And
  ``/metrics``, which checks its own access: a Prometheus scraper holds a scrape token, not an
  account (``web/metrics.py``).
- ``reviewer``: day-to-day work: batches, uploads, receipts, corrections, exports, review, and
  reading training runs and model versions.
- ``admin``: everything a reviewer does, plus starting training, promoting or rolling back
  model versions, and managing users and API tokens.
"""

from __future__ import annotations

PUBLIC = "public"
REVIEWER = "reviewer"
ADMIN = "admin"

_RANK = {PUBLIC: 0, REVIEWER: 1, ADMIN: 2}

POLICY: dict[str, str] = {
    # Public
    "static": PUBLIC,
    "pages.health": PUBLIC,
    "auth.login": PUBLIC,
    "api-docs.openapi_json": PUBLIC,
    # Checks its own access: the scrape token (RECEIPTFLOW_METRICS_TOKEN) or an admin.
    "metrics.metrics": PUBLIC,
    # Any logged-in user
    "auth.logout": REVIEWER,
    # JSON API: batches, receipts, corrections, exports
    "api.create": REVIEWER,
    "api.list_batches": REVIEWER,
    "api.show": REVIEWER,
    "api.export": REVIEWER,
    "api.show_receipt": REVIEWER,
    "api.receipt_image": REVIEWER,
    "api.page_image": REVIEWER,
    "api.receipt_original": REVIEWER,
    "api.correct": REVIEWER,
    "api.export_reviewed": REVIEWER,
    "api.export_dataset": REVIEWER,
    # JSON API: training and model versions (reading is for reviewers, acting for admins)
    "api.list_training_runs": REVIEWER,
    "api.show_training_run": REVIEWER,
    "api.list_model_versions": REVIEWER,
    "api.start_training": ADMIN,
    "api.activate_version": ADMIN,
    "api.serve_base": ADMIN,
    # JSON API: deleting data, and the audit log of it
    "api.delete": ADMIN,
    "api.delete_receipt": ADMIN,
    "api.list_audit_events": ADMIN,
    # JSON API: webhooks (a receiver gets every receipt's values: admins decide where they go)
    "api.create_webhook_api": ADMIN,
    "api.list_webhooks": ADMIN,
    "api.show_webhook": ADMIN,
    "api.delete_webhook_api": ADMIN,
    "api.rotate_webhook_secret": ADMIN,
    "api.list_webhook_deliveries": ADMIN,
    "api.retry_webhook_delivery": ADMIN,
    # Pages: batches, upload, review
    "pages.index": REVIEWER,
    "pages.batches": REVIEWER,
    "pages.upload": REVIEWER,
    "pages.batch": REVIEWER,
    "pages.review_queue_page": REVIEWER,
    "pages.receipt": REVIEWER,
    "pages.delete_batch": ADMIN,
    "pages.delete_receipt": ADMIN,
    # Pages: training and model versions (the list page also starts runs: admin)
    "pages.training_runs": ADMIN,
    "pages.training_run": ADMIN,
    "pages.promote_version": ADMIN,
    "pages.serve_base_model": ADMIN,
    # Dashboard (figures and charts: reading, as reviewers do)
    "pages.dashboard": REVIEWER,
    # Administration: webhooks, users and API tokens
    "pages.webhooks": ADMIN,
    "pages.webhook": ADMIN,
    "pages.rotate_webhook": ADMIN,
    "pages.remove_webhook": ADMIN,
    "auth.users": ADMIN,
    "auth.create_user": ADMIN,
    "auth.update_user": ADMIN,
    "auth.tokens": ADMIN,
    "auth.create_token": ADMIN,
    "auth.revoke_token": ADMIN,
    "auth.audit": ADMIN,
}


def required_role(endpoint: str) -> str | None:
    """The least role this endpoint needs, or None when it has no policy (deny)."""
    return POLICY.get(endpoint)


def allows(user_role: str, needed: str) -> bool:
    return _RANK.get(user_role, -1) >= _RANK[needed]
