"""Checking and decoding uploaded receipt images, with messages a user can act on.

Used at upload (reject early, before anything is stored or queued) and again in the worker (the
stored file is decoded the same way, so both sides agree on what is a readable receipt).
"""

from __future__ import annotations

import codecs
import io
import warnings
from dataclasses import dataclass

from PIL import Image, UnidentifiedImageError

ACCEPTED_FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp",
                    "TIFF": "image/tiff", "BMP": "image/bmp"}
_MIN_SIDE = 16


class ImageRejected(ValueError):
    """The file is not a receipt image we can read; the message says why and what to do."""


@dataclass(frozen=True)
class DecodedImage:
    image: Image.Image  # RGB
    media_type: str


def _sniff(data: bytes) -> str | None:
    """Name well-known non-image formats, so the message can say what the file is."""
    if data.startswith(b"%PDF"):
        return "a PDF document (PDF is not supported yet: export the pages as JPEG or PNG)"
    if data.startswith((b"MZ", b"\x7fELF", b"#!")):
        return "an executable or script"
    if data.startswith(b"PK\x03\x04"):
        return "a zip archive (upload it as the batch's zip file, not as an image)"
    return None


def _claimed_format(data: bytes) -> str | None:
    """The accepted format whose signature the file starts with, if any."""
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    signatures = {"JPEG": (b"\xff\xd8\xff",), "PNG": (b"\x89PNG\r\n\x1a\n",),
                  "TIFF": (b"II*\x00", b"MM\x00*"), "BMP": (b"BM",)}
    return next((fmt for fmt, sigs in signatures.items() if data.startswith(sigs)), None)


def _looks_like_text(data: bytes) -> bool:
    """Printable UTF-8 (ASCII included) in the first 4 KB: a text file, not a binary format."""
    try:
        # Incremental, so a character cut at the 4 KB boundary is not an error.
        sample = codecs.getincrementaldecoder("utf-8")().decode(data[:4096], final=False)
    except UnicodeDecodeError:
        return False
    return bool(sample) and all(ch.isprintable() or ch in "\t\n\r\f" for ch in sample)


def decode(data: bytes, max_pixels: int) -> DecodedImage:
    """Decode fully to RGB, or raise ImageRejected. Pillow's own bomb check is made strict."""
    if not data:
        raise ImageRejected("the file is empty (0 bytes)")
    kind = _sniff(data)
    if kind:
        raise ImageRejected(f"not an image: the file is {kind}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
            fmt = img.format or ""
            if fmt not in ACCEPTED_FORMATS:
                raise ImageRejected(
                    f"unsupported image format {fmt or 'unknown'}; "
                    f"use one of {', '.join(sorted(ACCEPTED_FORMATS))}"
                )
            # Check the declared size before decoding any pixel data.
            width, height = img.size
            if width * height > max_pixels:
                raise ImageRejected(
                    f"image is {width}x{height} pixels, more than the limit of {max_pixels:,}; "
                    "scan at a lower resolution"
                )
            if min(width, height) < _MIN_SIDE:
                raise ImageRejected(f"image is only {width}x{height} pixels: too small to read")
            img.load()  # truncated or corrupt data fails here, not later in the engine
            return DecodedImage(img.convert("RGB"), ACCEPTED_FORMATS[fmt])
    except ImageRejected:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageRejected(f"image dimensions are too large (decompression bomb?): {exc}") from exc
    except UnidentifiedImageError:
        if _looks_like_text(data):
            raise ImageRejected(
                "not an image: the file is plain text; upload a photo or scan of the receipt "
                "(JPEG, PNG, WEBP, TIFF or BMP)"
            ) from None
        claimed = _claimed_format(data)
        if claimed:
            # Pillow gave up on the header: "use PNG" would be no help for a broken PNG.
            raise ImageRejected(
                f"the image is truncated or corrupt (it starts like a {claimed} file but its "
                "header cannot be read); re-export or re-scan it"
            ) from None
        raise ImageRejected(
            "not a readable image: use JPEG, PNG, WEBP, TIFF or BMP files"
        ) from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageRejected(
            f"the image is truncated or corrupt ({exc}); re-export or re-scan it"
        ) from exc

