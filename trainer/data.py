"""Labelled receipts for training and evaluation: from a folder or from reviewed receipts."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from PIL import Image

from shared.config import get_settings
from shared.documents import Document, Page, read_document
from shared.documents.images import decode
from shared.documents.layout import stack_images
from shared.documents.lines import TextLine
from shared.evaluation import load_labelled_folder
from shared.storage import Storage

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


@dataclass(frozen=True)
class Labelled:
    """One receipt with its true values; its pages are decoded only when used."""

    name: str
    # Text fields' values; a table field's rows (column -> text) when the label has them.
    label: dict[str, object]
    path: Path | None = None  # a file in a labelled folder: a photo, scan or PDF
    pages: tuple[bytes, ...] = ()  # a reviewed receipt's stored page images
    # The lines a worker already read from this receipt (its pages one under the other).
    lines: tuple[TextLine, ...] | None = None

    def document(self) -> Document:
        if self.path is not None:
            return read_document(self.path.read_bytes(), get_settings().document_limits)
        return Document("", [Page(n, decode(data, get_settings().max_image_pixels).image)
                             for n, data in enumerate(self.pages, start=1)])

    def image(self) -> Image.Image:
        """The receipt as one image: its pages one under the other, as the engines see it."""
        return stack_images([page.image for page in self.document().pages])


def from_folder(root: Path) -> list[Labelled]:
    return [Labelled(ex.name, ex.label, path=ex.image_path) for ex in load_labelled_folder(root)]


def from_corrections(session: Session, storage: Storage,
                     receipt_ids: Sequence[int] | None = None) -> list[Labelled]:
    """Receipts a reviewer has corrected; fields they left alone keep the extracted value,
    which the reviewer thereby accepted."""
    # Imported here: training from a folder (e.g. on a bare GPU box) needs no database stack.
    from shared.results import final_items, final_values
    from shared.review import reviewed_receipts, stacked_lines

    examples = []
    for receipt in reviewed_receipts(session, list(receipt_ids or [])):
        if not receipt.pages:
            continue
        specs = receipt.batch.fields
        label: dict[str, object] = dict(final_values(
            receipt, [f["name"] for f in specs if f.get("kind") != "items"]))
        label.update({f["name"]: final_items(receipt, f["name"])
                      for f in specs if f.get("kind") == "items"})
        lines = stacked_lines(receipt)
        examples.append(Labelled(
            name=f"receipt-{receipt.id}", label=label,
            pages=tuple(storage.get(p.storage_key) for p in receipt.pages),
            lines=tuple(TextLine.from_json(ln) for ln in lines) if lines else None,
        ))
    return examples


def split(examples: Sequence[Labelled], held_out: float, seed: int = 0
          ) -> tuple[list[Labelled], list[Labelled]]:
    """A seeded shuffle, then the last ``held_out`` fraction (at least one) is held out."""
    items = list(examples)
    random.Random(seed).shuffle(items)
    n_eval = max(1, round(len(items) * held_out)) if len(items) > 1 else 0
    return items[: len(items) - n_eval], items[len(items) - n_eval:]
