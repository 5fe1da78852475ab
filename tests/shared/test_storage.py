from __future__ import annotations

from pathlib import Path

import pytest

from shared.storage import LocalStorage, StorageError, content_key


def test_same_content_is_stored_once(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path)
    key = storage.put(b"receipt bytes")
    assert key == content_key(b"receipt bytes")
    assert storage.put(b"receipt bytes") == key
    assert storage.get(key) == b"receipt bytes"
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == [storage.path(key)]


def test_keys_cannot_escape_the_root(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path)
    for bad in ("../../etc/passwd", "ab/../../x", "", "A" * 64):
        with pytest.raises(StorageError, match="invalid storage key"):
            storage.get(bad)


def test_missing_file_says_so(tmp_path: Path) -> None:
    with pytest.raises(StorageError, match="missing"):
        LocalStorage(tmp_path).get("0" * 64)
