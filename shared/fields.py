"""The fields a receipt is read into: data, not code.

Every layer (engines, API, exports, scoring) iterates over a :class:`FieldSpec` list instead of
naming fields itself, so a deployment can extract other fields by configuring another list.
"""

from __future__ import annotations

from pydantic import BaseModel, Field


class FieldSpec(BaseModel):
    """One field to extract from a receipt."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    description: str
    # What kind of value it holds; rule-based engines pick their rules by it.
    kind: str = "text"


SROIE_FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec(name="company", description="the seller's company name", kind="company"),
    FieldSpec(name="date", description="the receipt's date, as printed", kind="date"),
    FieldSpec(name="address", description="the seller's address, as printed", kind="address"),
    FieldSpec(name="total", description="the total amount paid, digits only", kind="amount"),
)


def field_names(fields: tuple[FieldSpec, ...] | list[FieldSpec]) -> list[str]:
    return [f.name for f in fields]
