"""InternVL: a QLoRA adapter (``trainer/qlora.py``)."""

from __future__ import annotations

import gc
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from shared.config import Settings
from shared.engines.base import Engine
from shared.fields import FieldSpec
from trainer.data import Labelled
from trainer.qlora import TrainParams, fit
from trainer.recipes import Progress


class InternVLRecipe:
    engine = "internvl"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def base_model(self, params: dict[str, Any]) -> str:
        return str(params.get("model") or self.settings.internvl_model)

    def fit(self, train_set: Sequence[Labelled], fields: Sequence[FieldSpec],
            params: dict[str, Any], out_dir: Path, progress: Progress) -> dict[str, Any]:
        # Tiled as the serving engine tiles, unless the run says otherwise.
        tiles = {"max_tiles": self.settings.internvl_max_tiles,
                 "document_tiles": self.settings.internvl_document_tiles}
        result = fit(self.base_model(params), train_set, fields,
                     TrainParams.from_dict({**tiles, **params}), out_dir,
                     device=self.settings.internvl_device, progress=progress)
        gc.collect()  # free the training model before the evaluation engine loads
        return {"samples_per_s": round(result.samples_per_s, 3),
                "seconds": round(result.seconds, 1), "final_loss": result.losses[-1],
                "peak_memory_gb": result.peak_memory_gb}

    def serving_engine(self, fields: Sequence[FieldSpec], params: dict[str, Any]) -> Engine:
        from shared.engines.internvl.engine import InternVLEngine

        return InternVLEngine(fields, self.settings.model_copy(
            update={"internvl_model": self.base_model(params)}))
