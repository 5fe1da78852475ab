"""Straight-through processing: which receipts need no review.

Each engine and model version (a scope: ``ocr/base``, ``internvl/v7``) gets, per field, a
calibration fitted on reviewed receipts (``shared/calibration.py``: confidence -> probability of
being exactly right), and for the fields a receipt must pass (``RECEIPTFLOW_AUTO_ACCEPT_FIELDS``,
else all its text fields) cuts on the confidence chosen together, at which the reviewed
receipts' fields let through were wrong at most ``RECEIPTFLOW_AUTO_ACCEPT_TARGET_ERROR`` of the
time. A finished receipt is accepted ("auto") when each of those fields passes its cut and no
validation rule fails;
a share of those (``RECEIPTFLOW_AUTO_ACCEPT_AUDIT_SHARE``) is still sent to review ("audit"), so
the error among accepted fields keeps being measured. A field without a calibration (too few
reviews yet) accepts nothing, so a new deployment or a new model version starts with everything
in review.

Calibrations are refitted by the reconciler once ``RECEIPTFLOW_CALIBRATION_REFIT_REVIEWS`` new
reviews came in for a scope, or the target error or the required fields changed (until then a
scope whose cuts were chosen for other fields accepts nothing), and for a new model version from
its training run's held-out receipts.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from shared import calibration
from shared.calibration import Calibration, Record
from shared.db.models import CalibrationFit, Correction, Extraction, Receipt, utcnow
from shared.fields import FieldSpec
from shared.scoring import exact_match

AUTO = "auto"  # accepted without review
AUDIT = "audit"  # would have been accepted; reviewed to measure the error
CACHE_S = 30.0  # how long a process keeps a scope's calibrations before reading them again

_cache: dict[str, tuple[float, dict[str, Calibration]]] = {}


def scope_of(engine: str, version_id: int | None) -> str:
    return f"{engine}/v{version_id}" if version_id else f"{engine}/base"


def load(session: Session, scope: str, *, fresh: bool = False) -> dict[str, Calibration]:
    """The scope's calibrations by field (kept a few seconds per process)."""
    hit = _cache.get(scope)
    if hit and not fresh and time.monotonic() - hit[0] < CACHE_S:
        return hit[1]
    rows = session.scalars(select(CalibrationFit).where(CalibrationFit.scope == scope))
    found = {row.field: Calibration.from_json(row.data) for row in rows}
    _cache[scope] = (time.monotonic(), found)
    return found


def text_kinds(receipt: Receipt) -> dict[str, str]:
    specs = [FieldSpec.model_validate(f) for f in receipt.batch.fields]
    return {f.name: f.kind for f in specs if not f.is_table}


def accept_names(chosen: str | None, names: Iterable[str]) -> list[str]:
    """Of ``names``, the fields that must pass for a receipt to be accepted: the chosen ones
    (``RECEIPTFLOW_AUTO_ACCEPT_FIELDS``), else all of them; sorted."""
    wanted = {n.strip() for n in (chosen or "").split(",") if n.strip()}
    return sorted(n for n in names if not wanted or n in wanted)


def required_fields(receipt: Receipt, chosen: str | None) -> list[str]:
    """The fields that must pass for the receipt to be accepted: the chosen ones it has, else
    all its text fields."""
    return accept_names(chosen, text_kinds(receipt))


def passes(cals: Mapping[str, Calibration], confidences: Mapping[str, float],
           fields: Sequence[str], target_error: float) -> bool:
    """Every field has a calibration fitted for this target, its cut chosen for these fields,
    and passes it."""
    return bool(fields) and all(
        name in cals and cals[name].target_error == target_error
        and cals[name].accept_fields == sorted(fields)
        and cals[name].accepts(float(confidences.get(name, 0.0)))
        for name in fields)


def decide(session: Session, receipts: Sequence[Receipt], *, rng: random.Random | None = None
           ) -> int:
    """Set ``acceptance`` on these finished receipts (in the caller's transaction); returns how
    many were accepted without review."""
    from shared.config import get_settings

    settings = get_settings()
    rng = rng or random.Random()
    accepted = 0
    for receipt in receipts:
        receipt.acceptance = None
        extraction = receipt.latest_extraction
        if not settings.auto_accept or extraction is None or receipt.review_reasons \
                or receipt.corrections:
            continue
        cals = load(session, scope_of(extraction.engine, extraction.model_version_id))
        confidences = {name: float(f.get("confidence", 0.0))
                       for name, f in extraction.fields.items()}
        if passes(cals, confidences, required_fields(receipt, settings.auto_accept_fields),
                  settings.auto_accept_target_error):
            audit = rng.random() < settings.auto_accept_audit_share
            receipt.acceptance = AUDIT if audit else AUTO
            accepted += not audit
    return accepted


def store(session: Session, engine: str, version_id: int | None, records: Sequence[Record],
          *, source: str, reviews: int) -> list[Calibration]:
    """Fit each field's calibration from the reviewed receipts' (confidence, right) per field,
    choose the required fields' cuts together, and replace the scope's rows (a field with too
    few reviews keeps none)."""
    from shared.config import get_settings

    settings = get_settings()
    target = settings.auto_accept_target_error
    scope = scope_of(engine, version_id)
    session.execute(delete(CalibrationFit).where(CalibrationFit.scope == scope))
    fielded = {name for record in records for name in record}
    cals = calibration.fit_records(records, accept_names(settings.auto_accept_fields, fielded),
                                   target)
    for name, cal in cals.items():
        session.add(CalibrationFit(scope=scope, engine=engine, model_version_id=version_id,
                                   field=name, data={**cal.to_json(), "reviews": reviews},
                                   samples=cal.samples, source=source, fitted_at=utcnow()))
    _cache.pop(scope, None)
    return list(cals.values())


def reviewed_records(session: Session, engine: str, version_id: int | None) -> list[Record]:
    """Per reviewed receipt this scope extracted, per text field: (the engine's confidence,
    whether the reviewer kept the value)."""
    latest = (select(func.max(Correction.id)).group_by(Correction.receipt_id)).scalar_subquery()
    version = (Extraction.model_version_id.is_(None) if version_id is None
               else Extraction.model_version_id == version_id)
    rows = session.execute(
        select(Correction, Extraction, Receipt)
        .join(Extraction, Correction.extraction_id == Extraction.id)
        .join(Receipt, Receipt.id == Correction.receipt_id)
        .where(Correction.id.in_(latest), Extraction.engine == engine, version)).all()
    records: list[Record] = []
    kinds_by_batch: dict[int, dict[str, str]] = {}
    for correction, extraction, receipt in rows:
        if receipt.batch_id not in kinds_by_batch:
            kinds_by_batch[receipt.batch_id] = text_kinds(receipt)
        record = {}
        for name, kind in kinds_by_batch[receipt.batch_id].items():
            got = extraction.fields.get(name)
            if got is None:
                continue
            value = got.get("value", "")
            truth = correction.fields.get(name, value)
            record[name] = (float(got.get("confidence", 0.0)), exact_match(truth, value, kind))
        records.append(record)
    return records


def review_counts(session: Session) -> dict[tuple[str, int | None], int]:
    """Reviewed receipts per scope (engine, model version) they were extracted by."""
    rows = session.execute(
        select(Extraction.engine, Extraction.model_version_id,
               func.count(func.distinct(Correction.receipt_id)))
        .join(Extraction, Correction.extraction_id == Extraction.id)
        .group_by(Extraction.engine, Extraction.model_version_id)).all()
    return {(engine, version): n for engine, version, n in rows}


def refit_due(session: Session) -> list[str]:
    """Refit every scope with enough new reviews since its last fit (or a fit for another
    target error); returns the scopes refitted. The reconciler calls it each round."""
    from shared.config import get_settings

    settings = get_settings()
    done = []
    for (engine, version_id), reviews in review_counts(session).items():
        scope = scope_of(engine, version_id)
        rows = session.scalars(select(CalibrationFit).where(CalibrationFit.scope == scope)).all()
        last = max((int(r.data.get("reviews", 0)) for r in rows if r.source == "reviews"),
                   default=0)
        # Fitted for another target error or other required fields, or before thresholds were
        # cuts on confidence.
        required = accept_names(settings.auto_accept_fields, (r.field for r in rows))
        stale_target = any(r.data.get("target_error") != settings.auto_accept_target_error
                           or r.data.get("accept_fields") != required
                           or "threshold_confidence" not in r.data for r in rows)
        if reviews < calibration.MIN_SAMPLES:
            continue
        if rows and not stale_target and reviews - last < settings.calibration_refit_reviews:
            continue
        records = reviewed_records(session, engine, version_id)
        store(session, engine, version_id, records, source="reviews", reviews=len(records))
        done.append(scope)
    session.commit()
    return done


def share(session: Session) -> dict[str, Any]:
    """What the review page shows: receipts accepted without review, and the error measured
    where they could be checked (audit samples that were reviewed)."""
    counts = dict(session.execute(
        select(Receipt.acceptance, func.count()).where(Receipt.status == "done")
        .group_by(Receipt.acceptance)).all())
    done = sum(counts.values())
    audited = session.scalars(
        select(Receipt).where(Receipt.acceptance == AUDIT,
                              Receipt.id.in_(select(Correction.receipt_id)))).all()
    fields = changed = 0
    for receipt in audited:
        names = set(text_kinds(receipt))
        fields += len(names)
        changed += len(names & set(receipt.latest_correction.changed_fields or []))  # type: ignore[union-attr]
    return {"done": done, "auto": counts.get(AUTO, 0), "audit": counts.get(AUDIT, 0),
            "share": round(counts.get(AUTO, 0) / done, 4) if done else 0.0,
            "audited_reviewed": len(audited),
            "audited_field_error": round(changed / fields, 4) if fields else None}
