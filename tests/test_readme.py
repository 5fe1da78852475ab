"""The README stays true: its configuration table names every setting, its commands exist."""

from __future__ import annotations

from pathlib import Path

from shared.config import Settings

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def test_every_setting_is_documented() -> None:
    for name in Settings.model_fields:
        assert f"`RECEIPTFLOW_{name.upper()}`" in README, f"README lacks RECEIPTFLOW_{name.upper()}"


def test_the_two_fresh_machine_commands_exist() -> None:
    assert "bash scripts/up" in README and (ROOT / "scripts" / "up").exists()
    assert "bash scripts/test" in README and (ROOT / "scripts" / "test").exists()
    assert "scripts/test" in (ROOT / ".ci" / "run").read_text()
