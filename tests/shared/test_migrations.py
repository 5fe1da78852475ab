"""The Alembic migrations and the models agree, and 0005 carries existing receipts onto pages."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, text

from shared.db.migrate import upgrade
from shared.db.models import Base


def test_the_models_are_what_the_migrations_make(services: dict[str, str]) -> None:
    """On the suite's own database (PostgreSQL in CI), migrated to head at the start."""
    engine = create_engine(services["DATABASE_URL"])
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    engine.dispose()
    assert diff == [], "a model changed without a migration (or the other way round)"


def test_0005_moves_each_receipt_and_its_text_lines_onto_page_1(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    upgrade(url, "0004")
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO batches (id, name, engine, fields, created_by, created_at)"
                          " VALUES (1, 'old', 'ocr', '[]', '', '2026-11-01')"))
        conn.execute(text(
            "INSERT INTO receipts (id, batch_id, original_name, storage_key, size_bytes, "
            "media_type, width, height, status, attempts, created_at, updated_at) VALUES "
            "(1, 1, 'a.jpg', :key, 10, 'image/jpeg', 463, 1013, 'done', 1, '2026-11-01', "
            "'2026-11-01'), (2, 1, 'bad.txt', NULL, 3, NULL, NULL, NULL, 'failed', 0, "
            "'2026-11-01', '2026-11-01')"), {"key": "ab" * 32})
        conn.execute(text("INSERT INTO receipt_texts (receipt_id, lines, reader, created_at) "
                          "VALUES (1, :lines, 'rapidocr-3.10.0', '2026-11-01')"),
                     {"lines": '[{"text": "TOTAL 9.00", "box": [1, 2, 3, 4], "score": 0.9}]'})
    upgrade(url)
    with engine.connect() as conn:
        pages = conn.execute(text(
            "SELECT receipt_id, number, storage_key, width, height, source, lines, lines_source "
            "FROM receipt_pages")).all()
        tables = set(conn.execute(text("SELECT name FROM sqlite_master WHERE type='table'"))
                     .scalars())
    engine.dispose()
    assert len(pages) == 1  # the refused file had nothing stored: no page
    receipt, number, key, width, height, source, lines, lines_source = pages[0]
    assert (receipt, number, key, width, height, source) == (1, 1, "ab" * 32, 463, 1013, "image")
    assert "TOTAL 9.00" in lines and lines_source == "rapidocr-3.10.0"
    assert "receipt_texts" not in tables
