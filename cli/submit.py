"""`receiptflow submit`: the API client side of a batch."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
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


def _check(resp: requests.Response) -> requests.Response:
    if resp.status_code >= 400:
        try:
            message = resp.json().get("message", resp.text)
        except ValueError:
            message = resp.text
        raise click.ClickException(f"{resp.status_code}: {message}")
    return resp


# Answers that mean "not now": the server, its database or its broker is away for a moment.
RETRY_STATUSES = {502, 503, 504}


def _call(send: Callable[[], requests.Response], url: str,
          patience: float) -> requests.Response:
    """``send()`` until the server answers for real, for up to ``patience`` seconds: a dropped
    connection or a 503 is waited out, with the pause doubling up to 30 s."""
    deadline, pause = time.monotonic() + patience, 1.0
    while True:
        try:
            resp = send()
            if resp.status_code not in RETRY_STATUSES:
                return _check(resp)
            why = f"{resp.status_code}: {resp.text[:200]}"
        except requests.ConnectionError:
            why = f"cannot reach {url}: is `receiptflow up` running?"
        if time.monotonic() + pause > deadline:
            raise click.ClickException(why)
        click.echo(f"{why}; trying again in {pause:.0f} s", err=True)
        time.sleep(pause)
        pause = min(30.0, pause * 2)


def submit_and_wait(paths: list[Path], *, url: str, name: str, engine: str | None, fmt: str,
                    timeout: float, token: str, patience: float = 120) -> str:
    api = url.rstrip("/") + "/api/v1"
    http = requests.Session()
    http.headers["Authorization"] = f"Bearer {token}"
    files = collect(paths)
    data = {"name": name} | ({"engine": engine} if engine else {})
    # One key for every try of this upload: if an answer is lost, the retry returns the batch
    # the first try made instead of storing the receipts twice.
    key = {"Idempotency-Key": str(uuid.uuid4())}

    def upload() -> requests.Response:
        handles = [("files", (p.name, p.open("rb"))) for p in files]
        try:
            return http.post(f"{api}/batches", files=handles, data=data, headers=key,
                             timeout=600)
        finally:
            for _, (_, fh) in handles:
                fh.close()

    batch = _call(upload, url, patience).json()
    deadline = time.monotonic() + timeout
    with tqdm(total=batch["total"], unit="receipt", desc=f"batch {batch['id']}") as bar:
        while True:
            status = _call(lambda: http.get(f"{api}/batches/{batch['id']}", timeout=30), url,
                           patience).json()
            counts = status["counts"]
            bar.n = counts["done"] + counts["failed"]
            bar.set_postfix(failed=counts["failed"])
            bar.refresh()
            if status["finished"]:
                break
            if time.monotonic() > deadline:
                raise click.ClickException(f"batch {batch['id']} not finished after {timeout} s")
            time.sleep(1.0)
    export = f"{api}/batches/{batch['id']}/export"
    return _call(lambda: http.get(export, params={"format": fmt}, timeout=60), url,
                 patience).text
