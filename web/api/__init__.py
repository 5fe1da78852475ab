"""The JSON API under /api/v1, documented as OpenAPI by flask-smorest."""

from flask_smorest import Blueprint

blp = Blueprint("api", __name__, url_prefix="/api/v1", description="Batches and receipts")

from web.api import batches, receipts, reviewed, training, webhooks  # noqa: E402, F401  (routes register on blp)
