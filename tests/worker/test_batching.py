"""The micro-batcher's gathering rule and pipelining, with real (tiny) stage functions."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from worker.batching import MicroBatcher


class Recorder:
    """Stage functions that double numbers and record what they saw."""

    def __init__(self, finish_delay: float = 0.0) -> None:
        self.batches: list[list[int]] = []
        self.finish_delay = finish_delay
        self.events: list[str] = []

    def prepare(self, items: list[int]) -> list[int]:
        self.batches.append(list(items))
        self.events.append(f"prepare {len(self.batches)}")
        return items

    def finish(self, items: list[int]) -> list[int | BaseException]:
        self.events.append("finish start")
        time.sleep(self.finish_delay)
        self.events.append("finish end")
        return [ValueError(f"odd {x}") if x < 0 else 2 * x for x in items]


@pytest.fixture
def make() -> Iterator[object]:
    made: list[MicroBatcher] = []

    def build(rec: Recorder, n: int, wait_s: float, finish: object = None) -> MicroBatcher:
        batcher = MicroBatcher([rec.prepare, finish or rec.finish], n, wait_s)
        made.append(batcher)
        return batcher

    yield build
    for b in made:
        b.close(timeout=5)


def test_full_batch_flushes_at_once(make) -> None:  # type: ignore[no-untyped-def]
    rec = Recorder()
    batcher = make(rec, 4, wait_s=30.0)  # the wait would fail the test if it were waited for
    started = time.monotonic()
    futures = [batcher.submit(i) for i in range(4)]
    assert [f.result(timeout=5) for f in futures] == [0, 2, 4, 6]
    assert time.monotonic() - started < 2
    assert rec.batches == [[0, 1, 2, 3]]


def test_partial_batch_flushes_after_the_wait(make) -> None:  # type: ignore[no-untyped-def]
    rec = Recorder()
    batcher = make(rec, 8, wait_s=0.3)
    started = time.monotonic()
    futures = [batcher.submit(i) for i in range(3)]
    assert [f.result(timeout=5) for f in futures] == [0, 2, 4]
    elapsed = time.monotonic() - started
    assert 0.3 <= elapsed < 2, elapsed
    assert rec.batches == [[0, 1, 2]]


def test_item_error_fails_that_item_and_batch_error_fails_all(make) -> None:  # type: ignore[no-untyped-def]
    rec = Recorder()
    batcher = make(rec, 3, wait_s=5.0)
    futures = [batcher.submit(x) for x in (1, -1, 2)]
    assert futures[0].result(timeout=5) == 2 and futures[2].result(timeout=5) == 4
    with pytest.raises(ValueError, match="odd -1"):
        futures[1].result(timeout=5)

    def broken(items: list[int]) -> list[int]:
        raise RuntimeError("engine fell over")

    batcher = make(Recorder(), 2, wait_s=5.0, finish=broken)
    futures = [batcher.submit(x) for x in (1, 2)]
    for f in futures:
        with pytest.raises(RuntimeError, match="engine fell over"):
            f.result(timeout=5)


def test_next_batch_is_prepared_while_one_runs(make) -> None:  # type: ignore[no-untyped-def]
    rec = Recorder(finish_delay=0.5)
    batcher = make(rec, 2, wait_s=0.05)
    first = [batcher.submit(i) for i in range(2)]
    while "finish start" not in rec.events:
        time.sleep(0.01)
    second = [batcher.submit(i) for i in range(2, 4)]
    done = threading.Event()
    second[-1].add_done_callback(lambda _: done.set())
    assert done.wait(5)
    assert [f.result() for f in first + second] == [0, 2, 4, 6]
    # Batch 2 was prepared before batch 1's engine call ended.
    assert rec.events.index("prepare 2") < rec.events.index("finish end")
