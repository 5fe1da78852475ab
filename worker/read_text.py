"""Reading a receipt's text lines (rapidocr on the CPU) for review, once per page.

Engines that give no boxes (InternVL) leave the review page nothing to highlight; these lines
let it find each value on the page by fuzzy matching (``shared/review.py``). A page that
already has lines (a PDF's text layer, or the OCR engine's reading) is left as it is.
"""

from __future__ import annotations

import logging
from importlib.metadata import version

from sqlalchemy import select, update

from shared.config import get_settings
from shared.db.models import ReceiptPage
from shared.db.session import session_scope
from shared.documents.images import decode
from shared.results import refresh_review_reasons
from shared.storage import get_storage

log = logging.getLogger(__name__)


def read_text(receipt_id: int) -> str:
    with session_scope() as session:
        todo = [(p.id, p.storage_key) for p in session.scalars(
            select(ReceiptPage).where(ReceiptPage.receipt_id == receipt_id,
                                      ReceiptPage.lines.is_(None))
            .order_by(ReceiptPage.number))]
    if not todo:
        return "already read"
    from shared.engines.ocr.reader import shared_reader  # rapidocr: only where it runs

    settings = get_settings()
    reader = shared_reader(settings.ocr_threads)
    for page_id, key in todo:
        image = decode(get_storage().get(key), settings.max_image_pixels).image
        lines = [ln.to_json() for ln in reader.read(image)]
        with session_scope() as session:
            # Another delivery of the same task may have read the page first: that one stands.
            session.execute(update(ReceiptPage)
                            .where(ReceiptPage.id == page_id, ReceiptPage.lines.is_(None))
                            .values(lines=lines, lines_source=f"rapidocr-{version('rapidocr')}"))
    with session_scope() as session:
        refresh_review_reasons(session, [receipt_id])  # the lines tell its country, currency
    return "read"
