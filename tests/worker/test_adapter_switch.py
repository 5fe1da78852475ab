"""The whole learning loop on the CPU with the tiny InternVL: a running worker serves the base
model, reviewed receipts train an adapter, promoting it switches the worker without a restart,
and a corrupt version fails alone while the worker keeps serving the previous one."""

from __future__ import annotations

import json

import pytest
from helpers import DATA, sample_images, wait_for_batch

from shared.db.models import Extraction, ModelStatus, ModelVersion
from shared.db.session import session_scope
from shared.storage import get_storage

pytest.importorskip("torch")
pytestmark = pytest.mark.slow


def _submit(client, images) -> list[dict]:  # type: ignore[no-untyped-def]
    resp = client.post("/api/v1/batches",
                       data={"files": [(p.open("rb"), p.name) for p in images],
                             "engine": "internvl"},
                       content_type="multipart/form-data")
    assert resp.status_code == 201, resp.get_json()
    return wait_for_batch(client, resp.get_json()["id"], timeout=240)["receipts"]


def _extraction(receipt_id: int) -> Extraction:
    with session_scope() as session:
        rows = session.query(Extraction).filter_by(receipt_id=receipt_id).all()
        assert len(rows) == 1
        return rows[0]


def test_promoted_adapter_serves_the_next_batch(client, start_worker, internvl_settings) -> None:
    settings, env = internvl_settings
    start_worker(engine="internvl", env=env)
    images = sample_images(4)
    first = _submit(client, images)
    base_outputs = {r["original_name"]: _extraction(r["id"]).raw_output for r in first}
    assert all(_extraction(r["id"]).model_version_id is None for r in first)

    # Reviewers correct the receipts; a training run learns from those corrections.
    for receipt in first:
        label = json.loads((DATA / receipt["original_name"]).with_suffix(".json").read_text())
        assert client.post(f"/api/v1/receipts/{receipt['id']}/corrections",
                           json={"fields": label, "author": "rev"}).status_code == 201
    from shared.training_runs import create_run
    from trainer.run import execute

    params = {"epochs": 6, "batch_size": 2, "learning_rate": 5e-3, "lora_r": 8, "lora_alpha": 16,
              "precision": "fp32", "max_tiles": 2, "held_out": 0.25}
    with session_scope() as session:
        run_id = create_run(session, "internvl", params, "test", [r["id"] for r in first]).id
    version_id = execute(run_id, settings)
    run = client.get(f"/api/v1/training-runs/{run_id}").get_json()
    assert run["status"] == "done" and run["progress"] == 1.0
    assert len(run["dataset"]["train"]) == 3 and len(run["dataset"]["held_out"]) == 1
    assert run["loss_log"] and {"current", "candidate"} <= set(run["metrics"])

    promoted = client.post(f"/api/v1/model-versions/{version_id}/activate").get_json()
    assert promoted["status"] == "active"
    second = _submit(client, images)
    for receipt in second:
        extraction = _extraction(receipt["id"])
        assert extraction.model_version_id == version_id
    assert {r["original_name"]: _extraction(r["id"]).raw_output for r in second} != base_outputs

    # A version whose stored adapter is garbage: marked failed, the worker keeps the old one.
    with session_scope() as session:
        broken = ModelVersion(engine="internvl", name="broken", base_model="tiny",
                              artifact_key=get_storage().put(b"not a tar.gz adapter"))
        session.add(broken)
        session.flush()
        broken_id = broken.id
    assert client.post(f"/api/v1/model-versions/{broken_id}/activate").status_code == 200
    third = _submit(client, images[:1])
    assert _extraction(third[0]["id"]).model_version_id == version_id
    versions = {v["id"]: v for v in client.get("/api/v1/model-versions").get_json()}
    assert versions[broken_id]["status"] == ModelStatus.FAILED.value
    assert "could not load model version" in versions[broken_id]["error"]
    assert versions[version_id]["status"] == ModelStatus.ACTIVE.value
