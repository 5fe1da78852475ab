"""Content-addressed file storage: a file's key is the sha256 of its bytes.

The same receipt uploaded twice is stored once. Workers on other machines read the same files
through a shared volume; anything else (S3, say) only has to implement :class:`Storage`.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from abc import ABC, abstractmethod
from pathlib import Path

_KEY = re.compile(r"^[0-9a-f]{64}$")


class StorageError(RuntimeError):
    pass


def content_key(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class Storage(ABC):
    @abstractmethod
    def put(self, data: bytes) -> str:
        """Store ``data`` and return its key; storing the same bytes again is a no-op."""

    @abstractmethod
    def get(self, key: str) -> bytes:
        """The bytes stored under ``key``; StorageError if there are none."""

    @abstractmethod
    def exists(self, key: str) -> bool: ...

    @abstractmethod
    def delete(self, key: str) -> None:
        """Remove what is stored under ``key``; no error if there is nothing."""


class LocalStorage(Storage):
    """Files under a root folder, sharded by the key's first two bytes (ab/cd/abcd...)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path(self, key: str) -> Path:
        if not _KEY.match(key):
            # Keys come from the database, but never let one become an arbitrary path.
            raise StorageError(f"invalid storage key {key!r}")
        return self.root / key[:2] / key[2:4] / key

    def put(self, data: bytes) -> str:
        key = content_key(data)
        target = self.path(key)
        if target.exists():
            return key
        target.parent.mkdir(parents=True, exist_ok=True)
        # Write then rename: a reader never sees a half-written file, and two writers of the
        # same content both end with the same complete file.
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return key

    def get(self, key: str) -> bytes:
        try:
            return self.path(key).read_bytes()
        except FileNotFoundError:
            raise StorageError(f"stored file {key} is missing from {self.root}") from None

    def exists(self, key: str) -> bool:
        return self.path(key).exists()

    def delete(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)


def get_storage() -> Storage:
    from shared.config import get_settings

    return LocalStorage(get_settings().resolved_storage_dir)
