"""A receipt in the forms people have it, made from a JPEG and its ground-truth text lines: a
scanned PDF, a digital PDF (the lines drawn as text at their boxes), a two-page PDF (the receipt
cut in two), HEIC, turned 90/180/270 degrees, tilted; and PDFs that must be refused. Used by the
document benchmark (`document_formats.py`) and the tests, so both measure the same files.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

from fpdf import FPDF
from PIL import Image

# 1 image pixel = 0.5 pt: a SROIE receipt (~460 x 1000 px) is a ~8 x 18 cm page, and rendered at
# the product's 200 dpi it comes back at ~1.4x its pixels.
PT_PER_PX = 0.5


def jpeg(image: Image.Image, quality: int = 90) -> bytes:
    buf = io.BytesIO()
    image.convert("RGB").save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def heic(image: Image.Image) -> bytes:
    import pillow_heif

    pillow_heif.register_heif_opener()
    buf = io.BytesIO()
    image.convert("RGB").save(buf, "HEIF", quality=90)
    return buf.getvalue()


def scanned_pdf(images: Sequence[Image.Image]) -> bytes:
    """Image-only pages, as a scanner writes them (Pillow's PDF writer)."""
    buf = io.BytesIO()
    first, *rest = [im.convert("RGB") for im in images]
    first.save(buf, "PDF", save_all=True, append_images=rest, resolution=144)
    return buf.getvalue()


def digital_pdf(pages: Sequence[tuple[tuple[int, int], Sequence[dict]]]) -> bytes:
    """Text pages: each ``((width, height), lines)`` with lines ``{"box", "text"}`` in image
    pixels, every line drawn as text filling its box's height."""
    pdf = FPDF(unit="pt", format=(100, 100))
    pdf.set_auto_page_break(False)
    pdf.set_margins(0, 0)
    for (width, height), lines in pages:
        pdf.add_page(format=(width * PT_PER_PX, height * PT_PER_PX))
        for line in lines:
            x0, y0, _x1, y1 = line["box"]
            size = max(3.0, (y1 - y0) * PT_PER_PX * 0.8)
            pdf.set_font("helvetica", size=size)
            text = line["text"].encode("latin-1", "replace").decode("latin-1")
            pdf.text(x0 * PT_PER_PX, y1 * PT_PER_PX - size * 0.2, text)
    return bytes(pdf.output())


def cut_in_two(image: Image.Image, lines: Sequence[dict]) -> tuple[list[Image.Image],
                                                                   list[list[dict]]]:
    """The receipt cut between two lines near its middle: the top half and the bottom half
    (with the total) as two pages, each page's lines in its own pixels."""
    middle = image.height / 2
    cut = round(min((ln["box"][1] for ln in lines if ln["box"][1] >= middle),
                    default=middle))
    top = [ln for ln in lines if ln["box"][3] <= cut]
    bottom = [{**ln, "box": [ln["box"][0], ln["box"][1] - cut, ln["box"][2], ln["box"][3] - cut]}
              for ln in lines if ln["box"][3] > cut]
    return [image.crop((0, 0, image.width, cut)),
            image.crop((0, cut, image.width, image.height))], [top, bottom]


def turned(image: Image.Image, degrees: float) -> Image.Image:
    """Counter-clockwise, as a phone held the wrong way; small angles are a tilt on white."""
    return image.rotate(degrees, expand=True, fillcolor="white", resample=Image.BICUBIC)


# --- PDFs that must be refused ---------------------------------------------------------------

def _pdf(objects: Sequence[bytes]) -> bytes:
    """A PDF from its objects' bodies (object 1 is the catalog), with a correct xref table."""
    out = bytearray(b"%PDF-1.7\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    out += (f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n"
            "%%EOF\n").encode()
    return bytes(out)


def javascript_pdf() -> bytes:
    return _pdf([b"<< /Type /Catalog /Pages 2 0 R /Names << /JavaScript 4 0 R >> >>",
                 b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
                 b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >>",
                 b"<< /Names [(hello) 5 0 R] >>",
                 b"<< /S /JavaScript /JS (app.alert\\(1\\);) >>"])


def zero_page_pdf() -> bytes:
    return _pdf([b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [] /Count 0 >>"])


def _text_pdf(pages: int = 1, size_pt: tuple[float, float] = (200, 300)) -> FPDF:
    pdf = FPDF(unit="pt", format=size_pt)
    pdf.set_font("helvetica", size=10)
    for _ in range(pages):
        pdf.add_page()
        pdf.text(20, 40, "SHOP SDN BHD  TOTAL 12.00")
    return pdf


def encrypted_pdf() -> bytes:
    pdf = _text_pdf()
    pdf.set_encryption(owner_password="owner", user_password="user")
    return bytes(pdf.output())


def attachment_pdf() -> bytes:
    pdf = _text_pdf()
    pdf.embed_file(basename="invoice.exe", bytes=b"MZ not really")
    return bytes(pdf.output())


def many_pages_pdf(pages: int) -> bytes:
    return bytes(_text_pdf(pages).output())


def huge_page_pdf() -> bytes:
    return bytes(_text_pdf(size_pt=(14000, 14000)).output())
