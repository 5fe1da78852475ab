"""rapidocr's character error rate against the SROIE ground-truth text, for reader settings.

For each receipt, the engine's lines (as ``read_page`` reads them: turned upright, small pages
enlarged, look-alike digits in words respelled, as served) and the set's ``ocr/`` lines are each
grouped into rows and joined in reading order, upper case (as the ground truth is written). CER
is the Levenshtein distance over the ground truth's length, summed over receipts (so long
receipts weigh more). Also the word recall: the share of ground-truth words OCR read exactly.
Each ``--variant NAME:key=value,...`` reads the same receipts with those rapidocr settings.
``--cached`` scores the OCR cache (``ocr_cache.py``: default settings, no OCR run) as the engine
respells it (``spelling.py``), and as read with ``--no-respell``.

    python benchmarks/ocr_quality.py --limit 40 --variant default: \\
        --variant side960:Det.limit_side_len=960 --out benchmarks/results/ocr-quality.json
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import Counter
from pathlib import Path

from rapidfuzz.distance import Levenshtein
from tqdm import tqdm

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from ocr_cache import cached_lines  # noqa: E402

from shared.documents.images import decode  # noqa: E402
from shared.documents.lines import TextLine  # noqa: E402
from shared.documents.rows import group_rows  # noqa: E402
from shared.engines.ocr.engine import as_printed  # noqa: E402
from shared.engines.ocr.orientation import read_upright  # noqa: E402
from shared.engines.ocr.reader import LineReader  # noqa: E402

DATA = Path(os.environ.get("RECEIPTFLOW_SROIE_DEV") or HERE.parents[1] / "shared/data/sroie-dev")


def reading_order(lines: list[TextLine]) -> str:
    """The receipt's text row by row, upper case (SROIE's ground truth is all upper case),
    whitespace runs as one space."""
    rows = group_rows(lines)
    return "\n".join(" ".join(row.text.upper().split()) for row in rows)


def _value(text: str) -> object:
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return {"true": True, "false": False}.get(text.lower(), text)


def parse_variant(spec: str) -> tuple[str, dict[str, object]]:
    name, _, settings = spec.partition(":")
    params = dict(kv.split("=", 1) for kv in settings.split(",") if kv)
    return name, {k: _value(v) for k, v in params.items()}


def _lines(reader: LineReader | None, stem: str, respell: bool) -> list[TextLine]:
    """The receipt's lines as the engine reads them (``read_page``: upright, then
    ``as_printed``: a stamp dropped, respelled), by ``reader`` or from the OCR cache when it
    is None."""
    if reader is None:
        return cached_lines(DATA, stem, respell=respell)
    image = decode((DATA / "images" / f"{stem}.jpg").read_bytes(), 10**9).image
    lines = read_upright(reader, image).lines
    return as_printed(lines) if respell else lines


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--limit", type=int, default=40)
    p.add_argument("--offset", type=int, default=0)
    p.add_argument("--variant", action="append", default=[])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--cached", action="store_true", help="score the OCR cache, no OCR run")
    p.add_argument("--respell", action=argparse.BooleanOptionalAction, default=True)
    p.add_argument("--out", type=Path)
    args = p.parse_args(argv)
    stems = sorted(path.stem for path in (DATA / "ocr").glob("*.json"))
    stems = stems[args.offset:args.offset + args.limit]
    truth = {s: [TextLine(ln["text"], tuple(map(float, ln["box"])), 1.0)
                 for ln in json.loads((DATA / "ocr" / f"{s}.json").read_text())] for s in stems}
    results = []
    for spec in args.variant or ["default:"]:
        name, params = parse_variant(spec)
        reader = None if args.cached else LineReader(args.threads, params)
        errors = chars = 0
        words: Counter[str] = Counter()
        started = time.perf_counter()
        for stem in tqdm(stems, desc=name, unit="receipt"):
            got = reading_order(_lines(reader, stem, args.respell))
            want = reading_order(truth[stem])
            errors += Levenshtein.distance(got, want)
            chars += len(want)
            read = Counter(got.split())
            for word, n in Counter(want.split()).items():
                words["total"] += n
                words["read"] += min(n, read[word])
        seconds = time.perf_counter() - started
        row = {"variant": name, "params": params, "receipts": len(stems),
               "cached": args.cached, "respelled": args.respell,
               "cer": round(errors / max(1, chars), 4),
               "word_recall": round(words["read"] / max(1, words["total"]), 4),
               "receipts_per_s": round(len(stems) / seconds, 3)}
        results.append(row)
        print(json.dumps(row), flush=True)
    if args.out:
        args.out.write_text(json.dumps({"set": DATA.name, "results": results}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
