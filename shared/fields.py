"""The fields a receipt is read into: data, not code.

Every layer (engines, API, exports, scoring) iterates over a :class:`FieldSpec` list instead of
naming fields itself, so a deployment can extract other fields by configuring another list. A
field's ``kind`` says what it holds: the rules that read it, and how its printed text is typed
(``shared/values``). A field of kind ``items`` is a table (line items), its columns data too.
"""

from __future__ import annotations

from pydantic import BaseModel, Field, model_validator

NAME = r"^[a-z][a-z0-9_]*$"


class ColumnSpec(BaseModel):
    """One column of a table field."""

    name: str = Field(pattern=NAME)
    description: str
    kind: str = "text"  # text | number | amount


class FieldSpec(BaseModel):
    """One field to extract from a receipt."""

    name: str = Field(pattern=NAME)
    description: str
    # What kind of value it holds; rule-based engines pick their rules by it, and typed values
    # follow it: company, address, text, date, amount (the total), subtotal, tax, currency,
    # receipt_number, payment_method, phone, items (a table).
    kind: str = "text"
    columns: list[ColumnSpec] | None = None  # for kind "items"; the standard four by default

    @model_validator(mode="after")
    def _table_columns(self) -> FieldSpec:
        if self.kind == "items" and not self.columns:
            self.columns = list(ITEM_COLUMNS)
        if self.kind != "items" and self.columns:
            raise ValueError(f"field {self.name!r}: only a field of kind 'items' has columns")
        return self

    @property
    def is_table(self) -> bool:
        return self.kind == "items"


ITEM_COLUMNS: tuple[ColumnSpec, ...] = (
    ColumnSpec(name="description", description="what was bought, as printed"),
    ColumnSpec(name="quantity", description="how many (1 when not printed)", kind="number"),
    ColumnSpec(name="unit_price", description="the price of one, as printed", kind="amount"),
    ColumnSpec(name="amount", description="the line's amount, as printed", kind="amount"),
)

SROIE_FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec(name="company", description="the seller's company name", kind="company"),
    FieldSpec(name="date", description="the receipt's date, as printed", kind="date"),
    FieldSpec(name="address", description="the seller's address, as printed", kind="address"),
    FieldSpec(name="total", description="the total amount paid, digits only", kind="amount"),
)
ITEMS_FIELD = FieldSpec(name="items", description="the receipt's line items", kind="items")

# Named field lists (RECEIPTFLOW_FIELDS); RECEIPTFLOW_FIELDS_FILE gives any other.
FIELD_SETS: dict[str, tuple[FieldSpec, ...]] = {
    "sroie": SROIE_FIELDS,
    "standard": (*SROIE_FIELDS, ITEMS_FIELD),
    "accounting": (
        *SROIE_FIELDS,
        FieldSpec(name="subtotal", description="the amount before tax, as printed",
                  kind="subtotal"),
        FieldSpec(name="tax", description="the tax amount, as printed", kind="tax"),
        FieldSpec(name="currency", description="the currency, as printed", kind="currency"),
        FieldSpec(name="receipt_number", description="the receipt or invoice number",
                  kind="receipt_number"),
        FieldSpec(name="payment_method", description="how it was paid (cash, card, ...)",
                  kind="payment_method"),
        FieldSpec(name="phone", description="the seller's phone number", kind="phone"),
        ITEMS_FIELD,
    ),
}


def field_names(fields: tuple[FieldSpec, ...] | list[FieldSpec]) -> list[str]:
    return [f.name for f in fields]
