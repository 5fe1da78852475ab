"""Reading a receipt's text lines (rapidocr on the CPU) for review, once per receipt.

Engines that give no boxes (InternVL) leave the review page nothing to highlight; these lines
let it find each value on the image by fuzzy matching (``shared/review.py``).
"""

from __future__ import annotations

import logging
from importlib.metadata import version

from sqlalchemy.exc import IntegrityError

from shared.config import get_settings
from shared.db.models import Receipt, ReceiptText
from shared.db.session import session_scope
from shared.images import decode
from shared.storage import get_storage

log = logging.getLogger(__name__)


def read_text(receipt_id: int) -> str:
    with session_scope() as session:
        receipt = session.get(Receipt, receipt_id)
        if receipt is None or receipt.storage_key is None:
            return "no image"
        if session.get(ReceiptText, receipt_id) is not None:
            return "already read"
        key = receipt.storage_key
    image = decode(get_storage().get(key), get_settings().max_image_pixels).image
    from shared.engines.ocr.reader import shared_reader  # rapidocr: only where it runs

    lines = [ln.to_json() for ln in shared_reader(get_settings().ocr_threads).read(image)]
    try:
        with session_scope() as session:
            session.add(ReceiptText(receipt_id=receipt_id, lines=lines,
                                    reader=f"rapidocr-{version('rapidocr')}"))
    except IntegrityError:
        return "already read"  # another delivery of the same task got there first
    return "read"
