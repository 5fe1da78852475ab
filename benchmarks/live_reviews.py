"""Receipts read as a deployment whose reviewers keep up: each one by the learned version with
the reviews of those read before it (``LearnedExtractor.with_reviews``, as
``worker/review_memory.py`` gives them to a worker between batches)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence

from shared.documents.lines import TextLine
from shared.engines.base import FieldValue
from shared.engines.ocr.learned import LearnedExtractor
from shared.fields import FieldSpec


def read_in_order(learned: LearnedExtractor, stems: Sequence[str],
                  lines: Mapping[str, Sequence[TextLine]],
                  labels: Mapping[str, Mapping[str, object]], fields: Sequence[FieldSpec]
                  ) -> Iterator[tuple[str, dict[str, FieldValue]]]:
    reviewed: list[Mapping[str, object]] = []
    texts: list[list[str]] = []
    for stem in stems:
        yield stem, learned.with_reviews(reviewed, texts).extract(lines[stem], fields)
        reviewed.append(labels[stem])
        texts.append([ln.text for ln in lines[stem]])
