"""Celery workers: take receipts off an engine's queue, run the engine, store the result."""
