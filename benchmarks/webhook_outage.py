"""Webhooks through a receiver outage: every event still arrives, signed.

Starts a PostgreSQL cluster and a Redis server of its own, the real `receiptflow web` and a
`receiptflow worker`, and a receiver (``webhook_receiver.py``) on a loopback port. Registers a
webhook for receipt.done, receipt.failed and batch.finished, uploads ``--receipts`` receipts
(SROIE dev receipts as digital PDFs, their ground-truth text as the text layer: no OCR, so the
run is quick) in batches of 50, stops the receiver once ``--stop-after`` events have arrived,
keeps it down for ``--outage-s`` seconds while the rest are processed, starts it again, and
waits until every delivery is delivered. Counts: events expected (one per receipt and batch),
received (distinct event ids), lost, repeated, and signatures that fail to verify.

    python benchmarks/webhook_outage.py --out benchmarks/results/webhook-outage.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

import document_forms  # noqa: E402
from faults.harness import Product, cluster  # noqa: E402
from webhook_receiver import Receiver, free_port  # noqa: E402

from shared.webhooks import signing  # noqa: E402

DATA = Path(os.environ.get("RECEIPTFLOW_SROIE_DEV") or HERE.parents[1] / "shared/data/sroie-dev")
KINDS = ["receipt.done", "receipt.failed", "batch.finished"]


def receipts(n: int) -> list[tuple[str, bytes]]:
    stems = sorted(p.stem for p in (DATA / "ocr").glob("*.json"))
    out = []
    for i in range(n):
        stem = stems[i % len(stems)]
        lines = [{"box": ln["box"], "text": ln["text"]}
                 for ln in json.loads((DATA / "ocr" / f"{stem}.json").read_text())]
        width = int(max(ln["box"][2] for ln in lines)) + 20
        height = int(max(ln["box"][3] for ln in lines)) + 20
        out.append((f"{i:04d}-{stem}.pdf", document_forms.digital_pdf([((width, height),
                                                                        lines)])))
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--receipts", type=int, default=200)
    p.add_argument("--outage-s", type=float, default=60)
    p.add_argument("--stop-after", type=int, default=20, help="events received before the stop")
    p.add_argument("--out", type=Path)
    args = p.parse_args(argv)
    files = receipts(args.receipts)
    receiver = Receiver(free_port())
    receiver.start()
    root = Path(tempfile.mkdtemp(prefix="receiptflow-webhooks-"))
    with cluster(root) as (pg, rd):
        product = Product(root / "product", pg.url, rd.url, {
            "RECEIPTFLOW_WEBHOOK_ALLOW_PRIVATE": "true",
            "RECEIPTFLOW_WEBHOOK_RETRY_CAP_S": "20",
            "RECEIPTFLOW_RECONCILE_INTERVAL_S": "5"})
        product.setup()
        product.start_web()
        product.start_worker(concurrency=2)
        http = product.session()
        try:
            hook = http.post(f"{product.url}/api/v1/webhooks",
                             json={"url": receiver.url, "events": KINDS}, timeout=30).json()
            started = time.monotonic()
            batch_ids = []
            for start in range(0, len(files), 50):
                chunk = files[start:start + 50]
                resp = http.post(f"{product.url}/api/v1/batches", timeout=300, files=[
                    ("files", (name, data, "application/pdf")) for name, data in chunk])
                resp.raise_for_status()
                batch_ids.append(resp.json()["id"])
            while len(receiver.requests) < args.stop_after:
                time.sleep(0.05)
            receiver.stop()
            stopped_at = time.monotonic() - started
            print(f"receiver stopped at {stopped_at:.1f} s, {len(receiver.requests)} events in")
            time.sleep(args.outage_s)
            finished = [http.get(f"{product.url}/api/v1/batches/{b}", timeout=30).json()
                        ["finished"] for b in batch_ids]
            receiver.start()
            print(f"receiver back at {time.monotonic() - started:.1f} s; batches finished "
                  f"during the outage: {sum(finished)} of {len(finished)}")
            deadline = time.monotonic() + 900
            expected = args.receipts + len(batch_ids)
            while time.monotonic() < deadline:
                if len({e["id"] for e in receiver.events()}) >= expected:
                    break
                time.sleep(0.5)
            caught_up = time.monotonic() - started
            log = http.get(f"{product.url}/api/v1/webhooks/{hook['id']}/deliveries",
                           params={"limit": 1000}, timeout=60).json()
        finally:
            product.stop()
            receiver.stop()
    events = receiver.events()
    ids = [e["id"] for e in events]
    bad = sum(not signing.verify(hook["secret"], h[signing.HEADER], body, tolerance_s=3600)
              for h, body in receiver.requests)
    result = {
        "receipts": args.receipts, "batches": len(batch_ids), "events_expected": expected,
        "events_received": len(set(ids)), "lost": expected - len(set(ids)),
        "repeated": len(ids) - len(set(ids)), "bad_signatures": bad,
        "outage_s": args.outage_s, "receiver_stopped_at_s": round(stopped_at, 1),
        "all_delivered_at_s": round(caught_up, 1),
        "deliveries": {s: sum(d["status"] == s for d in log)
                       for s in ("pending", "delivered", "failed")},
        "attempts": sum(d["attempts"] for d in log),
        "by_type": {k: sum(e["type"] == k for e in {e["id"]: e for e in events}.values())
                    for k in KINDS},
        "machine": f"{platform.node()} ({os.cpu_count()} cores)",
        "date": time.strftime("%Y-%m-%d"),
    }
    print(json.dumps(result, indent=1))
    if args.out:
        args.out.write_text(json.dumps(result, indent=1) + "\n")
    return 0 if result["lost"] == 0 and not bad else 1


if __name__ == "__main__":
    raise SystemExit(main())
