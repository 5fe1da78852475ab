"""All settings, read from the environment in one place and checked at start-up.

Every variable is ``RECEIPTFLOW_<NAME>``; the two connection URLs also accept the conventional
``DATABASE_URL`` and ``REDIS_URL``. Defaults give the embedded single-machine setup: a SQLite file
and file storage under ``RECEIPTFLOW_DATA_DIR``, and (in ``receiptflow up``) a Redis-compatible
server started for you when no Redis URL is set.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import AliasChoices, Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.fields import FIELD_SETS, FieldSpec

if TYPE_CHECKING:
    from shared.documents import Limits


class ConfigError(RuntimeError):
    """The environment holds settings that cannot work; the message says which and why."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RECEIPTFLOW_", extra="ignore")

    data_dir: Path = Field(default=Path("receiptflow-data"), description="Files and SQLite here.")
    database_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("RECEIPTFLOW_DATABASE_URL", "DATABASE_URL"),
        description="SQLAlchemy URL; default sqlite:///<data_dir>/receiptflow.db",
    )
    redis_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("RECEIPTFLOW_REDIS_URL", "REDIS_URL"),
        description="Broker URL; unset means `receiptflow up` starts an embedded server.",
    )
    storage_dir: Path | None = Field(default=None, description="Default <data_dir>/files.")
    engine: str = Field(default="ocr", description="Engine new batches are sent to.")
    field_set: Literal["sroie", "standard", "accounting"] = Field(
        default="standard",
        description="The fields read from every receipt: sroie (company, date, address, total), "
                    "standard (those and the line items), accounting (also subtotal, tax, "
                    "currency, receipt number, payment method, phone). RECEIPTFLOW_FIELDS_FILE "
                    "gives any other list.",
    )
    fields_file: Path | None = Field(
        default=None,
        description="JSON list of {name, description, kind[, columns]}; overrides "
                    "RECEIPTFLOW_FIELD_SET.",
    )
    validation_file: Path | None = Field(
        default=None,
        description="JSON list of validation rules ({\"rule\": name, ...options}); default: "
                    "items sum to the subtotal or total, subtotal + tax = total, date not in "
                    "the future nor before 2000 nor ambiguous, total above zero.",
    )

    @field_validator("validation_file")
    @classmethod
    def _rules_load(cls, value: Path | None) -> Path | None:
        from shared.values.checks import load_rules

        load_rules(value)  # a bad rules file stops start-up with what is wrong in it
        return value

    max_file_mb: float = Field(default=20, gt=0, description="Largest accepted file.")
    max_request_mb: float = Field(default=512, gt=0, description="Largest upload request.")
    max_batch_files: int = Field(default=1000, gt=0, description="Most files in one batch.")
    max_image_pixels: int = Field(
        default=50_000_000, gt=0,
        description="Largest image or page, in pixels (decompression bombs; a PDF page as "
                    "rendered at RECEIPTFLOW_PDF_DPI).",
    )
    max_pages: int = Field(
        default=20, gt=0, description="Most pages in one document (PDF, multi-page TIFF)."
    )
    pdf_dpi: int = Field(
        default=200, ge=50, le=600,
        description="Resolution PDF pages are rendered at, for OCR and the review page.",
    )
    task_max_retries: int = Field(
        default=5, ge=0,
        description="Retries of an engine error before the receipt is marked failed.",
    )
    task_retry_deadline_s: float = Field(
        default=6 * 3600, gt=0,
        description="How long a receipt's task keeps retrying transient errors (database or "
                    "broker unreachable), with backoff capped at a few minutes, before it marks "
                    "the receipt failed. It is never dropped while the receipt is not final.",
    )
    visibility_timeout_s: int = Field(
        default=900, gt=0, description="Unacked task redelivered after this (worker lost)."
    )
    lease_s: float = Field(
        default=60, gt=0,
        description="A worker holds a receipt it processes for this long, renewing the lease "
                    "while it works; a receipt whose lease ran out (its worker died) is sent "
                    "again. Queued receipts are checked against the broker after this long.",
    )
    reconcile_interval_s: float = Field(
        default=15, gt=0,
        description="How often a worker looks for stranded receipts (one worker acts at a time).",
    )
    max_attempts: int = Field(
        default=10, ge=1,
        description="A receipt whose processing started this many times without finishing "
                    "(its worker died each time, or kept failing) is marked failed instead of "
                    "being tried again. Keep it above RECEIPTFLOW_TASK_MAX_RETRIES.",
    )
    broker_key_prefix: str = Field(
        default="", description="Prefix of every broker key: deployments sharing one Redis."
    )
    secret_key: str | None = Field(
        default=None,
        description="Flask session key (32+ random characters). Required unless "
                    "RECEIPTFLOW_DEVELOPMENT is true; `receiptflow up` on loopback makes one.",
    )
    development: bool = Field(
        default=False,
        description="Development mode: the web runs without RECEIPTFLOW_SECRET_KEY (with a "
                    "random key per process, so log-ins end at a restart).",
    )
    session_idle_minutes: float = Field(
        default=60, gt=0, description="A log-in session unused this long ends."
    )
    session_max_hours: float = Field(
        default=12, gt=0, description="A log-in session ends this long after log-in, in use or not."
    )
    login_limit_per_account: str = Field(
        default="10 per 15 minutes",
        description="Failed log-ins allowed per account (Flask-Limiter syntax); more: 429.",
    )
    login_limit_per_address: str = Field(
        default="30 per 15 minutes",
        description="Log-in attempts allowed per client address; more: 429.",
    )
    trusted_proxies: int = Field(
        default=0, ge=0,
        description="Reverse proxies in front of the web whose X-Forwarded-For is trusted "
                    "(the client address for rate limits and the audit log).",
    )
    cookie_secure: bool = Field(
        default=True,
        description="Session cookie only over HTTPS; `up` sets false for plain-HTTP local use. "
                    "Off anyway under Flask's testing or debug mode.",
    )
    ocr_threads: int = Field(default=-1, description="ONNX Runtime threads per OCR process.")
    internvl_model: str = Field(
        default="OpenGVLab/InternVL3-2B-hf",
        description="InternVL checkpoint in the -hf format: a local folder or a hub id.",
    )
    internvl_device: str = Field(default="auto", description="cuda, cuda:N, cpu or auto.")
    internvl_precision: Literal["4bit", "bf16", "fp32"] = Field(
        default="bf16", description="4bit (NF4, bitsandbytes), bf16, or fp32 (CPU)."
    )
    internvl_max_tiles: int = Field(default=6, ge=1, le=40, description="Image tiles per receipt.")
    internvl_document_tiles: int = Field(
        default=12, ge=1, le=40,
        description="Image tiles for a receipt of several pages, across its pages (stacked one "
                    "under the other): more resolution than one page's budget, within a cap.",
    )
    internvl_batch_size: int | Literal["auto"] = Field(
        default="auto",
        description="Receipts decoded together; auto: the largest batch that fits the card's "
                    "free memory with a margin (shared/engines/internvl/memory.py; 8 on a CPU).",
    )

    @field_validator("internvl_batch_size")
    @classmethod
    def _positive_batch(cls, value: int | str) -> int | str:
        if value != "auto" and int(value) < 1:
            raise ValueError("give a number of receipts (1 or more) or auto")
        return value
    internvl_static_cache: bool = Field(
        default=False, description="Static KV cache (compiled on CUDA): fast for fixed shapes."
    )
    internvl_max_new_tokens: int | None = Field(
        default=None, ge=8, description="Answer length cap, in tokens (default: 256, or 1024 "
                                        "when the fields include line items).")
    internvl_merge_adapter: bool = Field(
        default=True, description="Merge the active LoRA into bf16 weights for serving speed."
    )
    internvl_decoder: Literal["graph", "generate"] = Field(
        default="graph",
        description="graph: our greedy loop, its decode step replayed from a CUDA graph on "
                    "CUDA (the same loop, eagerly, elsewhere); generate: transformers' "
                    "generate, the unoptimised reference.",
    )
    internvl_decode_attention: Literal["masked", "exact", "flash"] = Field(
        default="flash",
        description="Graph decoder's attention over the KV cache. flash: the filled part "
                    "only, one CUDA graph per step, flash attention's split-cache kernel "
                    "(fastest measured); exact: the same with transformers' own kernel choice "
                    "(with compile off, generate's bf16 answers); masked: the whole cache with "
                    "a mask, one graph for all steps.",
    )
    internvl_cudnn_attention: bool = Field(
        default=True,
        description="Let attention use cuDNN's kernel, PyTorch's choice on Hopper GPUs. false "
                    "(for the whole worker process): other kernels only, ~5% slower; cuDNN's "
                    "choice of execution plan made repeated runs of one batch differ in ~10% "
                    "of tokens on an H100 where the top two logits nearly tie, and without it "
                    "exact decode attention with compile off gives generate's tokens exactly.",
    )
    internvl_fp8: bool = Field(
        default=False,
        description="FP8 matrix products in the language model's prefill (Hopper GPUs, bf16 "
                    "base, graph decoder). Faster; answers can differ slightly from bf16.",
    )
    internvl_fp8_vision: bool = Field(
        default=False,
        description="With RECEIPTFLOW_INTERNVL_FP8: the vision tower's matrix products in FP8 "
                    "too.",
    )
    internvl_fp8_static: bool = Field(
        default=False,
        description="With RECEIPTFLOW_INTERNVL_FP8: one activation scale per layer, calibrated "
                    "on the first 64 receipts served (which run in bf16), instead of a scale "
                    "per token computed on the fly. Faster; values past 1.25x the largest seen "
                    "while calibrating are clipped.",
    )
    internvl_compile: bool = Field(
        default=True,
        description="On CUDA, torch.compile the decoder layers and vision layers of the graph "
                    "decoder (fuses elementwise kernels; ~30 s more at start, again for new "
                    "batch shapes).",
    )
    internvl_min_new_tokens: int = Field(
        default=0, ge=0, description="Generate at least this many tokens (benchmarks force it)."
    )
    adapter_check_s: float = Field(
        default=5.0, ge=0, description="How often a worker looks for a new active model version."
    )
    review_memory_check_s: float = Field(
        default=10.0, ge=0,
        description="How often a worker looks for new reviews to use beside its served version "
                    "(the OCR engine's vendor memory) before the next training run; at least ten "
                    "times the last rebuild's time, 0: before every batch.",
    )
    worker_batch_size: int = Field(
        default=1, ge=1,
        description="Receipts a worker gathers across tasks into one engine call (1: none).",
    )
    worker_batch_wait_ms: float = Field(
        default=50, ge=0, description="Longest wait for a batch to fill after its first receipt."
    )

    auto_accept: bool = Field(
        default=True,
        description="Accept a receipt without review when every field passes its calibrated "
                    "threshold and no validation rule fails (needs reviews to calibrate on).",
    )
    auto_accept_fields: str | None = Field(
        default=None,
        description="Comma-separated fields that must pass their thresholds for a receipt to be "
                    "auto-accepted (default: every text field); the others are kept as read.",
    )
    auto_accept_target_error: float = Field(
        default=0.01, gt=0, lt=1,
        description="Share of auto-accepted fields allowed to be wrong; sets the thresholds.",
    )
    auto_accept_audit_share: float = Field(
        default=0.05, ge=0, le=1,
        description="Share of would-be auto-accepted receipts still sent to review, to keep "
                    "measuring the error.",
    )
    calibration_refit_reviews: int = Field(
        default=20, ge=1,
        description="Refit a calibration once this many new reviews came in since the last fit.",
    )
    webhook_allow_private: bool = Field(
        default=False,
        description="Allow webhook URLs on private, loopback and link-local addresses.",
    )
    webhook_timeout_s: float = Field(
        default=10, gt=0, le=60, description="How long a webhook receiver has to answer.")
    webhook_deadline_h: float = Field(
        default=24, gt=0, description="How long an event is retried before it is given up.")
    webhook_retry_cap_s: float = Field(
        default=300, gt=0,
        description="Longest wait between two tries of one delivery (at most half the "
                    "visibility timeout).")
    metrics_token: str | None = Field(
        default=None,
        description="Bearer token for scraping /metrics (admins' log-ins and tokens work too).",
    )

    @field_validator("engine")
    @classmethod
    def _known_engine(cls, value: str) -> str:
        from shared.engines import ENGINE_NAMES

        if value not in ENGINE_NAMES:
            raise ValueError(f"unknown engine {value!r}; choose one of {sorted(ENGINE_NAMES)}")
        return value

    @model_validator(mode="after")
    def _check_urls(self) -> Settings:
        url = self.database_url
        if url and not url.startswith(("sqlite", "postgresql")):
            raise ValueError("database_url must be a sqlite:// or postgresql:// URL")
        if self.redis_url and not self.redis_url.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("redis_url must start with redis://, rediss:// or unix://")
        return self

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            url = self.database_url
            # Accept the common "postgresql://" form and use the psycopg 3 driver for it.
            if url.startswith("postgresql://"):
                url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
            return url
        return f"sqlite:///{(self.data_dir / 'receiptflow.db').resolve()}"

    @property
    def resolved_storage_dir(self) -> Path:
        return (self.storage_dir or self.data_dir / "files").resolve()

    @property
    def fields(self) -> tuple[FieldSpec, ...]:
        if self.fields_file is None:
            return FIELD_SETS[self.field_set]
        return load_fields(self.fields_file)

    def answer_tokens(self, fields: Sequence[FieldSpec] | None = None) -> int:
        """The InternVL answer's length cap for ``fields`` (default: the configured ones):
        ~30 tokens a line item, so a table needs room."""
        if self.internvl_max_new_tokens is not None:
            return self.internvl_max_new_tokens
        return 1024 if any(f.is_table for f in fields or self.fields) else 256

    @property
    def models_cache_dir(self) -> Path:
        """Where stored model artefacts are unpacked on this machine."""
        return self.data_dir.resolve() / "models"

    @property
    def document_limits(self) -> Limits:
        from shared.documents import Limits

        return Limits(max_pixels=self.max_image_pixels, max_pages=self.max_pages,
                      pdf_dpi=self.pdf_dpi)

    @property
    def max_file_bytes(self) -> int:
        return int(self.max_file_mb * 1024 * 1024)


def load_fields(path: Path) -> tuple[FieldSpec, ...]:
    try:
        raw = json.loads(path.read_text())
        specs = tuple(FieldSpec.model_validate(item) for item in raw)
    except (OSError, ValueError) as exc:
        raise ConfigError(f"RECEIPTFLOW_FIELDS_FILE={path}: {exc}") from exc
    if not specs:
        raise ConfigError(f"RECEIPTFLOW_FIELDS_FILE={path}: the field list is empty")
    return specs


def describe_error(exc: ValidationError) -> str:
    """One line per bad variable, naming the environment variable a user must fix."""
    lines = []
    for err in exc.errors():
        name = "_".join(str(p) for p in err["loc"]).upper()
        where = f"RECEIPTFLOW_{name}" if name else "settings"
        lines.append(f"{where}: {err['msg']}")
    return "invalid configuration:\n  " + "\n  ".join(lines)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        raise ConfigError(describe_error(exc)) from exc


def reset_settings_cache() -> None:
    """Forget the cached settings (tests and the CLI change the environment)."""
    get_settings.cache_clear()
