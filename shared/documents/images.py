"""Raster files as pages: JPEG, PNG, WebP, BMP, HEIC/HEIF (iPhones) and TIFF (every frame a
page), EXIF orientation applied first, each checked with a message a user can act on.

Used at upload (reject early, before anything is stored or queued) and wherever a stored page
is decoded again, so every side agrees on what is a readable receipt.
"""

from __future__ import annotations

import codecs
import io
import warnings
from dataclasses import dataclass, field
from typing import Any

import pillow_heif
from PIL import Image, ImageOps, UnidentifiedImageError

pillow_heif.register_heif_opener()

ACCEPTED_FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp",
                    "TIFF": "image/tiff", "BMP": "image/bmp", "HEIF": "image/heic"}
# What a browser shows as it is: other formats get a JPEG rendition for the review page.
WEB_FORMATS = {"JPEG", "PNG", "WEBP"}
_MIN_SIDE = 16
FORMAT_NAMES = "JPEG, PNG, WebP, HEIC, TIFF, BMP or PDF"


class DocumentRejected(ValueError):
    """Not a receipt we can read; the message says why and what to do."""


@dataclass(frozen=True)
class DecodedImage:
    image: Image.Image  # RGB, upright (EXIF orientation applied)
    media_type: str
    # What was done to the stored bytes to get this image (e.g. the EXIF rotation).
    transforms: tuple[dict[str, Any], ...] = field(default_factory=tuple)
    web_ready: bool = True  # the stored bytes are this very image, in a format browsers show


def _sniff(data: bytes) -> str | None:
    """Name well-known non-image formats, so the message can say what the file is."""
    if data.startswith((b"MZ", b"\x7fELF", b"#!")):
        return "an executable or script"
    if data.startswith(b"PK\x03\x04"):
        return "a zip archive (upload it as the batch's zip file, not as an image)"
    return None


def _claimed_format(data: bytes) -> str | None:
    """The accepted format whose signature the file starts with, if any."""
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    if data[4:8] == b"ftyp" and data[8:12] in (b"heic", b"heix", b"mif1", b"msf1", b"heif"):
        return "HEIC"
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


def _check_size(width: int, height: int, max_pixels: int, what: str = "image") -> None:
    if width * height > max_pixels:
        raise DocumentRejected(
            f"{what} is {width}x{height} pixels, more than the limit of {max_pixels:,}; "
            "scan at a lower resolution")
    if min(width, height) < _MIN_SIDE:
        raise DocumentRejected(f"{what} is only {width}x{height} pixels: too small to read")


def _upright(frame: Image.Image) -> tuple[Image.Image, tuple[dict[str, Any], ...]]:
    """The frame turned as its EXIF orientation says (phones store photos sideways and say so
    in the tag), in RGB."""
    orientation = frame.getexif().get(0x0112, 1)
    turned = ImageOps.exif_transpose(frame) if orientation not in (1, None) else frame
    done = ({"op": "exif_orientation", "tag": int(orientation)},) if turned is not frame else ()
    return turned.convert("RGB"), done


def decode_pages(data: bytes, max_pixels: int, max_pages: int) -> list[DecodedImage]:
    """Every frame of a raster file (a TIFF may hold several), or DocumentRejected."""
    if not data:
        raise DocumentRejected("the file is empty (0 bytes)")
    kind = _sniff(data)
    if kind:
        raise DocumentRejected(f"not an image: the file is {kind}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
            fmt = img.format or ""
            if fmt not in ACCEPTED_FORMATS:
                raise DocumentRejected(f"unsupported image format {fmt or 'unknown'}; use "
                                       f"{FORMAT_NAMES}")
            frames = getattr(img, "n_frames", 1) if fmt == "TIFF" else 1
            if frames > max_pages:
                raise DocumentRejected(
                    f"the TIFF has {frames} pages, more than the limit of {max_pages} "
                    "(RECEIPTFLOW_MAX_PAGES); split it into smaller files")
            pages = []
            for index in range(frames):
                if frames > 1:
                    img.seek(index)
                # Check the declared size before decoding any pixel data.
                _check_size(*img.size, max_pixels,
                            f"page {index + 1}" if frames > 1 else "image")
                img.load()  # truncated or corrupt data fails here, not later in the engine
                image, transforms = _upright(img)
                pages.append(DecodedImage(image, ACCEPTED_FORMATS[fmt], transforms,
                                          web_ready=fmt in WEB_FORMATS and not transforms
                                          and frames == 1))
            return pages
    except DocumentRejected:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise DocumentRejected(
            f"image dimensions are too large (decompression bomb?): {why(exc)}") from exc
    except UnidentifiedImageError:
        if _looks_like_text(data):
            raise DocumentRejected(
                "not an image: the file is plain text; upload a photo, scan or PDF of the "
                f"receipt ({FORMAT_NAMES})") from None
        claimed = _claimed_format(data)
        if claimed:
            # Pillow gave up on the header: "use PNG" would be no help for a broken PNG.
            raise DocumentRejected(
                f"the image is truncated or corrupt (it starts like a {claimed} file but its "
                "header cannot be read); re-export or re-scan it") from None
        raise DocumentRejected(f"not a readable image: use {FORMAT_NAMES} files") from None
    except (OSError, SyntaxError, ValueError, RuntimeError) as exc:
        # pillow-heif reports an undecodable HEIC as a RuntimeError or ValueError.
        raise DocumentRejected(
            f"the image is truncated or corrupt ({why(exc)}); re-export or re-scan it") from exc


def why(exc: BaseException) -> str:
    """A library's error text as one line, for a message shown to the user."""
    return " ".join(str(exc).split()).rstrip(".")



def decode(data: bytes, max_pixels: int) -> DecodedImage:
    """One image: the first page of a raster file (stored page renditions are one page)."""
    return decode_pages(data, max_pixels, max_pages=1_000)[0]
