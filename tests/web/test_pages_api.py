"""The API's view of documents: a receipt lists its pages, each page's image is served, the
upload is kept as it came; a one-page photo looks as it always did."""

from __future__ import annotations

import io

from flask.testing import FlaskClient
from helpers import DATA
from helpers import document_forms as forms
from PIL import Image

API = "/api/v1"


def _upload(client: FlaskClient, name: str, data: bytes) -> dict:
    resp = client.post(f"{API}/batches", content_type="multipart/form-data",
                       data={"files": [(io.BytesIO(data), name)]})
    assert resp.status_code == 201, resp.get_json()
    return client.get(f"{API}/receipts/{resp.get_json()['receipts'][0]['id']}").get_json()


def test_a_two_page_pdf_lists_its_pages(client: FlaskClient) -> None:
    image = Image.open(DATA / "sroie-000.jpg").convert("RGB")
    pdf = forms.scanned_pdf([image.crop((0, 0, 463, 500)), image.crop((0, 500, 463, 1013))])
    receipt = _upload(client, "two.pdf", pdf)
    assert receipt["status"] == "queued" and receipt["media_type"] == "application/pdf"
    assert [p["number"] for p in receipt["pages"]] == [1, 2]
    assert all(p["source"] == "pdf-scan" for p in receipt["pages"])
    for page in receipt["pages"]:
        served = client.get(page["image_url"])
        assert served.status_code == 200 and served.mimetype == "image/jpeg"
        assert Image.open(io.BytesIO(served.data)).size == (page["width"], page["height"])
    assert client.get(receipt["image_url"]).data == client.get(
        receipt["pages"][0]["image_url"]).data  # image_url is page 1
    original = client.get(receipt["original_url"])
    assert original.data == pdf and original.mimetype == "application/pdf"
    assert original.headers["Content-Disposition"] == "attachment; filename*=UTF-8''two.pdf"
    missing = client.get(f"{API}/receipts/{receipt['id']}/pages/3/image")
    assert missing.status_code == 404
    assert missing.get_json()["message"] == f"receipt {receipt['id']} has no page 3: it has 2"


def test_a_photo_is_its_own_single_page(client: FlaskClient) -> None:
    data = (DATA / "sroie-001.jpg").read_bytes()
    receipt = _upload(client, "photo.jpg", data)
    (page,) = receipt["pages"]
    assert (page["source"], page["transforms"]) == ("image", [])
    assert client.get(receipt["image_url"]).data == data  # the upload itself, no rendition
    assert receipt["media_type"] == "image/jpeg"
    assert (receipt["width"], receipt["height"]) == (page["width"], page["height"])
