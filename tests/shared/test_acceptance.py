"""Auto-accept against the real database: calibrations fitted from reviews, the decision when
a receipt finishes (accepted, audited, or left for review), the review queue without accepted
receipts, and the figures the review page and dashboard show."""

from __future__ import annotations

import random
import uuid

import pytest
from sqlalchemy import delete, select

from shared import acceptance
from shared.config import get_settings, reset_settings_cache
from shared.db.models import (
    Batch,
    CalibrationFit,
    Correction,
    Extraction,
    Receipt,
    ReceiptStatus,
)
from shared.db.session import session_scope
from shared.finishing import receipts_finished
from shared.review import review_queue

TEXT = ["company", "date", "address", "total"]
VALUES = {"company": "KEDAI MAJU", "date": "25/12/2018", "address": "NO 5 JALAN", "total": "9.00"}


def _receipt(session, batch: Batch, confidence: float, *, corrected: dict | None = None,
             status: ReceiptStatus = ReceiptStatus.DONE) -> Receipt:
    """A receipt extracted by the batch's engine (a name of the test's own: its calibration
    scope holds this test's reviews only, whatever other tests reviewed)."""
    receipt = Receipt(batch=batch, original_name="r.jpg", status=status,
                      job_id=str(uuid.uuid4()))
    session.add(receipt)
    session.flush()
    extraction = Extraction(receipt_id=receipt.id, job_id=receipt.job_id, engine=batch.engine,
                            model_name="rules", fields={
                                n: {"value": VALUES[n], "confidence": confidence, "box": None}
                                for n in TEXT})
    session.add(extraction)
    session.flush()
    if corrected is not None:
        session.add(Correction(receipt_id=receipt.id, extraction_id=extraction.id,
                               fields={**VALUES, **corrected}, author="t",
                               changed_fields=sorted(corrected)))
    return receipt


SCOPE = ""


@pytest.fixture(autouse=True)
def no_audit_draw(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """No receipt drawn for audit unless a test asks: the default share (5%) is a random draw,
    and a confident receipt must come out "auto" every run."""
    monkeypatch.setenv("RECEIPTFLOW_AUTO_ACCEPT_AUDIT_SHARE", "0")
    reset_settings_cache()
    yield
    monkeypatch.undo()
    reset_settings_cache()


@pytest.fixture
def batch(services):  # type: ignore[no-untyped-def]
    """A batch of its own, read by an engine name of its own."""
    global SCOPE
    engine = f"t{uuid.uuid4().hex[:8]}"
    SCOPE = acceptance.scope_of(engine, None)
    with session_scope() as session:
        b = Batch(name="acceptance", engine=engine,
                  fields=[f.model_dump() for f in get_settings().fields])
        session.add(b)
        session.flush()
        batch_id = b.id
    acceptance._cache.clear()
    yield batch_id
    with session_scope() as session:
        session.execute(delete(CalibrationFit).where(CalibrationFit.scope == SCOPE))
        session.execute(delete(Batch).where(Batch.id == batch_id))
    acceptance._cache.clear()


def _reviews(batch_id: int, n: int = 200) -> None:
    """Reviewed receipts whose confidence tells the truth: below 0.5 a field is often wrong,
    above 0.9 never."""
    rng = random.Random(7)
    with session_scope() as session:
        b = session.get(Batch, batch_id)
        for i in range(n):
            confidence = (i % 10) / 10 + 0.05
            wrong = confidence < 0.5 and rng.random() < 0.6
            _receipt(session, b, confidence,
                     corrected={"company": "SOMEONE ELSE"} if wrong else {})


def test_reviews_fit_a_calibration_and_confident_receipts_skip_review(batch: int) -> None:
    _reviews(batch)
    with session_scope() as session:
        assert SCOPE in acceptance.refit_due(session)
        assert SCOPE not in acceptance.refit_due(session)  # no new reviews: no refit
        cals = acceptance.load(session, SCOPE, fresh=True)
    assert set(cals) == set(TEXT)
    company = cals["company"]
    assert company.threshold is not None and company.ece < 0.1
    assert company.probability(0.95) > 0.95 > company.probability(0.15)
    assert company.reliability and all("count" in p for p in company.reliability)

    with session_scope() as session:
        b = session.get(Batch, batch)
        sure = _receipt(session, b, 0.97)
        unsure = _receipt(session, b, 0.2)
        flagged = _receipt(session, b, 0.97)
        failed = _receipt(session, b, 0.97, status=ReceiptStatus.FAILED)
        session.flush()
        flagged.review_reasons = [{"rule": "total_positive", "message": "x"}]
        ids = [sure.id, unsure.id, flagged.id, failed.id]
        receipts_finished(session, ids)
    with session_scope() as session:
        got = {r.id: r.acceptance for r in session.scalars(
            select(Receipt).where(Receipt.id.in_(ids)))}
        queue = {r.id for r in review_queue(session, batch_id=batch, limit=1000)}
        share = acceptance.share(session)
    assert got == {ids[0]: "auto", ids[1]: None, ids[2]: None, ids[3]: None}
    assert ids[0] not in queue and ids[1] in queue and ids[2] in queue
    assert share["auto"] >= 1 and 0 < share["share"] <= 1


def test_a_share_of_accepted_receipts_is_audited(batch: int, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    _reviews(batch)
    with session_scope() as session:
        acceptance.refit_due(session)
    monkeypatch.setenv("RECEIPTFLOW_AUTO_ACCEPT_AUDIT_SHARE", "1")
    reset_settings_cache()
    try:
        with session_scope() as session:
            b = session.get(Batch, batch)
            receipt = _receipt(session, b, 0.97)
            receipts_finished(session, [receipt.id])
            assert receipt.acceptance == "audit"
            queue = {r.id for r in review_queue(session, batch_id=batch, limit=1000)}
            assert receipt.id in queue  # audited: reviewed to keep measuring the error
    finally:
        monkeypatch.undo()
        reset_settings_cache()


def test_nothing_is_accepted_before_enough_reviews(batch: int) -> None:
    _reviews(batch, n=10)
    with session_scope() as session:
        assert SCOPE not in acceptance.refit_due(session)
        b = session.get(Batch, batch)
        receipt = _receipt(session, b, 0.99)
        receipts_finished(session, [receipt.id])
        assert receipt.acceptance is None


def test_auto_accept_can_be_turned_off(batch: int, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    _reviews(batch)
    with session_scope() as session:
        acceptance.refit_due(session)
    monkeypatch.setenv("RECEIPTFLOW_AUTO_ACCEPT", "false")
    reset_settings_cache()
    try:
        with session_scope() as session:
            receipt = _receipt(session, session.get(Batch, batch), 0.99)
            receipts_finished(session, [receipt.id])
            assert receipt.acceptance is None
    finally:
        monkeypatch.undo()
        reset_settings_cache()


def test_a_deployment_can_require_only_the_fields_it_posts(batch: int, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Company names reviewers keep changing: with all four fields required no cuts meet the
    target; with only the date and total required, chosen for them at the next refit, a
    confident receipt is accepted."""
    with session_scope() as session:
        b = session.get(Batch, batch)
        for i in range(120):
            _receipt(session, b, (i % 10) / 10 + 0.05,
                     corrected={"company": f"SELLER {i}"} if i % 2 else {})
    with session_scope() as session:
        acceptance.refit_due(session)
        cals = acceptance.load(session, SCOPE, fresh=True)
        assert all(cals[n].threshold is None for n in TEXT)
        assert cals["total"].accept_fields == sorted(TEXT)
        receipt = _receipt(session, session.get(Batch, batch), 0.97)
        receipts_finished(session, [receipt.id])
        assert receipt.acceptance is None
    monkeypatch.setenv("RECEIPTFLOW_AUTO_ACCEPT_FIELDS", "date, total")
    reset_settings_cache()
    try:
        with session_scope() as session:
            # Cuts chosen for four fields are not the cuts for two: nothing until the refit.
            receipt = _receipt(session, session.get(Batch, batch), 0.97)
            receipts_finished(session, [receipt.id])
            assert receipt.acceptance is None
            assert SCOPE in acceptance.refit_due(session)
            cals = acceptance.load(session, SCOPE, fresh=True)
            assert cals["total"].accept_fields == ["date", "total"]
            assert cals["total"].threshold is not None and cals["company"].threshold is None
            receipt = _receipt(session, session.get(Batch, batch), 0.97)
            receipts_finished(session, [receipt.id])
            assert receipt.acceptance == "auto"
    finally:
        monkeypatch.undo()
        reset_settings_cache()
