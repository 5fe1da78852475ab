"""`receiptflow submit`: the API client side of a batch."""

from __future__ import annotations

import time
from pathlib import Path

import click
import requests
from tqdm import tqdm

from shared.evaluation import IMAGE_SUFFIXES


def collect(paths: list[Path]) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob("*")
                                if p.suffix.lower() in (*IMAGE_SUFFIXES, ".zip")))
        else:
            files.append(path)
    if not files:
        raise click.ClickException("no image or zip files found in the given paths")
    return files


def _check(resp: requests.Response) -> dict:
    if resp.status_code >= 400:
        try:
            message = resp.json().get("message", resp.text)
        except ValueError:
            message = resp.text
        raise click.ClickException(f"{resp.status_code}: {message}")
    return resp.json()


def submit_and_wait(paths: list[Path], *, url: str, name: str, engine: str | None, fmt: str,
                    timeout: float, token: str) -> str:
    api = url.rstrip("/") + "/api/v1"
    http = requests.Session()
    http.headers["Authorization"] = f"Bearer {token}"
    files = collect(paths)
    handles = [("files", (p.name, p.open("rb"))) for p in files]
    data = {"name": name} | ({"engine": engine} if engine else {})
    try:
        batch = _check(http.post(f"{api}/batches", files=handles, data=data, timeout=600))
    except requests.ConnectionError as exc:
        raise click.ClickException(f"cannot reach {url}: is `receiptflow up` running?") from exc
    finally:
        for _, (_, fh) in handles:
            fh.close()
    deadline = time.monotonic() + timeout
    with tqdm(total=batch["total"], unit="receipt", desc=f"batch {batch['id']}") as bar:
        while True:
            status = _check(http.get(f"{api}/batches/{batch['id']}", timeout=30))
            counts = status["counts"]
            bar.n = counts["done"] + counts["failed"]
            bar.set_postfix(failed=counts["failed"])
            bar.refresh()
            if status["finished"]:
                break
            if time.monotonic() > deadline:
                raise click.ClickException(f"batch {batch['id']} not finished after {timeout} s")
            time.sleep(1.0)
    resp = http.get(f"{api}/batches/{batch['id']}/export", params={"format": fmt}, timeout=60)
    if resp.status_code >= 400:
        _check(resp)
    return resp.text
