"""review reasons: the validation rules a receipt fails, stored where its values change

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 15:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON(none_as_null=True).with_variant(
    postgresql.JSONB(astext_type=sa.Text(), none_as_null=True), 'postgresql')


def upgrade() -> None:
    # NULL: not checked yet (receipts stored before this revision: `receiptflow recheck`).
    op.add_column('receipts', sa.Column('review_reasons', JSON, nullable=True))


def downgrade() -> None:
    op.drop_column('receipts', 'review_reasons')
