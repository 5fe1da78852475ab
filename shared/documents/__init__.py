"""Documents as people have them, turned into pages the engines read.

A receipt is a document of one or more pages: a photo or scan (``images.py``: JPEG, PNG, WebP,
BMP, HEIC, every frame of a TIFF, EXIF orientation applied), or a PDF (``pdf.py``: a page with a
text layer brings its lines, exact, and needs no OCR; a scanned page is rendered). ``layout.py``
stacks a document's pages into one tall page for the engines that read a receipt as a whole.

Nothing here changes the uploaded file: pages are renditions of it, and each records what was
done to make it (``Page.transforms``).
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import Any

from PIL import Image

from shared.documents import pdf
from shared.documents.images import DocumentRejected, decode_pages
from shared.documents.lines import TextLine

__all__ = ["Document", "DocumentRejected", "Limits", "Page", "as_document", "encode_page",
           "read_document"]


@dataclass(frozen=True)
class Limits:
    max_pixels: int
    max_pages: int
    pdf_dpi: int


@dataclass
class Page:
    number: int  # 1-based
    image: Image.Image  # RGB, upright as far as the file says
    # Text the document itself holds for this page (a PDF's text layer), in the image's
    # pixels; None when it must be read by OCR.
    lines: list[TextLine] | None = None
    source: str = "image"  # image | tiff-frame | pdf-text | pdf-scan
    transforms: list[dict[str, Any]] = field(default_factory=list)
    # The stored upload is this page's image as it is (one web-ready frame, nothing changed):
    # no rendition needs storing.
    is_original: bool = False


@dataclass
class Document:
    media_type: str
    pages: list[Page]


def read_document(data: bytes, limits: Limits) -> Document:
    """The document's pages, or DocumentRejected with a message saying what to do."""
    if pdf.is_pdf(data):
        read = pdf.read(data, dpi=limits.pdf_dpi, max_pixels=limits.max_pixels,
                        max_pages=limits.max_pages)
        return Document(pdf.MEDIA_TYPE, [
            Page(n, p.image, p.lines, "pdf-text" if p.lines is not None else "pdf-scan",
                 [{"op": "render_pdf", "dpi": p.dpi}])
            for n, p in enumerate(read, start=1)])
    frames = decode_pages(data, limits.max_pixels, limits.max_pages)
    source = "tiff-frame" if len(frames) > 1 else "image"
    return Document(frames[0].media_type, [
        Page(n, f.image, None, source, list(f.transforms), is_original=f.web_ready)
        for n, f in enumerate(frames, start=1)])


RENDITION_TYPE = "image/jpeg"
TEXT_LAYER = "pdf-text-layer"  # ReceiptPage.lines_source of lines a PDF held itself


def encode_page(image: Image.Image) -> bytes:
    """A page rendition to store: JPEG, good enough to read small print again."""
    buf = io.BytesIO()
    image.save(buf, "JPEG", quality=90)
    return buf.getvalue()


def as_document(item: Document | Image.Image) -> Document:
    """A document, or an image taken as a one-page document (engines accept both)."""
    if isinstance(item, Document):
        return item
    return Document("image/unknown", [Page(1, item)])
