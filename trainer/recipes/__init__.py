"""How each engine learns: fit an artefact from labelled receipts, and build the engine that
serves it (for the held-out comparison). ``trainer/run.py`` does the rest the same way for all.

Recipes are looked up by engine name and imported lazily, so a CPU-only install (no torch)
can still train the OCR engine.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from importlib import import_module
from pathlib import Path
from typing import Any, Protocol

from shared.config import Settings
from shared.engines.base import Engine
from shared.fields import FieldSpec
from trainer.data import Labelled

# (step, total steps, loss); loss is None for recipes that have no loss curve.
Progress = Callable[[int, int, float | None], None]


class Recipe(Protocol):
    engine: str

    def fit(self, train_set: Sequence[Labelled], fields: Sequence[FieldSpec],
            params: dict[str, Any], out_dir: Path, progress: Progress) -> dict[str, Any]:
        """Write the trained artefact to ``out_dir``; return training statistics."""

    def base_model(self, params: dict[str, Any]) -> str: ...

    def serving_engine(self, fields: Sequence[FieldSpec], params: dict[str, Any]) -> Engine:
        """The engine as a worker builds it (untrained); versions are loaded onto it."""


_RECIPES = {"internvl": "trainer.recipes.internvl:InternVLRecipe",
            "ocr": "trainer.recipes.ocr:OcrRecipe"}


def recipe_for(engine: str, settings: Settings) -> Recipe:
    try:
        module, cls = _RECIPES[engine].split(":")
    except KeyError:
        raise ValueError(f"engine {engine!r} cannot be trained") from None
    return getattr(import_module(module), cls)(settings)
