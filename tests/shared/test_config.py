"""Settings are read from the environment and bad values are reported by variable name."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from shared.config import ConfigError, Settings, describe_error, load_fields
from shared.fields import FIELD_SETS, ITEMS_FIELD, SROIE_FIELDS


def test_defaults_give_the_embedded_setup(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for var in ("DATABASE_URL", "REDIS_URL", "RECEIPTFLOW_DATABASE_URL", "RECEIPTFLOW_REDIS_URL"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("RECEIPTFLOW_DATA_DIR", str(tmp_path))
    settings = Settings()
    assert settings.resolved_database_url == f"sqlite:///{tmp_path / 'receiptflow.db'}"
    assert settings.redis_url is None
    assert settings.resolved_storage_dir == tmp_path / "files"
    assert settings.fields == (*SROIE_FIELDS, ITEMS_FIELD)


@pytest.mark.parametrize("name", sorted(FIELD_SETS))
def test_a_named_field_set_is_chosen_by_name(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    monkeypatch.setenv("RECEIPTFLOW_FIELD_SET", name)
    assert Settings().fields == FIELD_SETS[name]


def test_an_unknown_field_set_names_the_choices(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RECEIPTFLOW_FIELD_SET", "books")
    with pytest.raises(ValidationError) as err:
        Settings()
    message = describe_error(err.value)
    assert "RECEIPTFLOW_FIELD_SET" in message and "accounting" in message


def test_postgres_url_gets_the_psycopg_driver(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://u@db:5432/rf")
    assert Settings().resolved_database_url == "postgresql+psycopg://u@db:5432/rf"


@pytest.mark.parametrize(
    ("var", "value", "message"),
    [
        ("RECEIPTFLOW_ENGINE", "tesseract", "unknown engine 'tesseract'"),
        ("RECEIPTFLOW_MAX_FILE_MB", "-1", "RECEIPTFLOW_MAX_FILE_MB"),
        ("RECEIPTFLOW_MAX_BATCH_FILES", "many", "RECEIPTFLOW_MAX_BATCH_FILES"),
        ("DATABASE_URL", "mysql://x/y", "sqlite:// or postgresql://"),
        ("REDIS_URL", "http://localhost", "redis://"),
    ],
)
def test_bad_values_name_the_variable(monkeypatch: pytest.MonkeyPatch, var: str, value: str,
                                      message: str) -> None:
    monkeypatch.setenv(var, value)
    with pytest.raises(Exception) as info:
        Settings()
    assert message in describe_error(info.value)  # type: ignore[arg-type]


def test_field_list_from_a_file(tmp_path: Path) -> None:
    path = tmp_path / "fields.json"
    path.write_text(json.dumps([{"name": "vat_number", "description": "seller's VAT id"}]))
    (spec,) = load_fields(path)
    assert spec.name == "vat_number" and spec.kind == "text"
    path.write_text(json.dumps([{"name": "Bad Name", "description": "x"}]))
    with pytest.raises(ConfigError, match=r"fields\.json"):
        load_fields(path)
