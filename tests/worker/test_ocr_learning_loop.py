"""The CPU learning loop through the real pieces: an OCR worker extracts a batch, reviewers
correct it, a training run fits the learned extractor from those corrections (reusing the OCR
lines the worker stored), and once promoted the running worker serves it for the next batch."""

from __future__ import annotations

import json

import pytest
from helpers import DATA, sample_images, wait_for_batch

from shared.db.models import Extraction, ModelVersion
from shared.db.session import session_scope
from shared.model_versions import active_version

pytestmark = pytest.mark.slow


def _submit(client, images) -> list[dict]:  # type: ignore[no-untyped-def]
    resp = client.post("/api/v1/batches",
                       data={"files": [(p.open("rb"), p.name) for p in images]},
                       content_type="multipart/form-data")
    assert resp.status_code == 201, resp.get_json()
    return wait_for_batch(client, resp.get_json()["id"])["receipts"]


def test_corrections_train_a_version_the_worker_then_serves(client, start_worker,
                                                            monkeypatch) -> None:
    monkeypatch.setenv("RECEIPTFLOW_ADAPTER_CHECK_S", "0")
    start_worker(env={"RECEIPTFLOW_ADAPTER_CHECK_S": "0"})
    images = sample_images(6)
    first = _submit(client, images)
    for receipt in first:
        label = json.loads((DATA / receipt["original_name"]).with_suffix(".json").read_text())
        client.post(f"/api/v1/receipts/{receipt['id']}/corrections", json={"fields": label})

    from shared.config import get_settings, reset_settings_cache
    from shared.training_runs import create_run
    from trainer.run import execute

    reset_settings_cache()
    with session_scope() as session:
        serving = active_version(session, "ocr")  # an earlier test may have promoted one
        serving_id = serving.id if serving else None
        run_id = create_run(session, "ocr", {"held_out": 0.34}, "test",
                            [r["id"] for r in first]).id
    version_id = execute(run_id, get_settings())
    run = client.get(f"/api/v1/training-runs/{run_id}").get_json()
    assert run["status"] == "done", run["error"]
    # A second delivery of the run's task (the broker gave the message back) trains nothing.
    from trainer.run import RunAlreadyStarted

    with session_scope() as session:
        versions = session.query(ModelVersion).count()
    with pytest.raises(RunAlreadyStarted, match=f"training run {run_id} is done already"):
        execute(run_id, get_settings())
    with session_scope() as session:
        assert session.query(ModelVersion).count() == versions
    assert run["metrics"]["candidate"]["receipts"] == 2
    # Compared against what workers serve now: the rules, or the version promoted earlier.
    assert run["metrics"]["current"]["version_id"] == serving_id

    assert client.post(f"/api/v1/model-versions/{version_id}/activate").status_code == 200
    second = _submit(client, images[:2])
    with session_scope() as session:
        for receipt in second:
            extraction = session.query(Extraction).filter_by(receipt_id=receipt["id"]).one()
            assert extraction.model_version_id == version_id
            assert extraction.model_name.endswith("+learned")
