"""HTML pages: upload and batches here; review (`review.py`), training (`training.py`), the
dashboard (`dashboard.py`) and webhooks (`webhooks.py`)."""

from __future__ import annotations

from flask import Blueprint, Flask, flash, jsonify, redirect, render_template, request, url_for
from sqlalchemy import select, text
from werkzeug.wrappers import Response

from shared.broker import celery_app
from shared.config import get_settings
from shared.db.models import Batch
from shared.engines import ENGINE_NAMES
from shared.storage import get_storage
from web import deletion
from web.api.batches import get_batch_or_404, new_batch_from_request
from web.db import db
from web.presenters import batch_dict

bp = Blueprint("pages", __name__)


@bp.get("/")
def index() -> Response:
    return redirect(url_for("pages.batches"))


@bp.get("/health")
def health() -> tuple[Response, int]:
    """Liveness for load balancers: database and broker reachable."""
    checks: dict[str, str] = {}
    try:
        db().execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:
        checks["database"] = f"error: {exc}"
    try:
        with celery_app().connection_for_write() as conn:
            conn.ensure_connection(max_retries=1)
        checks["broker"] = "ok"
    except Exception as exc:
        checks["broker"] = f"error: {exc}"
    ok = all(v == "ok" for v in checks.values())
    return jsonify(status="ok" if ok else "degraded", **checks), 200 if ok else 503


@bp.get("/batches")
def batches() -> str:
    rows = db().scalars(select(Batch).order_by(Batch.id.desc()).limit(200)).all()
    return render_template("batches.html", batches=[batch_dict(db(), b) for b in rows])


@bp.route("/upload", methods=["GET", "POST"])
def upload() -> str | Response:
    if request.method == "POST":
        batch, _created = new_batch_from_request(request.form.get("name", ""),
                                                 request.form.get("engine") or None)
        return redirect(url_for("pages.batch", batch_id=batch.id))
    return render_template("upload.html", engines=sorted(ENGINE_NAMES),
                           default_engine=get_settings().engine)


@bp.get("/batches/<int:batch_id>")
def batch(batch_id: int) -> str:
    b = get_batch_or_404(batch_id)
    return render_template("batch.html", batch=batch_dict(db(), b, with_receipts=True))


@bp.post("/batches/<int:batch_id>/delete")
def delete_batch(batch_id: int) -> Response:
    deleted = deletion.delete_batch(db(), get_storage(), get_batch_or_404(batch_id))
    flash(f"batch {batch_id} deleted: {deleted.receipts} receipts, {deleted.files} stored files")
    return redirect(url_for("pages.batches"))


def init_app(app: Flask) -> None:
    from web.pages import dashboard, review, training, webhooks  # noqa: F401  (routes register on bp)

    app.register_blueprint(bp)
