"""Turning an upload (many files, or zip archives of them) into a batch of stored receipts.

Every file is judged on its own: a bad one becomes a failed receipt with a message, the good
ones are stored and queued. Client file names are kept for display only, never used as paths.
"""

from __future__ import annotations

import io
import posixpath
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shared import dispatch
from shared.config import Settings
from shared.db.models import Batch, Receipt, ReceiptPage, ReceiptStatus, utcnow
from shared.documents import (
    RENDITION_TYPE,
    TEXT_LAYER,
    DocumentRejected,
    Page,
    encode_page,
    read_document,
)
from shared.finishing import receipts_finished
from shared.storage import Storage, content_key


class UploadRejected(ValueError):
    """The whole request cannot be accepted (the message says why); nothing was stored."""


@dataclass
class IncomingFile:
    name: str
    data: bytes = b""
    error: str | None = None  # set when the file was refused before being read


def _display_name(name: str) -> str:
    # Keep only the last path part, as display text: this is shown, never opened.
    base = posixpath.basename(name.replace("\\", "/"))
    return clean_text(base, 255) or "unnamed"


def _unsafe_member(name: str) -> bool:
    normalized = name.replace("\\", "/")
    return (
        normalized.startswith("/")
        or (len(normalized) > 1 and normalized[1] == ":")
        or ".." in normalized.split("/")
    )


def expand_zip(name: str, data: bytes, settings: Settings) -> Iterator[IncomingFile]:
    """Yield the archive's files; unsafe or oversized members fail alone.

    Sizes declared in the archive are not trusted: each member is read with a cap, so a zip
    bomb costs at most ``max_file_bytes`` of memory per member.
    """
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = [m for m in archive.infolist() if not m.is_dir()]
    except (zipfile.BadZipFile, OSError) as exc:
        yield IncomingFile(_display_name(name), error=f"not a readable zip archive: {exc}")
        return
    if len(members) > settings.max_batch_files:
        raise UploadRejected(
            f"{name}: the archive holds {len(members)} files; the limit per batch is "
            f"{settings.max_batch_files}"
        )
    budget = settings.max_request_mb * 1024 * 1024  # all members together, after inflating
    for member in members:
        shown = _display_name(member.filename)
        if _unsafe_member(member.filename):
            yield IncomingFile(shown, error=(
                f"refused archive member {member.filename!r}: absolute or '..' paths are not "
                "allowed in a zip"))
            continue
        if member.file_size > settings.max_file_bytes:
            yield IncomingFile(shown, error=_too_large(member.file_size, settings))
            continue
        try:
            with archive.open(member) as fh:
                content = fh.read(settings.max_file_bytes + 1)
        except (zipfile.BadZipFile, OSError, NotImplementedError, RuntimeError) as exc:
            yield IncomingFile(shown, error=f"could not unpack this archive member: {exc}")
            continue
        if len(content) > settings.max_file_bytes:
            yield IncomingFile(shown, error=_too_large(len(content), settings))
            continue
        budget -= len(content)
        if budget < 0:
            raise UploadRejected(
                f"{name}: the archive unpacks to more than {settings.max_request_mb:g} MB "
                "(zip bomb?); split it into smaller archives"
            )
        yield IncomingFile(shown, content)


def _too_large(size: int, settings: Settings) -> str:
    return (f"file is {size / 1024 / 1024:.1f} MB; the limit is {settings.max_file_mb:g} MB "
            "per file: scan at a lower resolution or compress it")


def expand_uploads(uploads: Iterable[tuple[str, bytes]], settings: Settings) -> list[IncomingFile]:
    files: list[IncomingFile] = []
    for name, data in uploads:
        if data.startswith(b"PK\x03\x04") or name.lower().endswith(".zip"):
            files.extend(expand_zip(name, data, settings))
        elif len(data) > settings.max_file_bytes:
            files.append(IncomingFile(_display_name(name), error=_too_large(len(data), settings)))
        else:
            files.append(IncomingFile(_display_name(name), data))
        if len(files) > settings.max_batch_files:
            raise UploadRejected(
                f"too many files: the limit per batch is {settings.max_batch_files}"
            )
    if not files:
        raise UploadRejected("no files were uploaded: send one or more images (or zip files)")
    return files


def _receipt_for(file: IncomingFile, storage: Storage, settings: Settings,
                 stored: list[tuple[str, bytes]]) -> Receipt:
    """The receipt row, with a page row per page of its document; every file written is
    noted in ``stored``."""
    receipt = Receipt(original_name=file.name, size_bytes=len(file.data),
                      status=ReceiptStatus.QUEUED)
    if file.error is None:
        try:
            document = read_document(file.data, settings.document_limits)
        except DocumentRejected as exc:
            file.error = str(exc)
        else:
            receipt.content_hash = content_key(file.data)
            receipt.storage_key = storage.put(file.data)  # the upload, kept as it came
            stored.append((receipt.storage_key, file.data))
            receipt.media_type = document.media_type
            receipt.width, receipt.height = document.pages[0].image.size
            receipt.pages = [_page_row(page, receipt, storage, stored)
                             for page in document.pages]
    if file.error is not None:
        receipt.status = ReceiptStatus.FAILED
        receipt.error = file.error
        receipt.finished_at = utcnow()
    return receipt


def _page_row(page: Page, receipt: Receipt, storage: Storage,
              stored: list[tuple[str, bytes]]) -> ReceiptPage:
    if page.is_original:
        key, media_type = receipt.storage_key, receipt.media_type
    else:
        data = encode_page(page.image)
        key, media_type = storage.put(data), RENDITION_TYPE
        stored.append((key, data))
    return ReceiptPage(
        number=page.number, storage_key=key, media_type=media_type, width=page.image.width,
        height=page.image.height, source=page.source, transforms=page.transforms,
        lines=[ln.to_json() for ln in page.lines] if page.lines is not None else None,
        lines_source=TEXT_LAYER if page.lines is not None else None)


def clean_text(text: str, limit: int) -> str:
    """Display text from a client: control characters (NUL included, which PostgreSQL refuses)
    dropped, whitespace runs made single spaces, cut to ``limit``."""
    kept = "".join(ch if ch.isprintable() else " " for ch in text)
    return " ".join(kept.split())[:limit]


def find_by_key(session: Session, key: str) -> Batch | None:
    return session.scalar(select(Batch).where(Batch.idempotency_key == key))


def create_batch(session: Session, files: list[IncomingFile], *, engine: str, name: str,
                 settings: Settings, storage: Storage, created_by: str = "",
                 idempotency_key: str | None = None) -> tuple[Batch, bool]:
    """Store the files, commit the batch, then enqueue its good receipts. Returns the batch
    and whether it is new: with an ``idempotency_key`` already used, the batch it made."""
    batch = Batch(name=clean_text(name, 200), engine=engine, created_by=created_by,
                  idempotency_key=idempotency_key,
                  fields=[f.model_dump() for f in settings.fields])
    stored: list[tuple[str, bytes]] = []
    batch.receipts = [_receipt_for(f, storage, settings, stored) for f in files]
    session.add(batch)
    queued = [r for r in batch.receipts if r.status == ReceiptStatus.QUEUED]
    dispatch.assign_jobs(session, queued)
    try:
        # Files refused here are final already: their events (and the batch's, when no file
        # was usable) are stored with them.
        session.flush()
        receipts_finished(session, [r.id for r in batch.receipts
                                    if r.status == ReceiptStatus.FAILED])
        session.commit()  # rows first: a worker must find the receipt when the task arrives
    except IntegrityError:
        # The same key was committed by a concurrent retry of this upload: that one stands.
        session.rollback()
        existing = find_by_key(session, idempotency_key) if idempotency_key else None
        if existing is None:
            raise
        return existing, False
    # A deletion of another receipt with the same content may have removed a shared file
    # between put() and the commit: put it back (the bytes are still at hand).
    for key, data in stored:
        if not storage.exists(key):
            storage.put(data)
    dispatch.send(session, queued)
    return batch, True
