"""The served model and its active LoRA adapter, switchable while the worker runs.

Two ways to serve an adapter:
- merged (bf16/fp32, the default): a fresh base is loaded and the adapter folded into its
  weights (``merge_and_unload``), so serving costs nothing extra. A switch reloads the base
  rather than unmerging, because unmerging in bf16 does not restore the weights exactly and
  errors would pile up over many switches.
- unmerged (4-bit bases, where folding into NF4 weights loses precision): peft's adapter
  modules run beside the quantized layers; a switch loads the new adapter and drops the old one.

A new adapter is checked (config and weights readable) before the served model is touched, so a
missing or corrupt file leaves the previous adapter serving.
"""

from __future__ import annotations

import gc
import logging
from pathlib import Path
from typing import Any

from shared.engines.internvl.loading import LoadSpec, load_model

log = logging.getLogger(__name__)


class AdapterError(RuntimeError):
    """The adapter cannot be used; the message says why. The previous one keeps serving."""


def check_adapter(folder: Path) -> None:
    from peft import PeftConfig
    from peft.utils import load_peft_weights

    try:
        PeftConfig.from_pretrained(str(folder))
        weights = load_peft_weights(str(folder), device="cpu")
    except Exception as exc:
        raise AdapterError(f"adapter at {folder} is missing or corrupt: {exc}") from exc
    if not weights:
        raise AdapterError(f"adapter at {folder} holds no weights")


class AdapterSlot:
    def __init__(self, spec: LoadSpec, merge: bool) -> None:
        self.spec = spec
        self.merge = merge and spec.precision != "4bit"
        self.model: Any = load_model(spec)
        self.version_id: int | None = None

    def activate(self, version_id: int | None, folder: Path | None) -> None:
        if version_id == self.version_id:
            return
        if folder is not None:
            check_adapter(folder)
        try:
            if self.merge:
                self._activate_merged(folder)
            else:
                self._activate_unmerged(version_id, folder)
        except AdapterError:
            raise
        except Exception as exc:
            raise AdapterError(f"could not load adapter {version_id}: {exc}") from exc
        log.info("serving model version %s", version_id)
        self.version_id = version_id

    def _activate_merged(self, folder: Path | None) -> None:
        from peft import PeftModel

        # Build the new model before dropping the old one, so a failure leaves it serving.
        base = load_model(self.spec)
        if folder is not None:
            base = PeftModel.from_pretrained(base, str(folder)).merge_and_unload()
        self._release()
        self.model = base.eval()

    def _activate_unmerged(self, version_id: int | None, folder: Path | None) -> None:
        from peft import PeftModel

        model = self.model
        old = model.active_adapter if isinstance(model, PeftModel) else None
        if folder is None:
            if isinstance(model, PeftModel):
                self.model = model.unload()  # drop the adapter modules, keep the base weights
            return
        name = f"v{version_id}"
        if isinstance(model, PeftModel):
            model.load_adapter(str(folder), adapter_name=name)
            model.set_adapter(name)
            if old and old != name:
                model.delete_adapter(old)
        else:
            self.model = PeftModel.from_pretrained(model, str(folder), adapter_name=name)
        self.model.eval()

    def _release(self) -> None:
        import torch

        self.model = None
        gc.collect()
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
