"""Batches through a chain of stages, each on its own thread: prepare -> infer -> interpret.

A GPU sits idle whenever the thread that feeds it does CPU work: decoding and tiling the next
batch before it, parsing answers and writing rows after it. Running each stage on its own
thread, with at most one batch waiting between two stages, keeps the GPU stage busy while the
neighbouring stages work on the batches before and after it. (Their Python holds the GIL, but
the GPU stage mostly waits in CUDA calls that release it.)
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, TypeVar

T = TypeVar("T")

_END = object()


class _SourceFailed:
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


def pipelined(source: Iterable[T], stages: Sequence[Callable[[Any], Any]],
              name: str = "stage") -> Iterator[tuple[T, Any]]:
    """``(item, output)`` for every item of ``source``, in order, where ``output`` is
    ``stages[-1](...stages[0](item))`` or the exception that stopped the item (the later stages
    skip it; the other items go on). ``source`` is iterated on the first stage's thread, so it
    may block (a queue of incoming work). An exception raised by ``source`` itself is raised
    here after the items before it."""
    if not stages:
        raise ValueError("a pipeline needs at least one stage")
    stop = threading.Event()
    queues: list[queue.Queue[Any]] = [queue.Queue(maxsize=1) for _ in stages]

    def put(q: queue.Queue[Any], entry: Any) -> bool:
        while not stop.is_set():
            try:
                q.put(entry, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def get(q: queue.Queue[Any]) -> Iterator[Any]:
        while not stop.is_set():
            try:
                entry = q.get(timeout=0.1)
            except queue.Empty:
                continue
            if entry is _END:
                return
            yield entry

    def run(index: int) -> None:
        stage, out = stages[index], queues[index]
        inbox = _guarded(source) if index == 0 else get(queues[index - 1])
        for entry in inbox:
            if isinstance(entry, _SourceFailed):
                put(out, entry)
                break
            item, value = entry
            if not isinstance(value, BaseException):
                try:
                    value = stage(value)
                except BaseException as exc:  # the item fails alone; the caller decides
                    value = exc
            if not put(out, (item, value)):
                return
        put(out, _END)

    threads = [threading.Thread(target=run, args=(i,), name=f"{name}-{i}", daemon=True)
               for i in range(len(stages))]
    for thread in threads:
        thread.start()
    try:
        while (entry := queues[-1].get()) is not _END:
            if isinstance(entry, _SourceFailed):
                raise entry.exc
            yield entry
    finally:
        stop.set()  # a consumer that stopped early releases the stage threads


def _guarded(source: Iterable[T]) -> Iterator[tuple[T, T] | _SourceFailed]:
    """The source's items as ``(item, first stage's input)``; a failing source ends it."""
    try:
        for item in source:
            yield item, item
    except Exception as exc:  # not GeneratorExit: a pipeline closed early just stops
        yield _SourceFailed(exc)
