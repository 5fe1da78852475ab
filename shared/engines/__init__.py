"""Engine registry: names map to classes imported only when first asked for.

Importing this package stays cheap (no rapidocr, no torch), so the web process can validate an
engine name without loading any model.
"""

from __future__ import annotations

from collections.abc import Sequence
from importlib import import_module
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from shared.engines.base import Engine
    from shared.fields import FieldSpec

# name -> "module:Class"
_REGISTRY: dict[str, str] = {
    "ocr": "shared.engines.ocr.engine:OcrEngine",
    "internvl": "shared.engines.internvl.engine:InternVLEngine",
}
ENGINE_NAMES = frozenset(_REGISTRY)


def engine_module(name: str) -> str:
    """The module holding the engine's class (imported only when the engine is built)."""
    return _REGISTRY[name].split(":")[0]


def engine_class(name: str) -> type[Engine]:
    try:
        target = _REGISTRY[name]
    except KeyError:
        raise ValueError(f"unknown engine {name!r}; choose one of {sorted(_REGISTRY)}") from None
    module, cls = target.split(":")
    return getattr(import_module(module), cls)


def build_engine(name: str, fields: Sequence[FieldSpec]) -> Engine:
    return engine_class(name)(fields)
