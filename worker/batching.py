"""Micro-batching across tasks: single-receipt tasks meet here and reach the engine together.

A GPU engine is fast only on big batches, but every receipt arrives as its own Celery task. Each
task body (one thread of Celery's ``threads`` pool) submits its item and blocks on a future; the
batcher gathers up to ``max_items`` items, or whatever came within ``max_wait_s`` of the first
one, and runs each batch through stages on threads of their own (``shared/pipeline.py``):

  prepare: gather, claim, load, decode, ``engine.prepare``
  infer:   ``engine.infer`` (the GPU)
  finish:  ``engine.interpret``, write results -> resolve the futures

so while batch k runs on the GPU, batch k+1 is gathered and prepared and batch k-1 is parsed
and written. A future is resolved only after the last stage returned, i.e. after the result is
written: with ``acks_late`` Celery acks a message only once its receipt's result is stored.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from shared.config import get_settings
from shared.pipeline import pipelined
from worker.extract import Item, Outcome, finish_batch, infer_batch, prepare_batch

log = logging.getLogger(__name__)

I = TypeVar("I")  # noqa: E741 - item
R = TypeVar("R")  # per-item result


@dataclass
class _Pending(Generic[I, R]):
    item: I
    future: Future[R] = field(default_factory=Future)
    arrived: float = field(default_factory=time.monotonic)


_STOP = object()


class MicroBatcher(Generic[I, R]):
    """Gathers submitted items into batches and runs them through ``stages``: the first takes
    the batch's items, each next one what the one before returned, and the last returns one
    result per item, in order, where an exception instance fails that item alone. An exception
    raised by a stage fails every item of the batch."""

    def __init__(self, stages: Sequence[Callable[[Any], Any]], max_items: int,
                 max_wait_s: float, name: str = "batcher") -> None:
        if max_items < 1:
            raise ValueError("max_items must be at least 1")
        if not stages:
            raise ValueError("a batcher needs at least one stage")
        self.max_items, self.max_wait_s = max_items, max_wait_s
        self._inbox: queue.Queue[_Pending[I, R] | object] = queue.Queue()
        first, *rest = stages
        self._results = pipelined(self._batches(),
                                  [lambda batch: first([p.item for p in batch]), *rest],
                                  name=name)
        self._resolver = threading.Thread(target=self._resolve_loop, name=f"{name}-resolve",
                                          daemon=True)
        self._closed = False
        self._resolver.start()

    def submit(self, item: I) -> Future[R]:
        if self._closed:
            raise RuntimeError("the batcher is closed")
        pending: _Pending[I, R] = _Pending(item)
        self._inbox.put(pending)
        return pending.future

    def __call__(self, item: I) -> R:
        """Submit and wait: what a task body does."""
        return self.submit(item).result()

    def close(self, timeout: float | None = None) -> None:
        """Finish what was submitted, then stop the stage threads."""
        self._closed = True
        self._inbox.put(_STOP)
        self._resolver.join(timeout)

    def _batches(self) -> Iterator[list[_Pending[I, R]]]:
        while (batch := self._gather()) is not None:
            yield batch

    def _gather(self) -> list[_Pending[I, R]] | None:
        """Block for a first item, then take more until ``max_items``, or until ``max_wait_s``
        after the first one *arrived* (it may have waited while the previous batch was being
        prepared: then whatever is already queued goes at once)."""
        first = self._inbox.get()
        if first is _STOP:
            return None
        assert isinstance(first, _Pending)
        batch = [first]
        deadline = first.arrived + self.max_wait_s
        while len(batch) < self.max_items:
            remaining = deadline - time.monotonic()
            try:
                nxt = self._inbox.get(timeout=remaining) if remaining > 0 else (
                    self._inbox.get_nowait())
            except queue.Empty:
                break
            if nxt is _STOP:
                self._inbox.put(_STOP)  # seen again on the next call, after this batch
                break
            assert isinstance(nxt, _Pending)
            batch.append(nxt)
        return batch

    def _resolve_loop(self) -> None:
        for batch, results in self._results:
            try:
                if isinstance(results, BaseException):
                    raise results
                results = list(results)
                if len(results) != len(batch):
                    raise RuntimeError(f"batch of {len(batch)} gave {len(results)} results")
            except BaseException as exc:
                for p in batch:
                    p.future.set_exception(exc)
                continue
            for p, result in zip(batch, results, strict=True):
                if isinstance(result, BaseException):
                    p.future.set_exception(result)
                else:
                    p.future.set_result(result)


ReceiptBatcher = MicroBatcher[Item, Outcome]
_receipts: ReceiptBatcher | None = None
_receipts_lock = threading.Lock()


def receipt_batcher() -> ReceiptBatcher:
    """The process-wide batcher of ``(receipt_id, job_id)`` items, built on first use (after
    Celery has started, so never inherited across a fork)."""
    global _receipts
    with _receipts_lock:
        if _receipts is None:
            settings = get_settings()
            _receipts = MicroBatcher([prepare_batch, infer_batch, finish_batch],
                                     settings.worker_batch_size,
                                     settings.worker_batch_wait_ms / 1000, name="receipts")
            log.info("batching up to %d receipts per engine call, waiting up to %g ms",
                     settings.worker_batch_size, settings.worker_batch_wait_ms)
        return _receipts
