"""Queue and task names, defined once. The web sends tasks by name; only workers import them."""

from __future__ import annotations

TASK_EXTRACT = "receiptflow.extract_receipt"
TASK_TRAIN = "receiptflow.train"
# Reads a receipt's text lines on a CPU worker, for locating values from engines without boxes.
TASK_READ_TEXT = "receiptflow.read_text"

# Engines with different hardware needs consume different queues, so a CPU worker never takes
# a receipt meant for the GPU engine.
ENGINE_QUEUES: dict[str, str] = {
    "ocr": "extract-cpu",
    "internvl": "extract-gpu",
}
TRAINING_QUEUE = "training"


def queue_for_engine(engine: str) -> str:
    try:
        return ENGINE_QUEUES[engine]
    except KeyError:
        raise ValueError(f"no queue for engine {engine!r}") from None

# Webhook deliveries: every worker (CPU or GPU) consumes this queue beside its engine's.
TASK_DELIVER_WEBHOOK = "receiptflow.deliver_webhook"
WEBHOOK_QUEUE = "webhooks"

# Every queue the product uses: what /metrics and the dashboard report the depth of.
ALL_QUEUES = (*ENGINE_QUEUES.values(), TRAINING_QUEUE, WEBHOOK_QUEUE)
