"""Values an accounting system can use, end to end through a real worker: typed values and line
items in the API, review reasons from the validation rules (in the queue, filtered, re-run on a
correction), and the exports (a CSV per receipt with typed columns, a CSV per item, nested
JSON)."""

from __future__ import annotations

import csv
import io

import pytest
from flask.testing import FlaskClient
from helpers import RECEIPT_HEADER, itemised_receipt, receipt_pdf, wait_for_batch

from shared.db.models import Receipt
from shared.db.session import session_scope

API = "/api/v1"


CONSISTENT = itemised_receipt("11.00")
# The items add up to 11.00 but the total paid is 12.00: a reviewer should look.
FLAGGED = itemised_receipt("12.00")
# The items are priced before tax, the GST printed on top: no tax field is asked for, the
# receipt's own GST row says where the 0.66 comes from.
TAXED = receipt_pdf(*RECEIPT_HEADER, "GST 6%  0.66", "TOTAL RM  11.66", "CASH  20.00",
                    "CHANGE  8.34")


@pytest.fixture
def batch(client: FlaskClient, start_worker) -> dict:  # type: ignore[no-untyped-def]
    start_worker()
    resp = client.post(f"{API}/batches", content_type="multipart/form-data", data={
        "name": "books", "files": [(io.BytesIO(CONSISTENT), "consistent.pdf"),
                                   (io.BytesIO(FLAGGED), "flagged.pdf"),
                                   (io.BytesIO(TAXED), "taxed.pdf")]})
    assert resp.status_code == 201, resp.get_json()
    body = wait_for_batch(client, resp.get_json()["id"], timeout=120)
    assert body["counts"]["done"] == 3, body
    return {r["original_name"]: r for r in body["receipts"]} | {"id": body["id"]}


def test_values_come_printed_typed_and_with_their_items(client: FlaskClient,
                                                        batch: dict) -> None:
    receipt = client.get(f"{API}/receipts/{batch['consistent.pdf']['id']}").get_json()
    assert receipt["values"]["date"] == "25/12/2018"
    assert receipt["typed"]["date"] == {"type": "date", "value": "2018-12-25",
                                        "ambiguous": False}
    assert receipt["typed"]["total"] == {"type": "amount", "value": "11.00", "currency": "MYR"}
    assert receipt["items"]["items"] == [
        {"description": "TEH TARIK", "quantity": "2", "unit_price": "1.50", "amount": "3.00"},
        {"description": "NASI LEMAK", "quantity": "", "unit_price": "", "amount": "8.00"}]
    assert receipt["review_reasons"] == []
    rows = receipt["extraction"]["fields"]["items"]["rows"]
    assert [r["cells"]["amount"]["value"] for r in rows] == ["3.00", "8.00"]
    assert all(r["box"] and 0 < r["cells"]["amount"]["confidence"] <= 1 for r in rows)


def test_a_failed_rule_is_a_review_reason_first_in_the_queue_and_a_filter(
        client: FlaskClient, batch: dict) -> None:
    flagged = batch["flagged.pdf"]["id"]
    receipt = client.get(f"{API}/receipts/{flagged}").get_json()
    assert receipt["review_reasons"] == [
        {"rule": "items_sum", "message": "items sum to 11.00 but the total is 12.00"}]
    queue = client.get(f"/review?batch={batch['id']}").data.decode()
    assert queue.index("flagged.pdf") < queue.index("consistent.pdf")
    assert "items sum to 11.00 but the total is 12.00" in queue
    only = client.get(f"/review?batch={batch['id']}&reason=items_sum").data.decode()
    assert "flagged.pdf" in only and "consistent.pdf" not in only
    page = client.get(f"/receipts/{flagged}").data.decode()
    assert 'id="review-reasons"' in page and "items sum to 11.00" in page


def test_items_priced_before_a_printed_tax_are_no_review_reason(client: FlaskClient,
                                                                batch: dict) -> None:
    receipt = client.get(f"{API}/receipts/{batch['taxed.pdf']['id']}").get_json()
    assert receipt["values"]["total"] == "11.66"
    assert [i["amount"] for i in receipt["items"]["items"]] == ["3.00", "8.00"]
    assert receipt["review_reasons"] == []


def test_a_correction_runs_the_rules_again(client: FlaskClient, batch: dict) -> None:
    flagged = batch["flagged.pdf"]["id"]
    rows = [{"description": "TEH TARIK", "quantity": "2", "unit_price": "1.50", "amount": "3.00"},
            {"description": "NASI LEMAK", "quantity": "", "unit_price": "", "amount": "8.00"},
            {"description": "KEROPOK", "quantity": "", "unit_price": "", "amount": "1.00"}]
    resp = client.post(f"{API}/receipts/{flagged}/corrections", json={"fields": {"items": rows}})
    assert resp.status_code == 201, resp.get_json()
    receipt = client.get(f"{API}/receipts/{flagged}").get_json()
    assert receipt["items"]["items"] == rows and receipt["review_reasons"] == []
    with session_scope() as session:
        assert session.get(Receipt, flagged).review_reasons == []
    # A text correction keeps the corrected items and re-checks them against the new total.
    client.post(f"{API}/receipts/{flagged}/corrections", json={"fields": {"total": "RM 13.00"}})
    receipt = client.get(f"{API}/receipts/{flagged}").get_json()
    assert receipt["items"]["items"] == rows
    assert receipt["typed"]["total"]["value"] == "13.00"
    assert [r["rule"] for r in receipt["review_reasons"]] == ["items_sum"]


def test_the_receipt_page_edits_items(client: FlaskClient, batch: dict) -> None:
    """The form posts each cell as items.ROW.COLUMN; an emptied row is removed."""
    rid = batch["consistent.pdf"]["id"]
    page = client.get(f"/receipts/{rid}").data.decode()
    assert 'name="items.0.description" value="TEH TARIK"' in page
    form = {"items.rows": "2", "items.0.description": "TEH TARIK", "items.0.quantity": "2",
            "items.0.unit_price": "1.50", "items.0.amount": "3.00",
            "items.1.description": "", "items.1.quantity": "", "items.1.unit_price": "",
            "items.1.amount": "", "items.2.description": "NASI GORENG",
            "items.2.amount": "8.00", "then": "stay"}
    assert client.post(f"/receipts/{rid}", data=form).status_code == 302
    items = client.get(f"{API}/receipts/{rid}").get_json()["items"]["items"]
    assert [(i["description"], i["amount"]) for i in items] == [("TEH TARIK", "3.00"),
                                                                ("NASI GORENG", "8.00")]


def test_exports_carry_printed_and_typed_values_and_the_items(client: FlaskClient,
                                                              batch: dict) -> None:
    url = f"{API}/batches/{batch['id']}/export"
    rows = {r["file"]: r for r in csv.DictReader(io.StringIO(
        client.get(f"{url}?format=csv").data.decode("utf-8-sig")))}
    row = rows["consistent.pdf"]
    assert (row["date"], row["date_iso"]) == ("25/12/2018", "2018-12-25")
    assert (row["total"], row["total_value"], row["total_currency"]) == ("11.00", "11.00",
                                                                         "MYR")
    assert row["review_reasons"] == ""
    assert rows["flagged.pdf"]["review_reasons"] == "items sum to 11.00 but the total is 12.00"
    items = list(csv.DictReader(io.StringIO(
        client.get(f"{url}?format=items-csv").data.decode("utf-8-sig"))))
    mine = [i for i in items if i["file"] == "consistent.pdf"]
    assert [(i["line"], i["description"], i["quantity"], i["amount"], i["amount_value"])
            for i in mine] == [("1", "TEH TARIK", "2", "3.00", "3.00"),
                               ("2", "NASI LEMAK", "", "8.00", "8.00")]
    assert {i["currency"] for i in mine} == {"MYR"}
    nested = client.get(f"{url}?format=json").get_json()
    entry = next(r for r in nested["receipts"] if r["file"] == "consistent.pdf")
    assert entry["fields"]["total"] == {"printed": "11.00", "typed": {
        "type": "amount", "value": "11.00", "currency": "MYR"}}
    assert entry["items"]["items"][1] == {
        "cells": {"description": "NASI LEMAK", "quantity": "", "unit_price": "",
                  "amount": "8.00"},
        "typed": {"amount": {"type": "amount", "value": "8.00", "currency": "MYR"}}}


def test_the_openapi_document_describes_the_types(client: FlaskClient) -> None:
    spec = client.get(f"{API}/openapi.json").get_json()
    schemas = spec["components"]["schemas"]
    assert "ISO 8601" in schemas["TypedValue"]["properties"]["value"]["description"]
    assert {"typed", "items", "review_reasons"} <= set(schemas["ReceiptSummary"]["properties"])
    assert "items-csv" in str(spec["paths"][f"{API}/batches/{{batch_id}}/export"])
