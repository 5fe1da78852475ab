"""Request and response shapes of the JSON API (marshmallow; also the OpenAPI source)."""

from __future__ import annotations

from flask_smorest.fields import Upload
from marshmallow import Schema, ValidationError, validate, validates_schema
from marshmallow import fields as f


class FieldValueSchema(Schema):
    value = f.String()
    confidence = f.Float(metadata={"description": "0-1; lower means review this first"})
    box = f.List(f.Float(), allow_none=True,
                 metadata={"description": "[x0, y0, x1, y1] in the pixels of the page's image"})
    page = f.Integer(allow_none=True, metadata={"description": "the page the box is on (1-based)"})


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


class CorrectionSchema(Schema):
    id = f.Integer()
    field_values = f.Dict(keys=f.String(), values=f.String(), attribute="fields",
                          data_key="fields")
    author = f.String()
    created_at = f.DateTime()


class CorrectionInSchema(Schema):
    field_values = f.Dict(
        keys=f.String(), values=f.String(validate=validate.Length(max=2000)), required=True,
        attribute="fields", data_key="fields",
        metadata={"description": "field name -> corrected value"},
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
    values = f.Dict(keys=f.String(), values=f.String(),
                         metadata={"description": "corrected value if any, else extracted"})
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
    format = f.String(load_default="json", validate=validate.OneOf(["json", "csv"]))


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
