"""Every review teaches the served version at once, not at the next training run.

A learned version's vendor memory (``shared/engines/ocr/vendors.py``) knows the sellers of the
corrections it was trained on. Reviews made since name more sellers and more misreads of them:
without them, a seller's tenth receipt after a training run is read as wrongly as its first.
Between batches, when the reviews changed (looked at every ``review_memory_check_s``), the
worker gives its engine every reviewed receipt the served version was not trained on: their
values as reviewed and their text lines. Reviews replace the ones given before, so an edited
review is used as edited.

One query per check (count and last id of the corrections); when they changed, only the
receipts with new corrections are read (an edited review replaces the receipt's earlier one),
and all of them only for a new version or after reviews were deleted. The memory is then built
again from all of them (0.17 s for 730 reviewed receipts, 0.95 s for 2,920 on this project's
2-core machine), so a worker waits at least ``REBUILD_SHARE`` times as long as the last build
before the next: never more than a tenth of its time goes to it.
"""

from __future__ import annotations

import logging
import time
import weakref
from collections.abc import Mapping
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shared.config import get_settings
from shared.db.models import Correction, ModelVersion, TrainingRun
from shared.db.session import session_scope
from shared.engines.base import Engine
from shared.results import final_values
from shared.review import reviewed_receipts, stacked_lines
from worker.throttle import PerEngine

log = logging.getLogger(__name__)
_checks = PerEngine()


@dataclass
class _Given:
    """What an engine was given: for which version, up to which correction, and each reviewed
    receipt's values and lines by receipt id (kept, so a new review reads one receipt)."""

    version: object
    corrections: int = 0
    last_id: int = 0
    receipts: dict[int, tuple[Mapping[str, object], list[str]]] = field(default_factory=dict)
    build_s: float = 0.0  # how long the engine took to learn them


# By engine, weakly, as the checks' times (``worker/throttle.py``).
_given: weakref.WeakKeyDictionary[Engine, _Given] = weakref.WeakKeyDictionary()
REBUILD_SHARE = 10


def sync_reviews(engine: Engine) -> None:
    """Give ``engine`` the reviews its served version was not trained on, if they changed.
    A failure (the database away) is logged and the engine serves what it had: reviews only
    improve a batch, they must not fail it."""
    if not engine.learns_from_reviews or engine.model_version is None:
        return
    every = get_settings().review_memory_check_s  # 0: before every batch (tests)
    given = _given.get(engine)
    wait = every and max(every, REBUILD_SHARE * (given.build_s if given else 0.0))
    if not _checks.due(engine, wait):
        return
    try:
        _sync(engine)
    except Exception:
        log.warning("engine %s: reviews not read this time; serving what it had", engine.name,
                    exc_info=True)


def _sync(engine: Engine) -> None:
    with session_scope() as session:
        count, last = session.execute(
            select(func.count(Correction.id), func.coalesce(func.max(Correction.id), 0))).one()
        given = _given.get(engine)
        if given is not None and given.version == engine.model_version and (
                given.corrections, given.last_id) == (count, last):
            return
        new = list(session.scalars(select(Correction.receipt_id).where(
            Correction.id > (given.last_id if given else 0))))
        if given is None or given.version != engine.model_version or \
                given.corrections + len(new) != count:  # a new version, or reviews deleted
            given = _Given(engine.model_version)
            new = None  # read them all
        given.receipts.update(reviews_since_training(session, engine, new))
    reviews = list(given.receipts.values())
    started = time.monotonic()
    engine.learn_reviews([label for label, _ in reviews], [texts for _, texts in reviews])
    # Counted as given only once learned: a failed build is tried again at the next check.
    given.build_s = time.monotonic() - started
    given.corrections, given.last_id = count, last
    _given[engine] = given
    log.info("engine %s version %s: %d reviewed receipts beside its training",
             engine.name, engine.model_version, len(reviews))


def reviews_since_training(session: Session, engine: Engine, receipt_ids: list[int] | None
                           ) -> dict[int, tuple[Mapping[str, object], list[str]]]:
    """The reviewed receipts (of ``receipt_ids``, or all) that the engine's served version
    did not learn from: their values as reviewed (the engine's text fields) and their lines'
    text, by receipt id."""
    if receipt_ids == []:
        return {}
    trained_on = _trained_on(session, engine.model_version)
    names = [f.name for f in engine.fields if not f.is_table]
    return {receipt.id: (final_values(receipt, names),
                         [str(ln.get("text", "")) for ln in stacked_lines(receipt)])
            for receipt in reviewed_receipts(session, receipt_ids)
            if f"receipt-{receipt.id}" not in trained_on}


def _trained_on(session: Session, version_id: object) -> set[str]:
    """The names of the receipts the version was trained on (``trainer/run.py`` records
    them as ``receipt-<id>``)."""
    if not isinstance(version_id, int):
        return set()
    version = session.get(ModelVersion, version_id)
    run = session.get(TrainingRun, version.training_run_id) if version and \
        version.training_run_id else None
    return set(run.dataset.get("train") or ()) if run is not None else set()
