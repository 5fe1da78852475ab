"""Text lines from rapidocr. Its wheel ships the ONNX detection/recognition models: no download."""

from __future__ import annotations

from functools import cache

import numpy as np
from PIL import Image

from shared.engines.ocr.lines import OcrLine


@cache
def shared_reader(threads: int) -> LineReader:
    """One reader (two ONNX sessions) per process, whoever in it needs lines."""
    return LineReader(threads)


class LineReader:
    def __init__(self, threads: int = -1) -> None:
        from rapidocr import RapidOCR  # heavy import, deferred until an engine is built

        self._ocr = RapidOCR(
            params={
                "Global.log_level": "error",
                "EngineConfig.onnxruntime.intra_op_num_threads": threads,
            }
        )

    def read(self, image: Image.Image) -> list[OcrLine]:
        # rapidocr treats arrays as OpenCV's BGR.
        result = self._ocr(np.asarray(image.convert("RGB"))[:, :, ::-1])
        if result.boxes is None or result.txts is None:
            return []
        return [
            OcrLine.from_quad(quad.tolist(), text, score)
            for quad, text, score in zip(result.boxes, result.txts, result.scores, strict=True)
        ]
