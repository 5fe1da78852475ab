"""Trained artefacts (adapter folders, learned extractors) as single files in shared.storage.

A folder is stored as a gzipped tar under its content hash, and unpacked once per machine into a
cache folder named after that hash, so every worker reads the same bytes the trainer wrote.
"""

from __future__ import annotations

import io
import shutil
import tarfile
import tempfile
from pathlib import Path

from shared.storage import Storage


def pack_dir(folder: Path) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for path in sorted(Path(folder).rglob("*")):
            if path.is_file():
                info = tar.gettarinfo(str(path), arcname=str(path.relative_to(folder)))
                info.mtime = 0  # same files, same bytes, same key
                with path.open("rb") as fh:
                    tar.addfile(info, fh)
    return buf.getvalue()


def store_dir(folder: Path, storage: Storage) -> str:
    return storage.put(pack_dir(folder))


def unpack(key: str, storage: Storage, cache_root: Path) -> Path:
    """The artefact's folder on this machine (unpacked on first use)."""
    target = cache_root / key
    if target.is_dir():
        return target
    cache_root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=cache_root, prefix=".unpack-"))
    try:
        with tarfile.open(fileobj=io.BytesIO(storage.get(key)), mode="r:gz") as tar:
            tar.extractall(tmp, filter="data")  # refuses absolute paths, '..' and links out
        tmp.rename(target)
    except FileExistsError:
        shutil.rmtree(tmp, ignore_errors=True)  # another process unpacked it first
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target
