"""The OCR engine on receipts as people have them: each SROIE dev receipt as a JPEG (as given),
a scanned PDF, a digital PDF (its ground-truth lines as text), a two-page PDF (cut in two: the
total on page 2), HEIC, and turned 90/180/270 degrees. Mean score and receipts/s per form.

Every form goes through what the product runs: ``shared.documents.read_document`` (the upload
path: PDF rendering, text layer, HEIC decoding, EXIF) and ``OcrEngine.extract`` (text layer or
OCR, pages turned upright, pages stacked). Forms are built in memory from
``../shared/data/sroie-dev`` (``document_forms.py``); nothing of the set is written.

    python benchmarks/document_formats.py --limit 100 --out benchmarks/results/documents-cpu.json
    python benchmarks/document_formats.py --forms jpeg,digital-pdf --limit 20
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path

from PIL import Image

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

import document_forms as forms  # noqa: E402

from shared.config import get_settings  # noqa: E402
from shared.documents import read_document  # noqa: E402
from shared.fields import SROIE_FIELDS  # noqa: E402
from shared.scoring import ScoreBoard  # noqa: E402

DATA = Path(os.environ.get("RECEIPTFLOW_SROIE_DEV") or HERE.parents[1] / "shared/data/sroie-dev")


def _load(stem: str) -> tuple[bytes, Image.Image, list[dict]]:
    data = (DATA / "images" / f"{stem}.jpg").read_bytes()
    lines = json.loads((DATA / "ocr" / f"{stem}.json").read_text())
    return data, Image.open(DATA / "images" / f"{stem}.jpg").convert("RGB"), lines


def _two_page(image: Image.Image, lines: list[dict]) -> bytes:
    pages, _ = forms.cut_in_two(image, lines)
    return forms.scanned_pdf(pages)


FORMS: dict[str, Callable[[bytes, Image.Image, list[dict]], bytes]] = {
    "jpeg": lambda data, image, lines: data,
    "scanned-pdf": lambda data, image, lines: forms.scanned_pdf([image]),
    "digital-pdf": lambda data, image, lines: forms.digital_pdf([(image.size, lines)]),
    "two-page-pdf": lambda data, image, lines: _two_page(image, lines),
    "heic": lambda data, image, lines: forms.heic(image),
    "turned-90": lambda data, image, lines: forms.jpeg(forms.turned(image, 90)),
    "turned-180": lambda data, image, lines: forms.jpeg(forms.turned(image, 180)),
    "turned-270": lambda data, image, lines: forms.jpeg(forms.turned(image, 270)),
    "tilted-4": lambda data, image, lines: forms.jpeg(forms.turned(image, 4)),
}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--forms", default=",".join(FORMS), help="comma-separated: " + ", ".join(FORMS))
    p.add_argument("--limit", type=int, default=0, help="first N receipts (0: all 436)")
    p.add_argument("--out", type=Path, default=None)
    args = p.parse_args(argv)

    from shared.engines.ocr.engine import OcrEngine

    stems = sorted(path.stem for path in (DATA / "labels").glob("*.json")
                   if (DATA / "ocr" / path.name).exists())[: args.limit or None]
    if not stems:
        raise SystemExit(f"no labelled receipts in {DATA} (set RECEIPTFLOW_SROIE_DEV)")
    chosen = args.forms.split(",")
    engine = OcrEngine(SROIE_FIELDS)
    limits = get_settings().document_limits
    boards = {name: ScoreBoard() for name in chosen}
    seconds = dict.fromkeys(chosen, 0.0)
    sources: dict[str, dict[str, int]] = {name: {} for name in chosen}
    started = time.time()
    for n, stem in enumerate(stems, 1):
        label = json.loads((DATA / "labels" / f"{stem}.json").read_text())
        data, image, lines = _load(stem)
        for name in chosen:
            made = FORMS[name](data, image, lines)
            t0 = time.perf_counter()  # what a receipt costs from its bytes on: read + extract
            document = read_document(made, limits)
            result = engine.extract([document])[0]
            seconds[name] += time.perf_counter() - t0
            boards[name].add(label, result.values())
            for page in result.pages:
                turned = [t["op"] for t in page.transforms if t["op"] in ("rotate", "deskew")]
                key = page.lines_source.split("-")[0] + ("+" + "+".join(turned) if turned else "")
                sources[name][key] = sources[name].get(key, 0) + 1
        if n % 20 == 0 or n == len(stems):
            print(f"[{n}/{len(stems)}] " + "  ".join(
                f"{name} {boards[name].mean:.2f}" for name in chosen), flush=True)

    rows = {name: {"mean": round(boards[name].mean, 2),
                   "fields": {k: round(v, 2) for k, v in boards[name].field_means().items()},
                   "receipts_per_s": round(boards[name].count / seconds[name], 3),
                   "pages_read_by": sources[name]}
            for name in chosen}
    print(f"\n{'form':<14} {'mean':>6} {'receipts/s':>11}  company/date/address/total")
    for name, row in rows.items():
        f = row["fields"]
        print(f"{name:<14} {row['mean']:6.2f} {row['receipts_per_s']:11.3f}  "
              f"{f['company']:.1f} / {f['date']:.1f} / {f['address']:.1f} / {f['total']:.1f}")
    if args.out:
        args.out.write_text(json.dumps({
            "machine": platform.node(), "cpus": os.cpu_count(), "receipts": len(stems),
            "seconds": round(time.time() - started), "pdf_dpi": limits.pdf_dpi,
            "ocr_threads": get_settings().ocr_threads, "forms": rows}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
