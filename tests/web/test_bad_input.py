"""Bad input is refused with a message a user can act on, and never spoils the rest of a batch.

One mixed batch carries a few good receipts and every kind of bad file (as plain uploads and as
zip members); one real worker processes it. Each bad file must end as a failed receipt with its
own message and nothing half-written (no stored file, no job, no extraction), while the good
receipts of the same batch are extracted. Request-level rejections (no files, unknown engine,
zip bombs past the request budget, over-large requests, unknown ids, malformed corrections)
need no worker: each gives a JSON error with a message and writes no row and no file.
"""

from __future__ import annotations

import io
import os
import re
import struct
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from helpers import (
    WorkerProcess,
    clear_leftovers,
    sample_images,
    token_client,
    wait_for_batch,
)
from helpers import (
    document_forms as forms,
)
from PIL import Image
from sqlalchemy import func, select
from werkzeug.test import TestResponse

from shared.db.models import Batch, Correction, Extraction, Receipt
from shared.db.session import session_scope
from shared.engines import ENGINE_NAMES
from shared.storage import LocalStorage, content_key, get_storage

MB = 1024 * 1024
API = "/api/v1"


# --- building bad files ------------------------------------------------------------------------

def _unique_jpeg() -> bytes:
    """A valid JPEG no other test stores, so "its hash is not in storage" means something."""
    img = Image.frombytes("L", (64, 48), os.urandom(64 * 48)).convert("RGB")
    buf = io.BytesIO()
    img.save(buf, "JPEG")
    return buf.getvalue()


def _png(width: int, height: int, idat: bytes = zlib.compress(bytes(1000))) -> bytes:
    """A 1-bit grey PNG built by hand: huge declared dimensions cost nothing (a bomb by its
    header), and the pixel data can be anything."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return (struct.pack(">I", len(body)) + kind + body
                + struct.pack(">I", zlib.crc32(kind + body)))

    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
            + chunk(b"IDAT", idat) + chunk(b"IEND", b""))


def _zip(members: list[tuple[str, bytes]]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members:
            archive.writestr(name, data)
    return buf.getvalue()


def _lying_zip(name: str, data: bytes, declared_size: int) -> bytes:
    """A zip whose headers understate the member's inflated size (a bomb that lies)."""
    raw = bytearray(_zip([(name, data)]))
    # Uncompressed size: offset 22 in the local header, 24 in the central directory entry.
    struct.pack_into("<I", raw, raw.find(b"PK\x03\x04") + 22, declared_size)
    struct.pack_into("<I", raw, raw.find(b"PK\x01\x02") + 24, declared_size)
    return bytes(raw)


@dataclass(frozen=True)
class BadFile:
    shown: str  # the name the failed receipt is displayed with
    message: str  # regex the receipt's error must match in full


# id -> what the failed receipt must say. Literal parts are escaped where they hold regex syntax.
BAD_FILES: dict[str, BadFile] = {
    "text file": BadFile("notes.txt", r"not an image: the file is plain text; .+"),
    "damaged pdf": BadFile("scan.pdf", r"the PDF is damaged and cannot be read \(.+\); export or "
                                       r"scan it again"),
    "encrypted pdf": BadFile("locked.pdf", r"the PDF is encrypted \(password-protected\): save or "
                                           r"print it without a password, then upload it again"),
    "pdf without pages": BadFile("empty.pdf", r"the PDF has no pages"),
    "pdf over the page limit": BadFile(
        "long.pdf", r"the PDF has 6 pages, more than the limit of 5 \(RECEIPTFLOW_MAX_PAGES\); "
                    r"split it into smaller files"),
    "pdf page over the pixel limit": BadFile(
        "poster.pdf", r"page 1 would render at 38889x38889 pixels \(200 dpi\), more than the "
                      r"limit of 20,000,000; print the document to a smaller page size"),
    "pdf with javascript": BadFile(
        "script.pdf", r"the PDF carries JavaScript \(1 script\(s\)\); it is never run here: .+"),
    "pdf with an attachment": BadFile(
        "attached.pdf", r"the PDF carries 1 attached file\(s\), which are never opened here: .+"),
    "heic that does not decode": BadFile(
        "broken.heic", r"the image is truncated or corrupt \(.+\); re-export or re-scan it"),
    "elf executable named .jpg": BadFile(
        "invoice.jpg", r"not an image: the file is an executable or script"),
    "zero bytes": BadFile("empty.jpg", r"the file is empty \(0 bytes\)"),
    "truncated jpeg": BadFile(
        "truncated.jpg",
        r"the image is truncated or corrupt \(image file is truncated .*\); "
        r"re-export or re-scan it"),
    "corrupt png header": BadFile(
        "corrupt.png", r"the image is truncated or corrupt \(it starts like a PNG file but its "
                       r"header cannot be read\); re-export or re-scan it"),
    "corrupt png pixel data": BadFile(
        "corrupt-pixels.png", r"the image is truncated or corrupt \(.+\); re-export or re-scan it"),
    "over the file size limit": BadFile(
        "huge.jpg", r"file is 2\.5 MB; the limit is 2 MB per file: scan at a lower resolution "
                    r"or compress it"),
    "decompression bomb 20000x20000": BadFile(
        "bomb.png", r"image dimensions are too large \(decompression bomb\?\): "
                    r"Image size \(400000000 pixels\) exceeds limit .+"),
    "over the pixel limit 6000x6000": BadFile(
        "many-pixels.png", r"image is 6000x6000 pixels, more than the limit of 20,000,000; "
                           r"scan at a lower resolution"),
    "zip member ../evil.jpg": BadFile(
        "evil.jpg", re.escape("refused archive member '../evil.jpg': absolute or '..' paths are "
                              "not allowed in a zip")),
    "zip member /abs/path.jpg": BadFile(
        "path.jpg", re.escape("refused archive member '/abs/path.jpg': absolute or '..' paths "
                              "are not allowed in a zip")),
    "zip member ..\\win.jpg": BadFile(
        "win.jpg", re.escape("refused archive member '..\\\\win.jpg': absolute or '..' paths "
                             "are not allowed in a zip")),
    "zip member that is a zip": BadFile(
        "inner.zip", r"not an image: the file is a zip archive \(.+\)"),
    "zip bomb member 50 MB of zeros": BadFile(
        "zeros.jpg", r"file is 50\.0 MB; the limit is 2 MB per file: .+"),
    "zip bomb member with a lying size": BadFile(
        "liar.jpg", r"could not unpack this archive member: Bad CRC-32 for file 'liar\.jpg'"),
    "not a zip archive": BadFile("broken.zip", r"not a readable zip archive: .+"),
}

# Good receipts in the same batch (display name -> sample index): a plain upload, a zip member
# in a sub folder, and one whose client name tries to climb out of the storage folder.
GOOD_FILES = {"good.jpg": 0, "good-in-zip.jpg": 1, "passwd.jpg": 2}
TRAVERSAL_NAME = "../../etc/passwd.jpg"


@dataclass(frozen=True)
class MixedUpload:
    uploads: list[tuple[str, bytes]]  # (client file name, bytes) as posted
    contents: dict[str, bytes]  # display name -> the bytes that file (or member) holds


@cache
def _mixed_upload() -> MixedUpload:
    samples = [p.read_bytes() for p in sample_images(3)]
    jpeg = samples[0]
    zeros = b"\0" * (50 * MB)
    contents = {
        "notes.txt": b"Total: 12.50\nThank you for shopping with us!\n",
        "scan.pdf": b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n",
        "invoice.jpg": b"\x7fELF\x02\x01\x01\x00" + bytes(56) + os.urandom(512),
        "empty.jpg": b"",
        "truncated.jpg": jpeg[: len(jpeg) // 2],
        "corrupt.png": b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8,
        "huge.jpg": b"\xff\xd8\xff\xe0" + os.urandom(int(2.5 * MB) - 4),
        "corrupt-pixels.png": _png(100, 100, idat=os.urandom(500)),
        "bomb.png": _png(20000, 20000),
        "many-pixels.png": _png(6000, 6000),
        "evil.jpg": _unique_jpeg(),
        "path.jpg": _unique_jpeg(),
        "win.jpg": _unique_jpeg(),
        "inner.zip": _zip([("nested.jpg", _unique_jpeg())]),
        "zeros.jpg": zeros,
        "liar.jpg": zeros,
        "broken.zip": b"PK\x03\x04" + os.urandom(300),
        "locked.pdf": forms.encrypted_pdf(),
        "empty.pdf": forms.zero_page_pdf(),
        "long.pdf": forms.many_pages_pdf(6),
        "poster.pdf": forms.huge_page_pdf(),
        "script.pdf": forms.javascript_pdf(),
        "attached.pdf": forms.attachment_pdf(),
        "broken.heic": (heic := forms.heic(Image.open(io.BytesIO(jpeg))))[: len(heic) // 3],
        **{name: samples[i] for name, i in GOOD_FILES.items()},
    }
    c = contents
    archive = _zip([
        ("../evil.jpg", c["evil.jpg"]), ("/abs/path.jpg", c["path.jpg"]),
        ("..\\win.jpg", c["win.jpg"]), ("receipts/good-in-zip.jpg", c["good-in-zip.jpg"]),
        ("receipts/inner.zip", c["inner.zip"]), ("zeros.jpg", zeros),
    ])
    uploads = [
        ("good.jpg", c["good.jpg"]),
        *((name, c[name]) for name in (
            "notes.txt", "scan.pdf", "invoice.jpg", "empty.jpg", "truncated.jpg", "corrupt.png",
            "corrupt-pixels.png", "huge.jpg", "bomb.png", "many-pixels.png", "broken.zip",
            "locked.pdf", "empty.pdf", "long.pdf", "poster.pdf", "script.pdf", "attached.pdf",
            "broken.heic")),
        ("archive.zip", archive),
        ("liar.zip", _lying_zip("liar.jpg", zeros, declared_size=1000)),
        (TRAVERSAL_NAME, c["passwd.jpg"]),
    ]
    return MixedUpload(uploads, contents)


# --- helpers -----------------------------------------------------------------------------------

def _post_batch(client: FlaskClient, uploads: list[tuple[str, bytes]],
                headers: dict[str, str] | None = None, **form: str) -> TestResponse:
    files = [(io.BytesIO(data), name) for name, data in uploads]
    return client.post(f"{API}/batches", data={"files": files, **form}, headers=headers,
                       content_type="multipart/form-data")


def _storage() -> LocalStorage:
    storage = get_storage()
    assert isinstance(storage, LocalStorage)
    return storage


def _stored_files() -> set[Path]:
    root = _storage().root
    return {p for p in root.rglob("*") if p.is_file()} if root.exists() else set()


def _row_counts() -> dict[str, int]:
    with session_scope() as session:
        return {model.__name__: session.scalar(select(func.count()).select_from(model)) or 0
                for model in (Batch, Receipt, Extraction, Correction)}


def _assert_error(resp: TestResponse, status: int, message: str) -> dict[str, Any]:
    """A JSON error body with this status whose message matches the regex in full."""
    assert resp.status_code == status, resp.data[:500]
    assert resp.is_json, resp.data[:500]
    body = resp.get_json()
    assert body["code"] == status
    assert re.fullmatch(message, body["message"]), body
    return body


@pytest.fixture
def nothing_written() -> Iterator[None]:
    """The test's requests create no row of any kind and store no file."""
    rows, files = _row_counts(), _stored_files()
    yield
    assert _row_counts() == rows
    assert _stored_files() == files


# --- one mixed batch, one real worker ----------------------------------------------------------

@dataclass(frozen=True)
class ProcessedBatch:
    created: dict[str, Any]  # the POST response
    final: dict[str, Any]  # GET once finished
    by_name: dict[str, dict[str, Any]]  # display name -> receipt summary


@pytest.fixture(scope="module")
def mixed_batch(app: Flask, services: dict[str, str], accounts: dict[str, dict[str, str]],
                tmp_path_factory: pytest.TempPathFactory) -> ProcessedBatch:
    # Module scope, so the worker runs once for all the checks below; this does what the
    # start_worker fixture does (empty queue, a real `receiptflow worker` subprocess, stop).
    clear_leftovers(services)
    client = token_client(app, accounts["admin"]["token"])
    worker = WorkerProcess(services, tmp_path_factory.mktemp("bad-input") / "worker.log")
    try:
        resp = _post_batch(client, _mixed_upload().uploads, name="bad input")
        assert resp.status_code == 201, resp.get_json()
        created = resp.get_json()
        final = wait_for_batch(client, created["id"])
    finally:
        worker.stop()
    by_name = {r["original_name"]: r for r in final["receipts"]}
    assert len(by_name) == len(final["receipts"]), "display names must be unique here"
    return ProcessedBatch(created, final, by_name)


@pytest.mark.slow
def test_mixed_batch_counts(mixed_batch: ProcessedBatch) -> None:
    bad, good = len(BAD_FILES), len(GOOD_FILES)
    # Bad files are refused at upload, before anything is queued.
    assert mixed_batch.created["counts"] == {"queued": good, "processing": 0, "done": 0,
                                             "failed": bad}
    assert mixed_batch.final["counts"] == {"queued": 0, "processing": 0, "done": good,
                                           "failed": bad}
    assert set(mixed_batch.by_name) == {b.shown for b in BAD_FILES.values()} | set(GOOD_FILES)


@pytest.mark.slow
@pytest.mark.parametrize("case", list(BAD_FILES))
def test_bad_file_fails_alone(client: FlaskClient, mixed_batch: ProcessedBatch,
                              case: str) -> None:
    expected = BAD_FILES[case]
    summary = mixed_batch.by_name[expected.shown]
    assert summary["status"] == "failed"
    assert re.fullmatch(expected.message, summary["error"]), summary["error"]
    assert summary["finished_at"] is not None

    detail = client.get(f"{API}/receipts/{summary['id']}").get_json()
    assert detail["extraction"] is None
    assert detail["image_url"] is None
    assert detail["content_hash"] is None and detail["media_type"] is None
    assert detail["attempts"] == 0  # never queued

    with session_scope() as session:
        row = session.get(Receipt, summary["id"])
        assert row is not None
        assert row.storage_key is None and row.job_id is None and row.enqueued_at is None
        assert row.extractions == [] and row.pages == []
    content = _mixed_upload().contents[expected.shown]
    assert not _storage().exists(content_key(content)), "a refused file was stored"

    _assert_error(client.get(f"{API}/receipts/{summary['id']}/image"), 404,
                  rf"receipt {summary['id']} has no stored image \(.+\)")


@pytest.mark.slow
@pytest.mark.parametrize("name", list(GOOD_FILES))
def test_good_receipts_of_the_same_batch_are_done(client: FlaskClient,
                                                  mixed_batch: ProcessedBatch,
                                                  name: str) -> None:
    summary = mixed_batch.by_name[name]
    assert summary["status"] == "done", summary
    assert summary["error"] is None
    detail = client.get(f"{API}/receipts/{summary['id']}").get_json()
    assert detail["extraction"]["engine"] == "ocr"
    content = _mixed_upload().contents[name]
    assert detail["content_hash"] == content_key(content)
    assert client.get(f"{API}/receipts/{summary['id']}/image").data == content
    with session_scope() as session:
        assert len(session.get(Receipt, summary["id"]).extractions) == 1


@pytest.mark.slow
def test_client_file_name_is_never_a_path(client: FlaskClient,
                                          mixed_batch: ProcessedBatch,
                                          services: dict[str, str]) -> None:
    summary = mixed_batch.by_name["passwd.jpg"]  # uploaded as ../../etc/passwd.jpg
    content = _mixed_upload().contents["passwd.jpg"]
    key = content_key(content)
    with session_scope() as session:
        row = session.get(Receipt, summary["id"])
        assert row.original_name == "passwd.jpg"
        assert row.storage_key == key

    storage = _storage()
    stored = storage.path(key)
    root = storage.root.resolve()
    assert stored.resolve() == root / key[:2] / key[2:4] / key
    assert stored.read_bytes() == content
    # Nothing anywhere under the data folder (storage included) carries the client's name,
    # and nothing was written where the name points from the storage root.
    data_dir = Path(services["RECEIPTFLOW_DATA_DIR"])
    assert not [p for p in data_dir.rglob("*passwd*")]
    assert not (root / TRAVERSAL_NAME).exists()

    csv = client.get(f"{API}/batches/{mixed_batch.final['id']}/export?format=csv").data.decode()
    [row] = [line for line in csv.splitlines() if line.startswith(f"{summary['id']},")]
    assert row.startswith(f"{summary['id']},passwd.jpg,done,")
    assert "etc/passwd" not in csv


# --- request-level rejections: no worker needed ------------------------------------------------

@pytest.mark.parametrize(("form", "status", "message"), [
    pytest.param({"name": "nothing"}, 422,
                 r"invalid request: files: Missing data for required field\.",
                 id="no files field"),
    # What a browser sends for a file input with nothing chosen: one part, no name, no bytes.
    pytest.param({"files": (io.BytesIO(b""), "")}, 400,
                 r"no files were uploaded: send one or more images \(or zip files\)",
                 id="empty file input"),
])
def test_upload_without_files_is_rejected(client: FlaskClient, nothing_written: None,
                                          form: dict[str, Any], status: int,
                                          message: str) -> None:
    resp = client.post(f"{API}/batches", data=form, content_type="multipart/form-data")
    _assert_error(resp, status, message)


def test_unknown_engine_is_rejected(client: FlaskClient, nothing_written: None) -> None:
    resp = _post_batch(client, [("a.jpg", _unique_jpeg())], engine="tesseract-9000")
    _assert_error(resp, 422, re.escape(f"unknown engine 'tesseract-9000'; choose one of "
                                       f"{sorted(ENGINE_NAMES)}"))


@pytest.fixture
def request_budget_5mb(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    from shared.config import reset_settings_cache

    monkeypatch.setenv("RECEIPTFLOW_MAX_REQUEST_MB", "5")
    reset_settings_cache()
    yield
    monkeypatch.undo()
    reset_settings_cache()


def test_zip_unpacking_past_the_request_budget_is_rejected(
        client: FlaskClient, request_budget_5mb: None, nothing_written: None) -> None:
    # Each member is under the 2 MB file limit, together they inflate to 6 MB > 5 MB; the
    # good member first must not be stored either.
    members = [("good.jpg", _unique_jpeg())]
    members += [(f"zeros-{i}.jpg", b"\0" * int(1.5 * MB)) for i in range(4)]
    archive = _zip(members)
    assert len(archive) < 100_000
    resp = _post_batch(client, [("bomb.zip", archive)])
    _assert_error(resp, 400, re.escape("bomb.zip: the archive unpacks to more than 5 MB "
                                       "(zip bomb?); split it into smaller archives"))


def test_request_over_max_content_length_is_413(nothing_written: None,
                                                accounts: dict[str, dict[str, str]]) -> None:
    from web import create_app

    small = token_client(create_app({"TESTING": True, "MAX_CONTENT_LENGTH": 1000}),
                         accounts["admin"]["token"])
    resp = _post_batch(small, [("a.jpg", _unique_jpeg() + bytes(2000))])
    _assert_error(resp, 413, r"the upload is larger than 0\.000953674 MB; send the receipts in "
                             r"several smaller batches")


# An id that could exist but doesn't, and one no INTEGER key can hold (PostgreSQL refuses it).
UNKNOWN_IDS = [999_999_999, 2**40]


@pytest.mark.parametrize("row_id", UNKNOWN_IDS)
@pytest.mark.parametrize(("method", "path", "kind"), [
    ("GET", "/batches/{}", "batch"),
    ("GET", "/batches/{}/export", "batch"),
    ("GET", "/batches/{}/export?format=csv", "batch"),
    ("GET", "/receipts/{}", "receipt"),
    ("GET", "/receipts/{}/image", "receipt"),
    ("POST", "/receipts/{}/corrections", "receipt"),
])
def test_unknown_id_is_404(client: FlaskClient, nothing_written: None, method: str,
                           path: str, kind: str, row_id: int) -> None:
    resp = client.open(API + path.format(row_id), method=method,
                       json={"fields": {"total": "9.99"}} if method == "POST" else None)
    _assert_error(resp, 404, f"{kind} {row_id} does not exist")


@pytest.fixture
def receipt_id(client: FlaskClient) -> int:
    """A receipt to send corrections to (a failed one: no worker needed)."""
    resp = _post_batch(client, [("note.txt", b"not a receipt")], name="corrections")
    assert resp.status_code == 201
    return resp.get_json()["receipts"][0]["id"]


@pytest.mark.parametrize(("body", "status", "message"), [
    pytest.param(b"{fields: total}", 400, r"invalid request: Invalid JSON body\.",
                 id="invalid json"),
    pytest.param([["total", "9.99"]], 422, r"invalid request: Invalid input type\.",
                 id="body not an object"),
    pytest.param({"author": "ann"}, 422,
                 r"invalid request: fields: Missing data for required field\.",
                 id="fields missing"),
    pytest.param({"fields": "total=9.99"}, 422,
                 r"invalid request: fields: Not a valid mapping type\.", id="fields not an object"),
    pytest.param({"fields": {}}, 422, r"invalid request: fields: give at least one field to "
                                      r"correct", id="fields empty"),
    pytest.param({"fields": {"tip": "1.00"}}, 422,
                 re.escape("unknown fields ['tip']; this batch has "
                           "['company', 'date', 'address', 'total', 'items']"),
                 id="unknown field"),
    pytest.param({"fields": {"total": 9.99}}, 422,
                 r"invalid request: fields\.total\.value: give text, or for a table field a "
                 r"list of rows of text", id="value not a string"),
    pytest.param({"fields": {"total": [{"amount": "9.99"}]}}, 422,
                 r"fields\.total: give the corrected text", id="rows for a text field"),
    pytest.param({"fields": {"items": "TEA 2.00"}}, 422,
                 r"fields\.items: give the table's rows, a list of at most 500",
                 id="text for a table field"),
    pytest.param({"fields": {"items": [{"description": "TEA", "amount": "2.00"}] * 501}}, 422,
                 r"fields\.items: give the table's rows, a list of at most 500",
                 id="too many rows"),
    pytest.param({"fields": {"items": [{"description": "TEA", "price": "2.00"}]}}, 422,
                 re.escape("fields.items[0]: unknown columns ['price']; the columns are "
                           "['description', 'quantity', 'unit_price', 'amount']"),
                 id="unknown column"),
    pytest.param({"fields": {"items": [{"description": 2}]}}, 422,
                 r"invalid request: fields\.items\.value: give text, or for a table field a "
                 r"list of rows of text", id="cell not text"),
    pytest.param({"fields": {"items": [{"description": "T\x00EA"}]}}, 422,
                 r"fields\.items\[0\]\.description: contains control characters \(such as "
                 r"NUL\); send plain text", id="NUL in a cell"),
    pytest.param({"fields": {"total": None}}, 422,
                 r"invalid request: fields\.total\.value: Field may not be null\.",
                 id="value null"),
    pytest.param({"fields": {"total": "9" * 2001}}, 422,
                 r"fields\.total: longer than 2000 characters", id="value too long"),
    pytest.param({"fields": {"total": "9.99"}, "author": ""}, 422,
                 r"invalid request: author: Length must be between 1 and 120\.", id="author empty"),
    pytest.param({"fields": {"total": "9.\x0099"}}, 422,
                 r"fields\.total: contains control characters \(such as NUL\); send plain text",
                 id="NUL in a value"),
    pytest.param(b'{"fields": ' + b"[" * 50_000 + b"]" * 50_000 + b"}", 400,
                 r"the JSON body nests deeper than 32 levels", id="nested 50,000 deep"),
])
def test_malformed_correction_is_rejected(client: FlaskClient, receipt_id: int, body: Any,
                                          status: int, message: str) -> None:
    url = f"{API}/receipts/{receipt_id}/corrections"
    rows = _row_counts()
    if isinstance(body, bytes):
        resp = client.post(url, data=body, content_type="application/json")
    else:
        resp = client.post(url, json=body)
    _assert_error(resp, status, message)
    assert _row_counts() == rows
    assert client.get(f"{API}/receipts/{receipt_id}").get_json()["corrections"] == []


def test_well_formed_correction_is_saved(client: FlaskClient, receipt_id: int) -> None:
    """The control for the test above: the same endpoint accepts a valid body."""
    resp = client.post(f"{API}/receipts/{receipt_id}/corrections",
                       json={"fields": {"total": "9.99"}, "author": "ann"})
    assert resp.status_code == 201, resp.get_json()
    with session_scope() as session:
        assert session.scalar(select(func.count()).select_from(Correction)
                              .where(Correction.receipt_id == receipt_id)) == 1


def test_control_characters_in_the_batch_name_are_dropped_and_the_upload_kept(
        client: FlaskClient) -> None:
    """PostgreSQL refuses NUL: the name is display text, so it is cleaned, and no file of the
    upload is lost over it."""
    data = _unique_jpeg()
    resp = _post_batch(client, [("ok.jpg", data)], name="March\x00 receipts\n\t2026")
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    assert body["name"] == "March receipts 2026"
    assert [r["status"] for r in body["receipts"]] == ["queued"]
    assert _storage().exists(content_key(data))


def test_a_retried_upload_with_the_same_idempotency_key_is_stored_once(
        client: FlaskClient) -> None:
    files = [("ok.jpg", _unique_jpeg())]
    key = "k-" + os.urandom(8).hex()
    first = _post_batch(client, files, name="retried", headers={"Idempotency-Key": key})
    assert first.status_code == 201
    again = _post_batch(client, files, name="retried", headers={"Idempotency-Key": key})
    assert again.status_code == 200
    assert again.get_json()["id"] == first.get_json()["id"]
    with session_scope() as session:
        assert session.scalar(select(func.count()).select_from(Batch)
                              .where(Batch.idempotency_key == key)) == 1
    bad = _post_batch(client, files, headers={"Idempotency-Key": "has spaces"})
    _assert_error(bad, 400, "Idempotency-Key must be 1 to 100 printable ASCII characters "
                            "without spaces, e.g. a UUID")
