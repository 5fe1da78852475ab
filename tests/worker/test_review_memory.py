"""Reviews made after a version was trained reach the worker's served version at once, against
the real database: the receipts the version was trained on are not given twice, and a new
review is seen at the next check."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from shared.config import reset_settings_cache
from shared.db.models import Batch, Correction, ModelVersion, Receipt, ReceiptStatus, TrainingRun
from shared.db.session import session_scope
from shared.documents.lines import TextLine
from shared.fields import SROIE_FIELDS

pytest.importorskip("sklearn")
pytest.importorskip("rapidocr")


def _trained_version(folder: Path) -> None:
    """A learned version fitted on a few receipts of sellers nobody reviews here."""
    from shared.engines.ocr.learned import LearnedExtractor

    examples = []
    for k in range(6):
        rows = [f"KEDAI SAGU {k} SDN BHD", f"NO {k}, JALAN MAWAR, 81200 JOHOR BAHRU",
                "TOTAL 9.00", "01/02/2018"]
        lines = [TextLine(text, (10.0, 10.0 + 24 * i, 300.0, 30.0 + 24 * i), 0.98)
                 for i, text in enumerate(rows)]
        examples.append((lines, {"company": rows[0], "address": rows[1], "total": "9.00",
                                 "date": "01/02/2018"}))
    LearnedExtractor.fit(examples, SROIE_FIELDS).save(folder)


def _reviewed(session, batch: Batch, company: str) -> Receipt:  # type: ignore[no-untyped-def]
    receipt = Receipt(batch=batch, original_name="r.jpg", status=ReceiptStatus.DONE,
                      job_id=str(uuid.uuid4()))
    session.add(receipt)
    session.flush()
    session.add(Correction(receipt_id=receipt.id, fields={"company": company}, author="t",
                           changed_fields=["company"]))
    return receipt


def test_reviews_since_training_reach_the_served_memory(services, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    from shared.engines.ocr.engine import OcrEngine
    from worker.review_memory import sync_reviews

    monkeypatch.setenv("RECEIPTFLOW_REVIEW_MEMORY_CHECK_S", "0")
    reset_settings_cache()
    tag = "".join(chr(ord("A") + int(c, 16) % 26) for c in uuid.uuid4().hex[:10])
    trained_name, reviewed_name, later_name = (f"KOPITIAM {tag} TRAINED", f"RESTORAN {tag}",
                                               f"{tag} BAKERY ENTERPRISE")
    _trained_version(tmp_path / "v")
    with session_scope() as session:
        batch = Batch(name="memory", engine="ocr",
                      fields=[f.model_dump() for f in SROIE_FIELDS])
        session.add(batch)
        trained = _reviewed(session, batch, trained_name)
        _reviewed(session, batch, reviewed_name)
        run = TrainingRun(engine="ocr", dataset={"train": [f"receipt-{trained.id}"]})
        session.add(run)
        session.flush()
        version = ModelVersion(engine="ocr", name="memory-test", base_model="rules",
                               training_run_id=run.id)
        session.add(version)
        session.flush()
        version_id, batch_id = version.id, batch.id

    engine = OcrEngine(SROIE_FIELDS)
    engine.use_version(version_id, tmp_path / "v")
    assert engine.learned is not None and engine.learned.memory is not None
    assert engine.learned.memory.seller("company", reviewed_name) is None

    sync_reviews(engine)
    memory = engine.learned.memory
    assert memory.seller("company", reviewed_name.replace("O", "0", 1)) is not None  # misread
    assert memory.seller("company", "KEDAI SAGU 3 SDN BHD") is not None  # its training
    assert memory.seller("company", trained_name) is None  # trained on: not given again

    with session_scope() as session:
        later_id = _reviewed(session, session.get(Batch, batch_id), later_name).id
    sync_reviews(engine)
    assert engine.learned.memory.seller("company", later_name) is not None

    # A review edited again is used as edited; a deleted receipt is forgotten.
    edited_name = f"{tag} HARDWARE TRADING"
    with session_scope() as session:
        session.add(Correction(receipt_id=later_id, fields={"company": edited_name},
                               author="t", changed_fields=["company"]))
    sync_reviews(engine)
    assert engine.learned.memory.seller("company", edited_name) is not None
    assert engine.learned.memory.seller("company", later_name) is None
    with session_scope() as session:
        session.delete(session.get(Receipt, later_id))
    sync_reviews(engine)
    assert engine.learned.memory.seller("company", edited_name) is None
    assert engine.learned.memory.seller("company", reviewed_name) is not None

    # The database away: the batch goes on with what the engine had.
    served = engine.learned
    monkeypatch.setenv("RECEIPTFLOW_DATABASE_URL", "postgresql://nobody@127.0.0.1:9/none")
    reset_settings_cache()
    sync_reviews(engine)
    assert engine.learned is served
    monkeypatch.undo()
    reset_settings_cache()
