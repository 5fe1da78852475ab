"""Request and response shapes of the JSON API (marshmallow; also the OpenAPI source)."""

from __future__ import annotations

from flask_smorest.fields import Upload
from marshmallow import Schema, ValidationError, validate, validates_schema
from marshmallow import fields as f


class CellSchema(Schema):
    value = f.String()
    confidence = f.Float()


class ItemRowSchema(Schema):
    cells = f.Dict(keys=f.String(), values=f.Nested(CellSchema),
                   metadata={"description": "column name -> cell"})
    box = f.List(f.Float(), allow_none=True)
    page = f.Integer(allow_none=True)


class TypedValueSchema(Schema):
    type = f.String(metadata={"description": "date | amount | currency | phone | "
                                             "payment_method | text"})
    value = f.String(allow_none=True, metadata={
        "description": "date: ISO 8601 (2018-12-25); amount: a decimal (14.10); currency: ISO "
                       "4217 (MYR); phone: international (+6071234567); payment_method: cash, "
                       "card, e-wallet, voucher"})
    currency = f.String(allow_none=True, metadata={"description": "amounts: ISO 4217"})
    rate = f.String(metadata={"description": "a tax amount's rate, in percent, when printed"})
    ambiguous = f.Boolean(metadata={"description": "dates: day and month could be swapped "
                                                   "and nothing on the receipt tells which"})
    other = f.String(metadata={"description": "an ambiguous date's other reading"})
    network = f.String(allow_none=True, metadata={"description": "card payments: visa, ..."})


class ReasonSchema(Schema):
    rule = f.String(metadata={"description": "the validation rule, e.g. items_sum"})
    message = f.String(metadata={"description": "what is wrong, e.g. items sum to 68.87 but "
                                                "the total is 73.00"})


class FieldValueSchema(Schema):
    value = f.String()
    confidence = f.Float(metadata={"description": "0-1; lower means review this first"})
    box = f.List(f.Float(), allow_none=True,
                 metadata={"description": "[x0, y0, x1, y1] in the pixels of the page's image"})
    page = f.Integer(allow_none=True, metadata={"description": "the page the box is on (1-based)"})
    rows = f.List(f.Nested(ItemRowSchema), metadata={"description": "a table field's rows"})


class PageSchema(Schema):
    number = f.Integer(metadata={"description": "1-based"})
    width = f.Integer()
    height = f.Integer()
    source = f.String(metadata={"description": "image | tiff-frame | pdf-text (read from the "
                                               "PDF's text layer, no OCR) | pdf-scan"})
    transforms = f.List(f.Dict(), metadata={
        "description": "what was done to make this page from the upload, e.g. "
                       "{\"op\": \"rotate\", \"degrees\": 90}; the upload is never changed"})
    lines_source = f.String(allow_none=True)
    image_url = f.String()


class ExtractionSchema(Schema):
    id = f.Integer()
    engine = f.String()
    model_name = f.String()
    model_version_id = f.Integer(allow_none=True)
    field_values = f.Dict(keys=f.String(), values=f.Nested(FieldValueSchema),
                          attribute="fields", data_key="fields")
    duration_ms = f.Float()
    created_at = f.DateTime()


class CorrectionValue(f.Field):
    """A corrected value: text for a text field, a list of rows (column -> text) for a table
    field."""

    def _deserialize(self, value: object, attr: str | None, data: object, **kwargs: object
                     ) -> object:
        if isinstance(value, str):
            return value
        if isinstance(value, list) and all(
                isinstance(row, dict) and all(isinstance(k, str) and isinstance(v, str)
                                              for k, v in row.items()) for row in value):
            return value
        raise ValidationError("give text, or for a table field a list of rows of text")


class CorrectionSchema(Schema):
    id = f.Integer()
    field_values = f.Dict(keys=f.String(), values=f.Raw(), attribute="fields",
                          data_key="fields")
    author = f.String()
    created_at = f.DateTime()


class CorrectionInSchema(Schema):
    field_values = f.Dict(
        keys=f.String(validate=validate.Length(max=100)), values=CorrectionValue(metadata={
            "oneOf": [{"type": "string", "maxLength": 2000},
                      {"type": "array", "maxItems": 500, "items": {
                          "type": "object", "additionalProperties": {"type": "string"}}}]}),
        required=True, attribute="fields", data_key="fields",
        metadata={"description": "field name -> corrected value: text, or for a table field "
                                 "(line items) its rows, e.g. [{\"description\": \"TEA\", "
                                 "\"amount\": \"2.00\"}]"},
    )
    author = f.String(load_default="api", validate=validate.Length(min=1, max=120))

    @validates_schema
    def _not_empty(self, data: dict, **_: object) -> None:
        if not data.get("fields"):
            raise ValidationError("give at least one field to correct", "fields")


class ReceiptSummarySchema(Schema):
    id = f.Integer()
    batch_id = f.Integer()
    original_name = f.String()
    status = f.String()
    error = f.String(allow_none=True)
    acceptance = f.String(allow_none=True, metadata={
        "description": "auto: accepted without review (every field passed its calibrated "
                       "threshold, no rule failed); audit: passed, but sampled for review to "
                       "keep measuring the error; null: needs review"})
    values = f.Dict(keys=f.String(), values=f.String(),
                    metadata={"description": "each text field as printed: corrected value if "
                                             "any, else extracted"})
    typed = f.Dict(keys=f.String(), values=f.Nested(TypedValueSchema), metadata={
        "description": "each typed field's normalised value (dates, amounts with currency, "
                       "...), read from its printed value; a field that cannot be read is absent"})
    items = f.Dict(keys=f.String(), values=f.List(f.Dict(keys=f.String(), values=f.String())),
                   metadata={"description": "each table field's rows (column -> printed value)"})
    review_reasons = f.List(f.Nested(ReasonSchema), metadata={
        "description": "validation rules this receipt fails: why a reviewer should look"})
    created_at = f.DateTime()
    finished_at = f.DateTime(allow_none=True)


class ReceiptSchema(ReceiptSummarySchema):
    content_hash = f.String(allow_none=True)
    media_type = f.String(allow_none=True)
    width = f.Integer(allow_none=True)
    height = f.Integer(allow_none=True)
    size_bytes = f.Integer()
    attempts = f.Integer()
    image_url = f.String(allow_none=True, metadata={"description": "page 1's image"})
    original_url = f.String(allow_none=True, metadata={"description": "the upload as it came"})
    pages = f.List(f.Nested(PageSchema))
    extraction = f.Nested(ExtractionSchema, allow_none=True)
    corrections = f.List(f.Nested(CorrectionSchema))


class BatchSchema(Schema):
    id = f.Integer()
    name = f.String()
    engine = f.String()
    field_names = f.List(f.String(), attribute="fields", data_key="fields",
                         metadata={"description": "field names extracted"})
    created_at = f.DateTime()
    total = f.Integer()
    counts = f.Dict(keys=f.String(), values=f.Integer(),
                         metadata={"description": "receipts per status"})
    finished = f.Boolean(metadata={"description": "no receipt queued or processing"})


class BatchDetailSchema(BatchSchema):
    receipts = f.List(f.Nested(ReceiptSummarySchema))


class BatchUploadSchema(Schema):
    files = f.List(Upload(), required=True,
                        metadata={"description": "receipt images and/or zip archives of them"})


class BatchFormSchema(Schema):
    name = f.String(load_default="", validate=validate.Length(max=200))
    engine = f.String(load_default=None, allow_none=True)


class ExportQuerySchema(Schema):
    format = f.String(load_default="json", validate=validate.OneOf(["json", "csv", "items-csv"]),
                      metadata={"description": "json: nested (fields printed and typed, line "
                                               "items, review reasons); csv: a row per receipt; "
                                               "items-csv: a row per line item"})


class ErrorSchema(Schema):
    code = f.Integer()
    status = f.String()
    message = f.String()


class TrainingRunInSchema(Schema):
    engine = f.String(load_default=None, allow_none=True, metadata={
        "description": "internvl (QLoRA adapter) or ocr (learned field extractor); "
                       "default: the configured engine"})
    params = f.Dict(load_default=dict, metadata={
        "description": "trainer settings, e.g. epochs, batch_size, learning_rate, lora_r, "
                       "precision (4bit|bf16), held_out (fraction), model (checkpoint path)"})
    receipt_ids = f.List(f.Integer(), load_default=list,
                         metadata={"description": "train on these reviewed receipts only"})
    auto_promote = f.Boolean(load_default=False,
                             metadata={"description": "promote if it beats the current model"})


class TrainingRunSchema(Schema):
    id = f.Integer()
    engine = f.String()
    status = f.String()
    params = f.Dict()
    dataset = f.Dict()
    progress = f.Float()
    loss_log = f.List(f.Dict())
    metrics = f.Dict()
    error = f.String(allow_none=True)
    requested_by = f.String()
    created_at = f.DateTime()
    started_at = f.DateTime(allow_none=True)
    finished_at = f.DateTime(allow_none=True)


class ModelVersionSchema(Schema):
    id = f.Integer()
    engine = f.String()
    name = f.String()
    base_model = f.String()
    status = f.String()
    metrics = f.Dict()
    error = f.String(allow_none=True)
    training_run_id = f.Integer(allow_none=True)
    created_at = f.DateTime()
    activated_at = f.DateTime(allow_none=True)


class ReviewedExportQuerySchema(Schema):
    format = f.String(load_default="csv", validate=validate.OneOf(["csv", "jsonl"]))


class DeletedSchema(Schema):
    receipts = f.Integer(metadata={"description": "receipts deleted, with their extractions, "
                                                  "corrections and text lines"})
    files = f.Integer(metadata={"description": "stored files removed (a file another receipt "
                                               "still uses is kept)"})


class AuditEventSchema(Schema):
    id = f.Integer()
    at = f.DateTime()
    actor = f.String()
    action = f.String()
    target = f.String()
    details = f.Dict()


class WebhookInSchema(Schema):
    url = f.String(required=True, validate=validate.Length(min=1, max=2000), metadata={
        "description": "where events are POSTed: a public https:// (or http://) URL"})
    events = f.List(f.String(), required=True, validate=validate.Length(min=1, max=20),
                    metadata={"description": "event kinds: receipt.done, receipt.failed, "
                                             "batch.finished, receipt.reviewed, "
                                             "model_version.promoted"})


class WebhookSchema(Schema):
    id = f.Integer()
    url = f.String()
    events = f.List(f.String())
    active = f.Boolean()
    created_by = f.String()
    created_at = f.DateTime()
    previous_secret_expires_at = f.DateTime(allow_none=True, metadata={
        "description": "after a rotation: until then, deliveries are also signed with the "
                       "old secret"})


class WebhookCreatedSchema(WebhookSchema):
    secret = f.String(metadata={
        "description": "the signing secret, shown this once: X-ReceiptFlow-Signature is "
                       "t=<unix time>,v1=<hex HMAC-SHA256(secret, '<t>.<body>')>"})


class WebhookDeliverySchema(Schema):
    id = f.Integer()
    webhook_id = f.Integer()
    event_id = f.String()
    event = f.String()
    status = f.String(metadata={"description": "pending, delivered or failed (for good)"})
    attempts = f.Integer()
    last_status_code = f.Integer(allow_none=True)
    last_error = f.String(allow_none=True)
    next_attempt_at = f.DateTime()
    deadline_at = f.DateTime()
    created_at = f.DateTime()
    delivered_at = f.DateTime(allow_none=True)
    log = f.List(f.Dict(), metadata={"description": "the last attempts: at, status_code, "
                                                    "error, ms"})
    payload = f.Dict()


class DeliveryQuerySchema(Schema):
    status = f.String(load_default=None, validate=validate.OneOf(
        ["pending", "delivered", "failed"]))
    limit = f.Integer(load_default=100, validate=validate.Range(min=1, max=1000))
