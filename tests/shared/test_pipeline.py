"""The stage pipeline: order, overlap, and failures that stay with their item."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from shared.pipeline import pipelined


def test_items_come_out_in_order_through_every_stage() -> None:
    out = list(pipelined(range(6), [lambda x: x + 1, lambda x: x * 10, str]))
    assert out == [(i, str((i + 1) * 10)) for i in range(6)]


def test_a_failing_item_skips_the_later_stages_and_the_others_go_on() -> None:
    seen: list[int] = []

    def middle(x: int) -> int:
        if x == 2:
            raise ValueError("bad item 2")
        return x

    def last(x: int) -> int:
        seen.append(x)
        return x

    out = dict(pipelined(range(4), [lambda x: x, middle, last]))
    assert isinstance(out[2], ValueError) and "bad item 2" in str(out[2])
    assert [out[i] for i in (0, 1, 3)] == [0, 1, 3]
    assert seen == [0, 1, 3]


def test_stages_overlap_on_their_own_threads() -> None:
    """While the middle (GPU) stage works on item k, item k+1 is prepared and item k-1 is
    interpreted: the middle stage's thread never waits for the other two."""
    events: list[tuple[str, int]] = []
    lock = threading.Lock()

    def stage(name: str, seconds: float):  # type: ignore[no-untyped-def]
        def run(x: int) -> int:
            with lock:
                events.append((f"{name} start", x))
            time.sleep(seconds)
            with lock:
                events.append((f"{name} end", x))
            return x
        return run

    list(pipelined(range(3), [stage("prepare", 0.05), stage("infer", 0.4),
                              stage("interpret", 0.15)]))
    # Item 1 was prepared, and item 0 interpreted, while item 1's inference had not begun or
    # item 0's had just ended: each happened before the middle stage finished the next item.
    assert events.index(("prepare end", 1)) < events.index(("infer end", 0))
    assert events.index(("interpret end", 0)) < events.index(("infer end", 1))
    assert events.index(("infer start", 1)) < events.index(("interpret end", 0))


def test_a_failing_source_is_raised_after_the_items_before_it() -> None:
    def source() -> Iterator[int]:
        yield 1
        yield 2
        raise OSError("queue went away")

    got = []
    with pytest.raises(OSError, match="queue went away"):
        for item, out in pipelined(source(), [lambda x: x * 2]):
            got.append((item, out))
    assert got == [(1, 2), (2, 4)]


def test_a_consumer_that_stops_early_releases_the_threads() -> None:
    def stage_threads() -> list[threading.Thread]:
        return [t for t in threading.enumerate() if t.name.startswith("early-")]

    results = pipelined(range(1000), [lambda x: x, lambda x: x], name="early")
    assert next(results) == (0, 0)
    assert len(stage_threads()) == 2
    results.close()
    deadline = time.monotonic() + 5
    while stage_threads() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert stage_threads() == []
