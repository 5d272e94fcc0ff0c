"""Where the lake lives: a local folder (the embedded default) or an S3 bucket (``s3://…``).

The one filesystem layer under :class:`jumin.core.lake.Lake`. A lake root ``s3://bucket/prefix``
becomes a :mod:`upath` path over pyarrow's S3 filesystem, so the stages keep using the path
methods they use on a local folder (``/``, ``glob``, ``exists``, ``read_bytes``, ``open`` …),
DuckDB reads and writes the same ``s3://`` names through :func:`register`, and every write goes
through :func:`jumin.core.files.atomic_path`: written to a local temporary file, then put as one
object, which a reader sees whole or not at all. Readers trust a partition only once its
manifest, put after its data, is there, exactly as on a local lake.

The bucket comes from the lake root; how to reach it from the deployment's environment
(docs/operations.md, "Object-store lake"):

- ``AWS_ENDPOINT_URL_S3`` or ``AWS_ENDPOINT_URL``: an S3-compatible server (MinIO, Ceph, a test
  server on loopback), ``http://`` or ``https://``; unset: AWS itself.
- ``AWS_ACCESS_KEY_ID`` / ``AWS_SECRET_ACCESS_KEY`` (``AWS_SESSION_TOKEN``): when set they are
  used; unset, the AWS SDK's own chain (profile, web identity, instance role).
- ``AWS_REGION`` or ``AWS_DEFAULT_REGION`` (default ``ap-northeast-1``).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import threading
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import urlsplit

from jumin.core.errors import TerminalError

if TYPE_CHECKING:
    import duckdb
    import pyarrow.fs as pafs

S3_SCHEME = "s3://"
DEFAULT_REGION = "ap-northeast-1"


class StoreError(TerminalError):
    """The lake root names a store this project cannot use, or its settings are wrong."""


def is_remote(path: object) -> bool:
    """True for a path in object storage (an :func:`lake_path` of an ``s3://`` root)."""
    return not isinstance(path, Path)


def lake_path(root: str | os.PathLike[str]) -> Path:
    """The path of a lake root: a local folder, or an ``s3://bucket/prefix`` object-store path.

    The object-store path is typed as :class:`~pathlib.Path` because it answers the same methods
    the stages call (upath's S3 path); :func:`is_remote` tells them apart where a local file is
    needed (a rename, a hard link)."""
    if not isinstance(root, str):
        return cast(Path, root) if is_remote(root) else Path(root)
    text = root
    if not text.startswith(S3_SCHEME):
        return Path(text)
    bucket = text.removeprefix(S3_SCHEME).split("/", 1)[0]
    if not bucket:
        raise StoreError(f"lake root {text!r} names no bucket (s3://<bucket>/<prefix>)")
    from upath import UPath

    _register_fsspec()
    return cast(Path, UPath(text.rstrip("/")))


def object_key(path: Path) -> str:
    """``bucket/key`` of an object-store path (what pyarrow's S3 filesystem calls a path)."""
    return str(path).removeprefix(S3_SCHEME)


def scratch(root: Path) -> Path:
    """A local folder standing for an object-store lake root, for what is local by nature
    (an upload set being copied in and checked before it is put)."""
    key = object_key(root)
    digest = hashlib.sha256(key.encode()).hexdigest()[:12]  # s3://b/p_q and s3://b/p/q apart
    return Path(tempfile.gettempdir()) / "jumin-lake" / f"{key.replace('/', '_')[-80:]}-{digest}"


def s3_settings() -> dict[str, Any]:
    """Keyword arguments of :class:`pyarrow.fs.S3FileSystem` from the environment (module
    docstring)."""
    kw: dict[str, Any] = {
        "region": os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or DEFAULT_REGION
    }
    endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
    if endpoint:
        url = urlsplit(endpoint)
        if url.scheme not in ("http", "https") or not url.netloc:
            raise StoreError(f"AWS_ENDPOINT_URL(_S3) {endpoint!r} is not an http:// or https:// URL")
        kw |= {"endpoint_override": url.netloc, "scheme": url.scheme}
    if os.environ.get("AWS_ACCESS_KEY_ID"):
        kw |= {
            "access_key": os.environ["AWS_ACCESS_KEY_ID"],
            "secret_key": os.environ.get("AWS_SECRET_ACCESS_KEY", ""),
            "session_token": os.environ.get("AWS_SESSION_TOKEN"),
        }
    return kw


_lock = threading.Lock()


@cache
def _arrow_s3(settings: tuple[tuple[str, Any], ...]) -> pafs.S3FileSystem:
    import pyarrow.fs as pafs

    return pafs.S3FileSystem(**dict(settings))


def arrow_filesystem() -> pafs.S3FileSystem:
    """pyarrow's S3 filesystem for the environment's settings (one per settings, per process)."""
    with _lock:
        return _arrow_s3(tuple(sorted(s3_settings().items())))


@cache
def _wrapper_class() -> type:
    """An fsspec filesystem for ``s3://`` over pyarrow's S3 filesystem: what upath and DuckDB's
    ``register_filesystem`` take. (s3fs is not a dependency; pyarrow's client is.)"""
    from fsspec.implementations.arrow import ArrowFile, ArrowFSWrapper

    class WholeReads(ArrowFile):
        """An object open for reading as DuckDB needs it: every read whole, and a position per
        thread. DuckDB's threads share one handle per file and each reads by a seek and then a
        read, two calls that pyarrow's I/O lets other threads run between; with one position
        for all, a thread would read at another's offset (corrupt Parquet pages, "Invalid
        data"). Reads are positional (pyarrow's thread-safe ``read_at``)."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._where = threading.local()

        def tell(self) -> int:
            return int(getattr(self._where, "pos", 0))

        def seek(self, offset: int, whence: int = 0) -> int:
            base = {0: 0, 1: self.tell(), 2: self.stream.size()}[whence]
            self._where.pos = base + offset
            return int(self._where.pos)

        def read(self, length: int = -1) -> bytes:
            pos = self.tell()
            data = read_fully_at(self.stream, length, pos)
            self._where.pos = pos + len(data)
            return data

        def readinto(self, buffer: Any) -> int:
            data = self.read(len(buffer))
            buffer[: len(data)] = data
            return len(data)

    class ArrowS3(ArrowFSWrapper):
        protocol = ("s3",)
        root_marker = ""
        cachable = False  # the settings may change (a test's server); arrow_filesystem caches

        def __init__(self, **kwargs: Any) -> None:
            super().__init__(arrow_filesystem(), **kwargs)

        @classmethod
        def _strip_protocol(cls, path: Any) -> str:
            text = path if isinstance(path, str) else str(path)
            return text.removeprefix(S3_SCHEME).rstrip("/")

        @classmethod
        def _parent(cls, path: Any) -> str:
            text = cls._strip_protocol(path)
            return text.rsplit("/", 1)[0] if "/" in text else ""

        def walk(self, path: str, maxdepth: int | None = None, topdown: bool = True, **kw: Any) -> Any:
            # fsspec omits every OSError of a listing by default: a store that cannot be reached
            # would look empty (a glob finding nothing). Only a missing prefix is empty.
            def fail(error: OSError) -> None:
                if not isinstance(error, FileNotFoundError):
                    raise error

            kw.setdefault("on_error", fail)
            return super().walk(path, maxdepth=maxdepth, topdown=topdown, **kw)

        # fsspec answers False for any error here too: only a missing object is not a file
        def _is(self, path: str, kind: str) -> bool:
            try:
                return bool(self.info(path)["type"] == kind)
            except FileNotFoundError:
                return False

        def isfile(self, path: str) -> bool:
            return self._is(path, "file")

        def isdir(self, path: str) -> bool:
            return self._is(path, "directory")

        def _open(self, path: str, mode: str = "rb", block_size: Any = None, seekable: bool = True, **kw: Any) -> Any:
            if mode != "rb" or not seekable:
                return super()._open(path, mode, block_size, seekable, **kw)
            # as ArrowFSWrapper opens for reading, the file reading whole (its own file would
            # close the stream when collected)
            return WholeReads(self, self.fs.open_input_file(path), path, mode, block_size, **kw)

    return ArrowS3


def read_fully_at(stream: Any, length: int, offset: int) -> bytes:
    """``length`` bytes of ``stream`` from ``offset`` (to the end with a negative length), fewer
    only where it ends. A ranged read of an object may return less than asked; DuckDB takes a
    short read through a registered filesystem for an error, so it is read on until whole."""
    size = int(stream.size())
    want = max(0, size - offset) if length is None or length < 0 else min(length, max(0, size - offset))
    parts, got = [], 0
    while got < want:
        block = stream.read_at(want - got, offset + got)
        if not block:
            break
        parts.append(bytes(block))
        got += len(block)
    return b"".join(parts)


@cache
def _register_fsspec() -> None:
    import fsspec

    fsspec.register_implementation("s3", _wrapper_class(), clobber=True)


def register(con: duckdb.DuckDBPyConnection) -> None:
    """Let a DuckDB connection read and write ``s3://`` names through pyarrow's S3 client (the
    httpfs extension would have to be downloaded); a no-op until a lake root in object storage
    has been opened in this process."""
    if _register_fsspec.cache_info().currsize:
        con.register_filesystem(_wrapper_class()())


def put_file(local: Path, target: Path) -> None:
    """Upload a local file as the object ``target`` (one PUT, or a multipart upload completed at
    the end: readers see the whole object or the one before)."""
    fs = arrow_filesystem()
    with local.open("rb") as src, fs.open_output_stream(object_key(target)) as out:
        while block := src.read(8 << 20):
            out.write(block)


#: objects downloaded at once by :func:`local_copies` (latency, not bandwidth, bounds many
#: small objects: one request each keeps a thread waiting)
DOWNLOAD_THREADS = 32


def local_copies(paths: Sequence[Path], folder: Path) -> list[Path]:
    """``paths`` as local files, in order: a local path as it is, an object downloaded into
    ``folder`` (:data:`DOWNLOAD_THREADS` at a time). For a reader of many small objects, which
    DuckDB would open one after the other on its few threads, each open a round trip."""
    from concurrent.futures import ThreadPoolExecutor

    def fetch(item: tuple[int, Path]) -> Path:
        i, path = item
        if not is_remote(path):
            return path
        local = folder / f"{i:06d}-{path.name}"
        with arrow_filesystem().open_input_stream(object_key(path)) as src, local.open("wb") as out:
            while block := src.read(8 << 20):
                out.write(block)
        return local

    folder.mkdir(parents=True, exist_ok=True)
    with ThreadPoolExecutor(DOWNLOAD_THREADS) as pool:
        return list(pool.map(fetch, enumerate(paths)))
