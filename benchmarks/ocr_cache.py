"""The OCR engine's text lines for a labelled set, read once and cached as JSON.

OCR takes about a second and a half per receipt on these 2 cores; field rules and the learned
extractor take milliseconds. The accuracy benchmarks read the lines from here, so rules can be
tuned in a tight loop. The cache holds OCR's own lines (the page turned upright first), for
the first page of each image; ``cached_lines`` respells them as the engine's ``read_page`` does
(``spelling.py``), so the benchmarks see what the engine serves and can measure the step.

    python benchmarks/ocr_cache.py /work/shared/data/wild-dev  # ~/.cache/receiptflow/ocr-wild-dev
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from tqdm import tqdm

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from shared.documents.lines import TextLine  # noqa: E402
from shared.engines.ocr.engine import as_printed  # noqa: E402

CACHE_ROOT = Path.home() / ".cache" / "receiptflow"


def cache_dir(data: Path) -> Path:
    return CACHE_ROOT / f"ocr-{data.name}"


def read_lines(image: Path, threads: int = 2) -> list[TextLine]:
    from shared.documents.images import decode
    from shared.engines.ocr.orientation import read_upright
    from shared.engines.ocr.reader import shared_reader

    return read_upright(shared_reader(threads), decode(image.read_bytes(), 10**9).image).lines


def cached_lines(data: Path, stem: str, threads: int = 2, respell: bool = True
                 ) -> list[TextLine]:
    """The receipt's OCR lines, from the cache (read and stored on first use); as the engine's
    ``read_page`` gives them (``as_printed``: a stamp dropped, respelled) unless ``respell`` is
    False."""
    path = cache_dir(data) / f"{stem}.json"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        lines = read_lines(data / "images" / f"{stem}.jpg", threads)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps([ln.to_json() for ln in lines]))
        tmp.replace(path)  # never a half-written cache file
    lines = [TextLine.from_json(ln) for ln in json.loads(path.read_text())]
    return as_printed(lines) if respell else lines


def truth_lines(data: Path, stem: str) -> list[TextLine]:
    """The set's ground-truth text lines (``ocr/``, SROIE only): exact text, no OCR."""
    return [TextLine(ln["text"], tuple(map(float, ln["box"])), 1.0)
            for ln in json.loads((data / "ocr" / f"{stem}.json").read_text())]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("data", type=Path)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--shard", default="0/1",
                   help="K/N with 0 <= K < N: every N-th receipt from the K-th (0/2 and 1/2 "
                        "on two processes)")
    args = p.parse_args(argv)
    k, n = map(int, args.shard.split("/"))
    if not 0 <= k < n:
        p.error(f"--shard {args.shard}: K counts from 0, so it must be below N")
    stems = sorted(path.stem for path in (args.data / "labels").glob("*.json"))[k::n]
    for stem in tqdm(stems, unit="receipt"):
        cached_lines(args.data, stem, args.threads)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
