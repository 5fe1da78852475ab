"""receipt pages: a receipt is a document of one or more pages; text lines move onto pages

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 14:05:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')


def upgrade() -> None:
    op.create_table('receipt_pages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('receipt_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('storage_key', sa.String(length=80), nullable=False),
    sa.Column('media_type', sa.String(length=40), nullable=False),
    sa.Column('width', sa.Integer(), nullable=False),
    sa.Column('height', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.Column('lines', JSON, nullable=True),
    sa.Column('lines_source', sa.String(length=80), nullable=True),
    sa.Column('transforms', JSON, nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['receipt_id'], ['receipts.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('receipt_id', 'number', name='uq_receipt_pages_number')
    )
    op.create_index('ix_receipt_pages_receipt_id', 'receipt_pages', ['receipt_id'], unique=False)
    # Every stored receipt so far is one image: it becomes its own page 1, with the text lines
    # a worker read for it.
    op.execute(
        "INSERT INTO receipt_pages (receipt_id, number, storage_key, media_type, width, height, "
        "source, lines, lines_source, transforms, created_at, updated_at) "
        "SELECT r.id, 1, r.storage_key, COALESCE(r.media_type, 'image/jpeg'), "
        "COALESCE(r.width, 0), COALESCE(r.height, 0), 'image', t.lines, t.reader, '[]', "
        "r.created_at, r.created_at "
        "FROM receipts r LEFT JOIN receipt_texts t ON t.receipt_id = r.id "
        "WHERE r.storage_key IS NOT NULL")
    op.drop_table('receipt_texts')


def downgrade() -> None:
    op.create_table('receipt_texts',
    sa.Column('receipt_id', sa.Integer(), nullable=False),
    sa.Column('lines', JSON, nullable=False),
    sa.Column('reader', sa.String(length=80), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['receipt_id'], ['receipts.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('receipt_id')
    )
    op.execute(
        "INSERT INTO receipt_texts (receipt_id, lines, reader, created_at) "
        "SELECT receipt_id, lines, COALESCE(lines_source, 'unknown'), created_at "
        "FROM receipt_pages WHERE number = 1 AND lines IS NOT NULL")
    op.drop_index('ix_receipt_pages_receipt_id', table_name='receipt_pages')
    op.drop_table('receipt_pages')
