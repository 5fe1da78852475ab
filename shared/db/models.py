"""Database tables (SQLAlchemy 2 typed ORM). Schema changes go through Alembic migrations.

Extracted values are stored per field in JSON (``{name: {value, confidence, box}}``) because the
field list is configuration: adding a field must not need a migration.
"""

from __future__ import annotations

import enum
import hashlib
from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

JsonType = JSON().with_variant(JSONB(), "postgresql")
# For a column where "none yet" matters: Python's None stored as SQL NULL, not JSON null.
NullableJson = JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC on every backend (SQLite hands back naive datetimes)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_result_value(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JsonType, list[Any]: JsonType}


def _enum(cls: type[enum.Enum]) -> Enum:
    # Stored as VARCHAR + CHECK rather than a native enum: adding a state stays a simple migration.
    return Enum(cls, native_enum=False, length=20, values_callable=lambda e: [m.value for m in e])


class ReceiptStatus(enum.StrEnum):
    QUEUED = "queued"
    PROCESSING = "processing"
    DONE = "done"
    FAILED = "failed"


class ModelStatus(enum.StrEnum):
    CANDIDATE = "candidate"
    ACTIVE = "active"
    RETIRED = "retired"
    FAILED = "failed"


class RunStatus(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class Role(enum.StrEnum):
    REVIEWER = "reviewer"
    ADMIN = "admin"


class Batch(Base):
    __tablename__ = "batches"
    __table_args__ = (UniqueConstraint("idempotency_key", name="uq_batches_idempotency_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    engine: Mapped[str] = mapped_column(String(40))
    # The field specs in force when the batch was made, so later config changes don't
    # reinterpret old results.
    fields: Mapped[list[Any]]
    created_by: Mapped[str] = mapped_column(String(80), default="", server_default="")
    # The client's Idempotency-Key: a retried upload returns this batch instead of a second one.
    idempotency_key: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # Set once, when no receipt of the batch is queued or processing any more: the moment the
    # batch.finished event is sent (shared/finishing.py).
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    receipts: Mapped[list[Receipt]] = relationship(
        back_populates="batch", order_by="Receipt.id", cascade="all, delete-orphan",
        passive_deletes=True)


class Receipt(Base):
    __tablename__ = "receipts"
    __table_args__ = (Index("ix_receipts_batch_status", "batch_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("batches.id", ondelete="CASCADE"))
    # The client's name, for display only: it is never used as a path.
    original_name: Mapped[str] = mapped_column(String(255))
    content_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    storage_key: Mapped[str | None] = mapped_column(String(80))
    size_bytes: Mapped[int] = mapped_column(Integer, default=0)
    media_type: Mapped[str | None] = mapped_column(String(40))
    width: Mapped[int | None]
    height: Mapped[int | None]
    status: Mapped[ReceiptStatus] = mapped_column(_enum(ReceiptStatus), index=True)
    error: Mapped[str | None] = mapped_column(Text)
    # Token of the task that currently owns this receipt. A redelivered or superseded task
    # whose token differs, or whose extraction already exists, writes nothing.
    job_id: Mapped[str | None] = mapped_column(String(36))
    enqueued_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Until when the current holder of an unfinished receipt (the broker while it is queued, a
    # worker while it is processing) is trusted; past it, the reconciler re-sends the receipt
    # under a fresh job id (shared/recovery.py).
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), default=utcnow, onupdate=utcnow
    )
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The validation rules its values fail now ([{rule, message}]), refreshed wherever its
    # values or text lines change (shared/results.refresh_review_reasons); the review queue
    # sorts and filters on it. NULL: not checked yet.
    review_reasons: Mapped[list[dict[str, str]] | None] = mapped_column(NullableJson)
    # Straight-through processing (shared/acceptance): "auto" when every field passed its
    # calibrated threshold and no rule failed, so it skips review; "audit" when it passed but was
    # drawn to be reviewed anyway, to keep measuring the error; NULL: needs review.
    acceptance: Mapped[str | None] = mapped_column(String(10), index=True)

    batch: Mapped[Batch] = relationship(back_populates="receipts")
    extractions: Mapped[list[Extraction]] = relationship(
        back_populates="receipt", order_by="Extraction.id", cascade="all, delete-orphan"
    )
    corrections: Mapped[list[Correction]] = relationship(
        back_populates="receipt", order_by="Correction.id", cascade="all, delete-orphan"
    )

    pages: Mapped[list[ReceiptPage]] = relationship(
        back_populates="receipt", order_by="ReceiptPage.number", cascade="all, delete-orphan")

    @property
    def latest_extraction(self) -> Extraction | None:
        return self.extractions[-1] if self.extractions else None

    @property
    def latest_correction(self) -> Correction | None:
        return self.corrections[-1] if self.corrections else None


class Extraction(Base):
    __tablename__ = "extractions"

    id: Mapped[int] = mapped_column(primary_key=True)
    receipt_id: Mapped[int] = mapped_column(
        ForeignKey("receipts.id", ondelete="CASCADE"), index=True
    )
    # One extraction per task: the unique key makes a redelivered task's write a no-op.
    job_id: Mapped[str] = mapped_column(String(36), unique=True)
    engine: Mapped[str] = mapped_column(String(40))
    model_name: Mapped[str] = mapped_column(String(200))
    model_version_id: Mapped[int | None] = mapped_column(ForeignKey("model_versions.id"))
    # {field: {"value": str, "confidence": float, "box": [x0, y0, x1, y1] | null}}
    fields: Mapped[dict[str, Any]]
    raw_output: Mapped[str] = mapped_column(Text, default="")
    duration_ms: Mapped[float] = mapped_column(Float, default=0.0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    receipt: Mapped[Receipt] = relationship(back_populates="extractions")

    def values(self) -> dict[str, str]:
        return {name: str(f.get("value", "")) for name, f in self.fields.items()}


class ReceiptPage(Base):
    """One page of a receipt's document: the image shown and read (the upload itself for a
    plain photo or scan, else a rendition of it: a PDF page rendered, a HEIC or TIFF frame
    decoded, a page turned upright), its text lines and what was done to make it. The upload is
    kept as it came (``Receipt.storage_key``)."""

    __tablename__ = "receipt_pages"
    __table_args__ = (UniqueConstraint("receipt_id", "number", name="uq_receipt_pages_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    receipt_id: Mapped[int] = mapped_column(
        ForeignKey("receipts.id", ondelete="CASCADE"), index=True
    )
    number: Mapped[int] = mapped_column(Integer)  # 1-based
    storage_key: Mapped[str] = mapped_column(String(80))
    media_type: Mapped[str] = mapped_column(String(40))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(20))  # image | tiff-frame | pdf-text | pdf-scan
    # [{"text", "box": [x0, y0, x1, y1], "score"}] in this page's pixels: the PDF's text layer,
    # or what OCR read (the OCR engine, or a CPU worker for engines without boxes).
    lines: Mapped[list[Any] | None] = mapped_column(NullableJson)
    lines_source: Mapped[str | None] = mapped_column(String(80))  # pdf-text-layer | rapidocr-…
    transforms: Mapped[list[Any]] = mapped_column(default=list)  # [{"op": ..., ...}]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    receipt: Mapped[Receipt] = relationship(back_populates="pages")


class Correction(Base):
    """A reviewer's corrected values: the audit trail and the training labels."""

    __tablename__ = "corrections"

    id: Mapped[int] = mapped_column(primary_key=True)
    receipt_id: Mapped[int] = mapped_column(
        ForeignKey("receipts.id", ondelete="CASCADE"), index=True
    )
    extraction_id: Mapped[int | None] = mapped_column(ForeignKey("extractions.id"))
    fields: Mapped[dict[str, Any]]  # {field: corrected value}
    # The fields whose value differs from the extraction reviewed (metrics, calibration).
    changed_fields: Mapped[list[Any] | None] = mapped_column(NullableJson)
    author: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    receipt: Mapped[Receipt] = relationship(back_populates="corrections")


class TrainingRun(Base):
    __tablename__ = "training_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    engine: Mapped[str] = mapped_column(String(40))
    status: Mapped[RunStatus] = mapped_column(_enum(RunStatus), default=RunStatus.QUEUED)
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # Which receipts (by id) trained and which were held out for evaluation.
    dataset: Mapped[dict[str, Any]] = mapped_column(default=dict)
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    loss_log: Mapped[list[Any]] = mapped_column(default=list)
    # {"base": {field: score, "mean": s}, "candidate": {...}}
    metrics: Mapped[dict[str, Any]] = mapped_column(default=dict)
    error: Mapped[str | None] = mapped_column(Text)
    requested_by: Mapped[str] = mapped_column(String(120), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ModelVersion(Base):
    """A trained artefact (LoRA adapter, learned extractor) that an engine can serve."""

    __tablename__ = "model_versions"

    id: Mapped[int] = mapped_column(primary_key=True)
    engine: Mapped[str] = mapped_column(String(40), index=True)
    name: Mapped[str] = mapped_column(String(200))
    base_model: Mapped[str] = mapped_column(String(200))
    artifact_key: Mapped[str | None] = mapped_column(String(80))  # in shared.storage
    status: Mapped[ModelStatus] = mapped_column(_enum(ModelStatus), default=ModelStatus.CANDIDATE)
    metrics: Mapped[dict[str, Any]] = mapped_column(default=dict)
    error: Mapped[str | None] = mapped_column(Text)
    training_run_id: Mapped[int | None] = mapped_column(ForeignKey("training_runs.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    activated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class User(Base):
    """Someone who logs in to the web UI or calls the API with one of their tokens."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))  # werkzeug scrypt
    role: Mapped[Role] = mapped_column(_enum(Role), default=Role.REVIEWER)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    tokens: Mapped[list[ApiToken]] = relationship(
        back_populates="user", order_by="ApiToken.id", cascade="all, delete-orphan"
    )

    # The interface Flask-Login expects (kept here so this module needs no Flask import).
    is_authenticated = True
    is_anonymous = False

    @property
    def is_active(self) -> bool:
        return self.active

    def get_id(self) -> str:
        """The id kept in the session cookie. It includes a digest of the password hash, so
        resetting a password ends that user's existing sessions."""
        stamp = hashlib.sha256(self.password_hash.encode()).hexdigest()[:16]
        return f"{self.id}:{stamp}"


class ApiToken(Base):
    """A bearer token for API clients. Only its sha256 is stored; the token is shown once."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(12))  # the token's first characters, for display
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    user: Mapped[User] = relationship(back_populates="tokens")


class LoginSession(Base):
    """A browser log-in, held on the server: the cookie carries only its id. Log-out ends it, and
    it ends by itself when idle too long, however long the cookie is kept."""

    __tablename__ = "login_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 of the cookie's value
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    address: Mapped[str] = mapped_column(String(64), default="")


class AuditEvent(Base):
    """Who did what to which data, kept when the data itself is gone (deletions)."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(80))
    action: Mapped[str] = mapped_column(String(40))  # e.g. batch.deleted
    target: Mapped[str] = mapped_column(String(80))  # e.g. batch 12
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)


class CalibrationFit(Base):
    """What an engine's confidence for one field means, fitted on reviewed receipts
    (``shared/calibration.Calibration`` as JSON). One row per scope (engine and model version:
    ``ocr/base``, ``ocr/v12``) and field, replaced on each refit."""

    __tablename__ = "calibrations"
    __table_args__ = (UniqueConstraint("scope", "field", name="uq_calibrations_scope_field"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    scope: Mapped[str] = mapped_column(String(80), index=True)
    engine: Mapped[str] = mapped_column(String(40))
    model_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("model_versions.id", ondelete="CASCADE"))
    field: Mapped[str] = mapped_column(String(80))
    data: Mapped[dict[str, Any]]
    samples: Mapped[int] = mapped_column(Integer, default=0)
    source: Mapped[str] = mapped_column(String(20), default="reviews")  # reviews | training
    fitted_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Webhook(Base):
    """A client's subscription: events of these kinds are POSTed to ``url``, signed with
    ``secret`` (HMAC-SHA256; kept, since signing needs it; shown to the client once)."""

    __tablename__ = "webhooks"

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(String(2000))
    events: Mapped[list[Any]]
    secret: Mapped[str] = mapped_column(String(100))
    # After a rotation the old secret also signs, until this time, so receivers can switch.
    previous_secret: Mapped[str | None] = mapped_column(String(100))
    previous_secret_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[str] = mapped_column(String(80), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class DeliveryStatus(enum.StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"  # the deadline passed, or the target was refused


class WebhookDelivery(Base):
    """One event for one webhook: written in the transaction that made the event happen (an
    outbox), so no event is lost to a broker or receiver that is away; sent and retried by
    ``worker/webhooks.py`` until delivered or past its deadline."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("webhook_id", "event_id", name="uq_webhook_deliveries_event"),
        Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    webhook_id: Mapped[int] = mapped_column(
        ForeignKey("webhooks.id", ondelete="CASCADE"), index=True)
    event_id: Mapped[str] = mapped_column(String(36))  # the same for every webhook of an event
    event: Mapped[str] = mapped_column(String(40))
    payload: Mapped[dict[str, Any]]
    status: Mapped[DeliveryStatus] = mapped_column(
        _enum(DeliveryStatus), default=DeliveryStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # A sender's hold while it POSTs: another delivery of the same task waits it out.
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    deadline_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    # The last attempts: [{"at", "status_code", "error", "ms"}], newest last.
    log: Mapped[list[Any]] = mapped_column(default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    webhook: Mapped[Webhook] = relationship()
