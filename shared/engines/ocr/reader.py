"""Text lines from rapidocr. Its wheel ships the ONNX detection/recognition models: no download."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np
from PIL import Image

from shared.documents.lines import TextLine

# A line OCR read with a certainty in this range is read once more from crops grown around its
# box: a box cut tight on the letters loses their tops and tails, and the recogniser guesses
# (sroie-245: "NO ESN A AEN U5" at 0.47; from a crop grown by 15% of its height, "ND 2, JALAN
# BULAN BM U5/BM, SEKSYEN U5," at 0.96). Below it is a speck rather than a line.
UNSURE = (0.3, 0.75)
# How far each crop grows: across the line and along it, in shares of the line's height.
GROW = ((0.15, 0.3), (0.3, 0.5))
MARGIN = 0.1  # a new read replaces the first only when this much surer


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
        if det.boxes is not None and rec.txts is not None:
            self._reread_unsure(prepared, det.boxes, rec)
        out = ocr.build_final_output(original, det, cls, rec, crops, record)
        if out.boxes is None or out.txts is None:
            return PageText([], [], [], 0.0)
        labels = [label for label, _score in (cls.cls_res if cls.cls_res is not None else [])]
        flipped = sum(label == "180" for label in labels) / len(labels) if labels else 0.0
        return PageText([q.tolist() for q in out.boxes], list(out.txts),
                        [float(s) for s in out.scores], flipped)

    def _reread_unsure(self, image: np.ndarray, boxes: np.ndarray, rec: Any) -> None:
        """Each unsure line (``UNSURE``) read again from crops grown around its box
        (``GROW``); the surest read replaces the first where it is ``MARGIN`` surer."""
        from rapidocr.utils.process_img import get_rotate_crop_image

        unsure = [i for i, score in enumerate(rec.scores) if UNSURE[0] <= score < UNSURE[1]]
        if not unsure:
            return
        crops = [get_rotate_crop_image(image, _grown(boxes[i], across, along))
                 for i in unsure for across, along in GROW]
        turned, _ = self._ocr.cls_and_rotate(crops)
        again = self._ocr.recognize_txt(turned)
        txts, scores = list(rec.txts), [float(s) for s in rec.scores]
        n = len(GROW)  # each unsure line's reads, in ``crops`` order
        for k, i in enumerate(unsure):
            text, score = max(zip(again.txts[k * n:(k + 1) * n], again.scores[k * n:(k + 1) * n],
                                  strict=True), key=lambda read: read[1])
            if text.strip() and score >= scores[i] + MARGIN:
                txts[i], scores[i] = text, float(score)
        rec.txts, rec.scores = tuple(txts), scores


def _grown(box: np.ndarray, across: float, along: float) -> np.ndarray:
    """A line's four corners moved outwards along its own axes: by ``across`` of its height
    above and below, ``along`` of its height before and after."""
    corners = np.asarray(box, dtype=np.float32)
    width = float(np.linalg.norm(corners[1] - corners[0]))
    height = float(np.linalg.norm(corners[3] - corners[0]))
    ux = (corners[1] - corners[0]) / max(width, 1e-6)
    uy = (corners[3] - corners[0]) / max(height, 1e-6)
    dx, dy = ux * height * along, uy * height * across
    return np.array([corners[0] - dx - dy, corners[1] + dx - dy, corners[2] + dx + dy,
                     corners[3] - dx + dy], dtype=np.float32)


@dataclass
class PageText:
    quads: list[list[list[float]]]  # four corners of each line, in the image's pixels
    texts: list[str]
    scores: list[float]
    flipped: float  # share of lines the direction classifier found upside down

    def lines(self) -> list[TextLine]:
        return [TextLine.from_quad(q, t, s)
                for q, t, s in zip(self.quads, self.texts, self.scores, strict=True)]
