"""The fault table: real servers killed mid-batch, then lost, duplicated and stranded receipts.

Starts a PostgreSQL cluster of its own (initdb on a temp dir, a free port) and a Redis server of
its own, then for each scenario a fresh database, `receiptflow web` and a `receiptflow worker`
(OCR engine, prefork, 2 processes) against them. See ``faults/scenarios.py`` for what each row
does and how it is counted. Goal: 0 lost, 0 duplicated, 0 stranded, 0 failed in every row.

    python benchmarks/fault_table.py                       # the full table (~25 min)
    python benchmarks/fault_table.py --only redis-kill9-empty,worker-kill9
    python benchmarks/fault_table.py --scale 0.2 --outage-scale 0.2   # the CI subset's size

Writes ``--out`` (JSON) and prints the table as Markdown for the README.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from faults.harness import cluster  # noqa: E402
from faults.scenarios import SUITE_ENV, Row, run, sample_images, table  # noqa: E402


def markdown(rows: list[Row]) -> str:
    out = ["| fault | receipts | done | failed | lost | duplicated | stranded | recovered in |",
           "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in rows:
        out.append(f"| {r.scenario} | {r.receipts} | {r.done} | {r.failed} | {r.lost} | "
                   f"{r.duplicated} | {r.stranded} | {r.recovery_s:.0f} s |")
    total = {k: sum(getattr(r, k) for r in rows)
             for k in ("receipts", "done", "failed", "lost", "duplicated", "stranded")}
    out.append(f"| **all** | {total['receipts']} | {total['done']} | {total['failed']} | "
               f"{total['lost']} | {total['duplicated']} | {total['stranded']} | |")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--only", default="", help="comma-separated scenario names")
    p.add_argument("--scale", type=float, default=1.0, help="multiply each row's receipts")
    p.add_argument("--outage-scale", type=float, default=1.0, help="multiply outage lengths")
    p.add_argument("--recovery", type=float, default=240, help="seconds to wait after a fault")
    p.add_argument("--out", type=Path, default=HERE / "results" / "fault-table.json")
    args = p.parse_args(argv)

    scenarios = table(args.scale, args.outage_scale)
    if args.only:
        wanted = set(args.only.split(","))
        scenarios = [s for s in scenarios if s.name in wanted]
    images = sample_images()
    rows: list[Row] = []
    started = time.time()
    # Read before the run: its processes import the tree as it is when each scenario starts.
    commit = subprocess.run(["git", "describe", "--always", "--dirty"], capture_output=True,
                            text=True, cwd=HERE.parent).stdout.strip()
    with tempfile.TemporaryDirectory(prefix="rf-faults-") as tmp, cluster(Path(tmp)) as (pg, rd):
        for scenario in scenarios:
            print(f"== {scenario.name}: {scenario.receipts} receipts", flush=True)
            row = run(scenario, pg, rd, Path(tmp), images, SUITE_ENV, args.recovery)
            rows.append(row)
            print(json.dumps(row.as_dict()), flush=True)
    report = {"commit": commit, "machine": platform.node(), "started": started,
              "seconds": round(time.time() - started), "settings": SUITE_ENV,
              "rows": [r.as_dict() for r in rows]}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(markdown(rows))
    bad = sum(r.lost + r.duplicated + r.stranded + r.failed for r in rows)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
