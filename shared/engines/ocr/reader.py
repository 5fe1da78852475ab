"""Text lines from rapidocr. Its wheel ships the ONNX detection/recognition models: no download."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
from PIL import Image

from shared.documents.lines import TextLine


@cache
def shared_reader(threads: int) -> LineReader:
    """One reader (two ONNX sessions) per process, whoever in it needs lines."""
    return LineReader(threads)


class LineReader:
    def __init__(self, threads: int = -1, params: dict[str, object] | None = None) -> None:
        """``params``: rapidocr settings over its defaults (``benchmarks/ocr_quality.py``
        measures some against the SROIE ground-truth text)."""
        from rapidocr import RapidOCR  # heavy import, deferred until an engine is built

        self._ocr = RapidOCR(
            params={
                "Global.log_level": "error",
                "EngineConfig.onnxruntime.intra_op_num_threads": threads,
                **(params or {}),
            }
        )

    def read(self, image: Image.Image) -> list[TextLine]:
        return self.read_page(image).lines()

    def read_page(self, image: Image.Image) -> PageText:
        """Lines as quadrilaterals, plus rapidocr's text-direction votes: its classifier turns
        each line crop the right way up before recognition, so the text reads right in any
        orientation; the votes say which way the page itself is turned."""
        ocr = self._ocr
        original = ocr.load_img(np.asarray(image.convert("RGB"))[:, :, ::-1])  # BGR, as OpenCV
        prepared, record = ocr.preprocess_img(original)
        det, cls, rec, crops = ocr.run_ocr_steps(prepared, record)
        out = ocr.build_final_output(original, det, cls, rec, crops, record)
        if out.boxes is None or out.txts is None:
            return PageText([], [], [], 0.0)
        labels = [label for label, _score in (cls.cls_res if cls.cls_res is not None else [])]
        flipped = sum(label == "180" for label in labels) / len(labels) if labels else 0.0
        return PageText([q.tolist() for q in out.boxes], list(out.txts),
                        [float(s) for s in out.scores], flipped)


@dataclass
class PageText:
    quads: list[list[list[float]]]  # four corners of each line, in the image's pixels
    texts: list[str]
    scores: list[float]
    flipped: float  # share of lines the direction classifier found upside down

    def lines(self) -> list[TextLine]:
        return [TextLine.from_quad(q, t, s)
                for q, t, s in zip(self.quads, self.texts, self.scores, strict=True)]
