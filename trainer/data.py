"""Labelled receipts for training and evaluation: from a folder or from reviewed receipts."""

from __future__ import annotations

import io
import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from PIL import Image

from shared.engines.ocr.lines import OcrLine
from shared.evaluation import load_labelled_folder
from shared.storage import Storage

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


@dataclass(frozen=True)
class Labelled:
    """One receipt with its true values; the image is decoded only when used."""

    name: str
    label: dict[str, str]
    path: Path | None = None
    data: bytes | None = None
    # The OCR lines a worker already read from this receipt, when it went through `ocr`.
    lines: tuple[OcrLine, ...] | None = None

    def image(self) -> Image.Image:
        source = self.path if self.path is not None else io.BytesIO(self.data or b"")
        with Image.open(source) as img:
            return img.convert("RGB")


def from_folder(root: Path) -> list[Labelled]:
    return [Labelled(ex.name, ex.label, path=ex.image_path) for ex in load_labelled_folder(root)]


def from_corrections(session: Session, storage: Storage,
                     receipt_ids: Sequence[int] | None = None) -> list[Labelled]:
    """Receipts a reviewer has corrected; fields they left alone keep the extracted value,
    which the reviewer thereby accepted."""
    # Imported here: training from a folder (e.g. on a bare GPU box) needs no database stack.
    from shared.results import final_values
    from shared.review import ocr_lines, reviewed_receipts

    examples = []
    for receipt in reviewed_receipts(session, list(receipt_ids or [])):
        if receipt.storage_key is None:
            continue
        names = [f["name"] for f in receipt.batch.fields]
        lines = ocr_lines(receipt)
        examples.append(Labelled(
            name=f"receipt-{receipt.id}", label=final_values(receipt, names),
            data=storage.get(receipt.storage_key),
            lines=tuple(OcrLine.from_json(ln) for ln in lines) if lines else None,
        ))
    return examples


def split(examples: Sequence[Labelled], held_out: float, seed: int = 0
          ) -> tuple[list[Labelled], list[Labelled]]:
    """A seeded shuffle, then the last ``held_out`` fraction (at least one) is held out."""
    items = list(examples)
    random.Random(seed).shuffle(items)
    n_eval = max(1, round(len(items) * held_out)) if len(items) > 1 else 0
    return items[: len(items) - n_eval], items[len(items) - n_eval:]
