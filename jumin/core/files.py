"""Writing files safely and hashing them: the one atomic-write helper and the one SHA-256.

Every file the project writes goes through :func:`atomic_path`: the content is written under a
hidden temporary name in the target folder and renamed over the target, so a reader sees the
old file or the new one, never half of one, and a crash leaves at most a stray temporary file.
In an object-store lake (:mod:`jumin.core.store`) the temporary file is local and is put as one
object, which readers likewise see whole or not at all.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from jumin.core import store


def temp_path(path: Path) -> Path:
    """A hidden sibling temporary name for ``path`` (same folder, so the rename is atomic),
    unique per process and thread; for an object in the lake's store, a local file."""
    if store.is_remote(path):
        return _local_temp(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return path.with_name(f".{path.name}.tmp-{os.getpid()}-{threading.get_ident()}")


@contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temporary path to write; on success it replaces ``path``, on failure it is
    removed and the target is left as it was."""
    tmp = temp_path(path)
    try:
        yield tmp
        if store.is_remote(path):
            store.put_file(tmp, path)
            tmp.unlink()
        else:
            os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _local_temp(target: Path) -> Path:
    """A local temporary file standing in for the object ``target`` until it is put."""
    folder = Path(tempfile.gettempdir()) / "jumin-upload"
    folder.mkdir(parents=True, exist_ok=True)
    name = store.object_key(target).replace("/", "_")[-120:]
    return folder / f".{name}.tmp-{os.getpid()}-{threading.get_ident()}"


def remove_stale_temps(folder: Path) -> list[Path]:
    """Remove the temporary files (:func:`temp_path`) in ``folder`` whose process is gone: what
    a process killed in the middle of a write left. Those of live processes stay. For a folder
    in object storage, where nothing half-written is ever visible, the local temporary files
    of uploads are cleaned instead."""
    if store.is_remote(folder):
        folder = _local_temp(folder).parent
    removed = []
    for p in folder.glob(".*.tmp-*-*") if folder.is_dir() else []:
        pid = p.name.rsplit("-", 2)[-2]
        if pid.isdigit() and not _alive(int(pid)):
            p.unlink(missing_ok=True)
            removed.append(p)
    return removed


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def atomic_create_bytes(path: Path, data: bytes, mode: int = 0o600) -> bytes:
    """Create ``path`` holding ``data`` unless it exists; returns the bytes that are there.

    The content is written under :func:`temp_path` and hard-linked to ``path``, which fails if
    ``path`` exists: a reader never sees half a file, and of writers racing the first wins and
    every one of them gets its bytes (a key made once, say). An object store has no such
    create-if-absent here: an existing object is kept, else ours is put (two writers racing in
    the same instant would each keep their own; docs/operations.md says to make deployment keys
    once, before any fan-out, or to keep them in the secret store)."""
    if store.is_remote(path):
        if not path.exists():
            atomic_write_bytes(path, data)
        return path.read_bytes()
    staged = temp_path(path)
    try:
        staged.write_bytes(data)
        staged.chmod(mode)
        os.link(staged, path)
    except FileExistsError:
        pass
    finally:
        staged.unlink(missing_ok=True)
    return path.read_bytes()


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` as UTF-8 to ``path`` atomically."""
    atomic_write_bytes(path, text.encode("utf-8"))


def sha256_bytes(data: bytes) -> str:
    """Hex SHA-256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file, read in 1 MiB blocks."""
    h = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(1 << 20):
            h.update(block)
    return h.hexdigest()
