"""PDF documents as pages, with PDFium (pypdfium2).

A page with a text layer (an e-mailed receipt or invoice) is read from it: PDFium's text
segments with their boxes become the page's lines, exact and without OCR. A page without one (a
scan) is only rendered, and the OCR engine reads it. Every page is rendered at
``RECEIPTFLOW_PDF_DPI`` for the review page and the image engines. Nothing in a PDF is ever run
or extracted: a file that carries JavaScript or attachments, or is encrypted, is refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
from PIL import Image

from shared.documents.images import DocumentRejected, why
from shared.documents.lines import TextLine

MEDIA_TYPE = "application/pdf"
_NO_PAGES = re.compile(rb"/Type\s*/Pages\b[^>]*/Count\s+0\b")
# A page with fewer printed characters than this is taken for a scan (or a stray watermark).
MIN_TEXT_CHARS = 20


@dataclass(frozen=True)
class PdfPage:
    image: Image.Image  # rendered, RGB
    lines: list[TextLine] | None  # the text layer in the image's pixels; None for a scan
    dpi: int


def is_pdf(data: bytes) -> bool:
    # The header may follow a little junk (the PDF specification allows up to 1 KB).
    return b"%PDF-" in data[:1024]


def read(data: bytes, *, dpi: int, max_pixels: int, max_pages: int) -> list[PdfPage]:
    try:
        doc = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        # PDFium's error code is its last one, not always this load's (a zero-page file after
        # an encrypted one reads "password"): the file's own keys say which it is.
        if b"/Encrypt" in data:
            raise DocumentRejected("the PDF is encrypted (password-protected): save or print it "
                                   "without a password, then upload it again") from exc
        if exc.err_code == pdfium_c.FPDF_ERR_SUCCESS or _NO_PAGES.search(data):
            # PDFium parsed the file and found no page to load.
            raise DocumentRejected("the PDF has no pages") from exc
        raise DocumentRejected(f"the PDF is damaged and cannot be read ({why(exc)}); export "
                               "or scan it again") from exc
    try:
        _refuse_active_content(doc)
        count = len(doc)
        if count == 0:
            raise DocumentRejected("the PDF has no pages")
        if count > max_pages:
            raise DocumentRejected(
                f"the PDF has {count} pages, more than the limit of {max_pages} "
                "(RECEIPTFLOW_MAX_PAGES); split it into smaller files")
        scale = dpi / 72
        sizes = [doc.get_page_size(i) for i in range(count)]
        for number, (w, h) in enumerate(sizes, start=1):
            px = round(w * scale) * round(h * scale)
            if px > max_pixels:
                raise DocumentRejected(
                    f"page {number} would render at {round(w * scale)}x{round(h * scale)} "
                    f"pixels ({dpi} dpi), more than the limit of {max_pixels:,}; print the "
                    "document to a smaller page size")
        return [_page(doc[i], scale, dpi) for i in range(count)]
    except pdfium.PdfiumError as exc:
        raise DocumentRejected(f"a page of the PDF is damaged ({why(exc)}); export or scan "
                               "it again") from exc
    finally:
        doc.close()


def _refuse_active_content(doc: pdfium.PdfDocument) -> None:
    scripts = pdfium_c.FPDFDoc_GetJavaScriptActionCount(doc.raw)
    if scripts > 0:
        raise DocumentRejected(
            f"the PDF carries JavaScript ({scripts} script(s)); it is never run here: print it "
            "to a new PDF (or export the pages as images) and upload that")
    attachments = doc.count_attachments()
    if attachments > 0:
        raise DocumentRejected(
            f"the PDF carries {attachments} attached file(s), which are never opened here: "
            "upload the receipt itself as its own PDF or image")


def _page(page: pdfium.PdfPage, scale: float, dpi: int) -> PdfPage:
    try:
        image = page.render(scale=scale).to_pil().convert("RGB")
        lines = _text_lines(page, scale) if page.get_rotation() == 0 else None
        return PdfPage(image, lines, dpi)
    finally:
        page.close()


def _text_lines(page: pdfium.PdfPage, scale: float) -> list[TextLine] | None:
    """PDFium's text segments (a run of text on one line) as lines in rendered pixels, top to
    bottom; None when the page holds too little text to be anything but a scan."""
    text = page.get_textpage()
    try:
        if sum(not c.isspace() for c in text.get_text_range()) < MIN_TEXT_CHARS:
            return None
        height = page.get_height()
        lines = []
        for i in range(text.count_rects()):
            left, bottom, right, top = text.get_rect(i)
            content = " ".join(text.get_text_bounded(left, bottom, right, top).split())
            if content:
                # PDF points from the bottom-left corner -> image pixels from the top-left.
                lines.append(TextLine(content, (left * scale, (height - top) * scale,
                                               right * scale, (height - bottom) * scale), 1.0))
        lines.sort(key=lambda ln: (round(ln.y0), ln.x0))
        return lines
    finally:
        text.close()
