"""The object-store layer (``jumin.core.store``) without a server: which roots become which paths,
the settings read from the environment, and what an asset event calls a lake.

Nothing here reaches a server: building upath paths and pyarrow's S3 filesystem does not, and the
tests that build the filesystem point it at a closed port on loopback with fake credentials, so
even a stray request would go nowhere (the server tests are tests/test_s3_lake.py)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pyarrow.fs as pafs
import pytest
from fsspec.implementations.arrow import ArrowFSWrapper
from upath import UPath

from jumin.apps.orchestration import lake_of
from jumin.core import duck, store
from jumin.core.lake import Lake
from jumin.core.store import StoreError

pytestmark = [pytest.mark.unit]

#: every variable s3_settings reads
AWS_VARIABLES = (
    "AWS_ENDPOINT_URL_S3",
    "AWS_ENDPOINT_URL",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
)


@pytest.fixture
def no_aws(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """None of the variables set (whatever the machine running the tests has)."""
    for name in AWS_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


@pytest.fixture
def loopback(no_aws: pytest.MonkeyPatch) -> None:
    """Fake credentials and an endpoint on a closed loopback port: a filesystem built from these
    settings could not reach anything, and no SDK credential chain is consulted."""
    no_aws.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1")
    no_aws.setenv("AWS_ACCESS_KEY_ID", "jumin-unit")
    no_aws.setenv("AWS_SECRET_ACCESS_KEY", "jumin-unit-secret")


# --------------------------------------------------------------------------- lake_path


@pytest.mark.parametrize("root", ["/data/lake", "lake", ".demo/lake", "s3-not-a-uri/lake"])
def test_a_local_root_is_a_local_path(root: str) -> None:
    path = store.lake_path(root)
    assert type(path) is type(Path(root)) and path == Path(root)
    assert not store.is_remote(path)
    assert str(path) == str(Path(root))


def test_a_path_is_kept_as_it_is(tmp_path: Path) -> None:
    assert store.lake_path(tmp_path) == tmp_path and not store.is_remote(store.lake_path(tmp_path))
    remote = store.lake_path("s3://bucket/lake")
    assert store.lake_path(remote) is remote


@pytest.mark.parametrize(
    ("root", "text", "joined"),
    [
        ("s3://bucket/lake", "s3://bucket/lake", "s3://bucket/lake/raw/x.csv"),
        ("s3://bucket/lake/", "s3://bucket/lake", "s3://bucket/lake/raw/x.csv"),
        ("s3://bucket/deep/er/lake//", "s3://bucket/deep/er/lake", "s3://bucket/deep/er/lake/raw/x.csv"),
        # a whole bucket: upath spells its root with the slash
        ("s3://bucket", "s3://bucket/", "s3://bucket/raw/x.csv"),
        ("s3://bucket/", "s3://bucket/", "s3://bucket/raw/x.csv"),
    ],
)
def test_an_s3_root_is_a_remote_path(root: str, text: str, joined: str) -> None:
    path: object = store.lake_path(root)
    assert isinstance(path, UPath) and store.is_remote(path)
    assert str(path) == text
    assert str(store.lake_path(str(path))) == text  # the string round trip
    assert str(path / "raw" / "x.csv") == joined


@pytest.mark.parametrize("root", ["s3://", "s3:///lake", "s3:////"])
def test_an_s3_root_without_a_bucket_is_refused(root: str) -> None:
    with pytest.raises(StoreError, match="names no bucket"):
        store.lake_path(root)


def test_the_s3_path_is_over_pyarrows_client(loopback: None) -> None:
    path: object = store.lake_path("s3://bucket/lake")
    assert isinstance(path, UPath)
    fs = path.fs
    assert isinstance(fs, ArrowFSWrapper) and isinstance(fs.fs, pafs.S3FileSystem)
    # names as pyarrow's S3 filesystem takes them: bucket/key, no scheme, no trailing slash
    assert fs._strip_protocol("s3://bucket/lake/raw/") == "bucket/lake/raw"
    assert fs._parent("s3://bucket/lake/raw") == "bucket/lake"
    assert fs._parent("bucket") == ""


def test_object_key_is_bucket_and_key() -> None:
    root = store.lake_path("s3://bucket/lake/")
    assert store.object_key(root) == "bucket/lake"
    assert store.object_key(root / "raw" / "lg_code=131016" / "m.json") == "bucket/lake/raw/lg_code=131016/m.json"


def test_scratch_is_local_and_one_per_root() -> None:
    roots = ["s3://bucket/lake", "s3://bucket/other", "s3://bucket2/lake", "s3://bucket"]
    folders = [store.scratch(store.lake_path(r)) for r in roots]
    for folder in folders:
        assert not store.is_remote(folder) and folder.is_absolute()
        assert folder.is_relative_to(Path(tempfile.gettempdir()))
    assert len(set(folders)) == len(roots)
    assert store.scratch(store.lake_path("s3://bucket/lake/")) == folders[0]  # the same root, the same folder


# --------------------------------------------------------------------------- s3_settings


def test_settings_without_any_variable(no_aws: pytest.MonkeyPatch) -> None:
    assert store.s3_settings() == {"region": "ap-northeast-1"}


@pytest.mark.parametrize(
    ("region", "default_region", "want"),
    [
        (None, None, "ap-northeast-1"),
        (None, "us-west-2", "us-west-2"),
        ("eu-central-1", None, "eu-central-1"),
        ("eu-central-1", "us-west-2", "eu-central-1"),
        ("", "us-west-2", "us-west-2"),  # set but empty counts as unset
    ],
)
def test_region_precedence(
    no_aws: pytest.MonkeyPatch, region: str | None, default_region: str | None, want: str
) -> None:
    if region is not None:
        no_aws.setenv("AWS_REGION", region)
    if default_region is not None:
        no_aws.setenv("AWS_DEFAULT_REGION", default_region)
    assert store.s3_settings()["region"] == want


@pytest.mark.parametrize(
    ("variables", "host", "scheme"),
    [
        ({"AWS_ENDPOINT_URL": "http://127.0.0.1:9000"}, "127.0.0.1:9000", "http"),
        ({"AWS_ENDPOINT_URL": "https://s3.example.jp"}, "s3.example.jp", "https"),
        ({"AWS_ENDPOINT_URL_S3": "https://minio.internal:9443/"}, "minio.internal:9443", "https"),
        (  # the S3-specific variable wins
            {"AWS_ENDPOINT_URL_S3": "http://127.0.0.1:9000", "AWS_ENDPOINT_URL": "https://elsewhere.example"},
            "127.0.0.1:9000",
            "http",
        ),
    ],
)
def test_an_endpoint_becomes_host_and_scheme(
    no_aws: pytest.MonkeyPatch, variables: dict[str, str], host: str, scheme: str
) -> None:
    for name, value in variables.items():
        no_aws.setenv(name, value)
    settings = store.s3_settings()
    assert settings["endpoint_override"] == host and settings["scheme"] == scheme
    assert "access_key" not in settings


@pytest.mark.parametrize("name", ["AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"])
@pytest.mark.parametrize("endpoint", ["127.0.0.1:9000", "localhost:9000", "ftp://files.example", "http://", "s3://b"])
def test_a_bad_endpoint_is_refused_by_name(no_aws: pytest.MonkeyPatch, name: str, endpoint: str) -> None:
    no_aws.setenv(name, endpoint)
    with pytest.raises(StoreError) as raised:
        store.s3_settings()
    assert repr(endpoint) in str(raised.value) and "AWS_ENDPOINT_URL" in str(raised.value)


def test_credentials_only_with_an_access_key_id(no_aws: pytest.MonkeyPatch) -> None:
    no_aws.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    no_aws.setenv("AWS_SESSION_TOKEN", "token")
    assert store.s3_settings() == {"region": "ap-northeast-1"}  # the SDK's own chain decides
    no_aws.setenv("AWS_ACCESS_KEY_ID", "AKIAJUMIN")
    settings = store.s3_settings()
    assert (settings["access_key"], settings["secret_key"], settings["session_token"]) == (
        "AKIAJUMIN",
        "secret",
        "token",
    )
    no_aws.delenv("AWS_SESSION_TOKEN")
    no_aws.delenv("AWS_SECRET_ACCESS_KEY")
    settings = store.s3_settings()
    assert (settings["access_key"], settings["secret_key"], settings["session_token"]) == ("AKIAJUMIN", "", None)


def test_an_empty_access_key_id_is_no_credentials(no_aws: pytest.MonkeyPatch) -> None:
    no_aws.setenv("AWS_ACCESS_KEY_ID", "")
    no_aws.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    assert "access_key" not in store.s3_settings()


# --------------------------------------------------------------------------- Lake and lake_of


def test_lake_at_an_s3_root_builds_s3_names() -> None:
    lake = Lake.at("s3://bucket/lake/")
    assert store.is_remote(lake.root)
    assert str(lake.raw("131016", "abc")) == "s3://bucket/lake/raw/lg_code=131016/set=abc"
    assert (
        str(lake.accepted("atena", "131016", "abc")) == "s3://bucket/lake/accepted/atena/lg_code=131016/set=abc.parquet"
    )
    assert (
        str(lake.snapshot("atena", "2026-11-01", "2026-11-01", "131016"))
        == "s3://bucket/lake/snapshot/atena/kijunbi=2026-11-01/known_at=2026-11-01/lg_code=131016"
    )
    assert str(lake.ledger_chain()) == "s3://bucket/lake/ledger/chain.jsonl"
    assert lake.reconcile_glob("links") == "s3://bucket/lake/reconcile/links/**/*.parquet"


def test_the_staging_folder_of_an_s3_lake_is_local() -> None:
    lake = Lake.at("s3://bucket/lake")
    incoming = lake.incoming("131016", "abc")
    assert not store.is_remote(incoming)
    assert incoming == store.scratch(lake.root) / "incoming" / "131016" / "abc"


def test_lake_at_a_local_root(tmp_path: Path) -> None:
    lake = Lake.at(str(tmp_path))
    assert lake.root == tmp_path and not store.is_remote(lake.root)
    assert lake.raw("131016", "abc") == tmp_path / "raw" / "lg_code=131016" / "set=abc"
    assert lake.incoming("131016", "abc") == tmp_path / "incoming" / "131016" / "abc"


@pytest.mark.parametrize(
    ("lake", "want"), [("s3://bucket/lake/", "s3://bucket/lake"), ("s3://bucket/lake", "s3://bucket/lake")]
)
def test_an_event_names_an_s3_lake_by_its_uri(lake: str, want: str) -> None:
    assert lake_of(lake) == want


def test_an_event_names_a_local_lake_by_its_absolute_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert lake_of("lake") == os.path.join(tmp_path, "lake")
    assert lake_of(Path("lake")) == os.path.join(tmp_path, "lake")
    assert lake_of("./x/../lake/") == os.path.join(tmp_path, "lake")


# --------------------------------------------------------------------------- register


@pytest.fixture
def fresh_process() -> Iterator[None]:
    """As in a process that has opened no lake in object storage yet: lake_path registers the
    filesystem once per process (a cache), so the cache is emptied for the test and put back
    as it was after it."""
    opened = store._register_fsspec.cache_info().currsize
    store._register_fsspec.cache_clear()
    yield
    store._register_fsspec.cache_clear()
    if opened:
        store._register_fsspec()


def test_register_is_a_no_op_until_an_s3_root_is_opened(fresh_process: None, loopback: None) -> None:
    con = duckdb.connect()
    store.register(con)
    assert con.list_filesystems() == []
    store.lake_path("/data/lake")  # a local root opens nothing
    assert duck.connect().list_filesystems() == []
    store.lake_path("s3://bucket/lake")
    assert duck.connect().list_filesystems() == ["s3"]  # the project's one connect registers it


class Dribble:
    """A random-access object stream as pyarrow's S3 file is one, returning at most 3 bytes a
    call and letting other threads run inside each (as pyarrow's I/O releases the GIL)."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def size(self) -> int:
        return len(self.data)

    def read_at(self, n: int, offset: int) -> bytes:
        import time

        time.sleep(0)
        return self.data[offset : offset + min(n, 3)]


@pytest.mark.unit
def test_reads_of_an_object_are_whole_even_when_the_stream_returns_less() -> None:
    """DuckDB takes a short read through a registered filesystem for an error ("only n bytes
    returned"): a read asks the stream again until it has what was asked or the object ends."""
    from jumin.core.store import read_fully_at

    data = bytes(range(256)) * 4
    assert read_fully_at(Dribble(data), 1000, 0) == data[:1000]
    assert read_fully_at(Dribble(data), 5000, 10) == data[10:]  # the object ends first
    assert read_fully_at(Dribble(data), -1, 1020) == data[1020:]
    assert read_fully_at(Dribble(data), 10, 5000) == b""


@pytest.mark.unit
def test_threads_sharing_one_handle_each_read_at_their_own_offset() -> None:
    """DuckDB's threads share a file's handle and read by seek, then read: each thread's reads
    land where it sought, whatever the others do between its two calls."""
    import threading
    import time

    from jumin.core import store

    data = bytes(i % 251 for i in range(50_000))

    class Fake(store._wrapper_class()):  # type: ignore[misc]  # the s3:// filesystem, on a fake
        def __init__(self) -> None:  # no S3 client: the stream is the fake
            pass

    class FakeFs:
        def open_input_file(self, path: str) -> Dribble:
            return Dribble(data)

    fs = Fake()
    fs.fs = FakeFs()
    f = fs._open("bucket/key")
    wrong: list[int] = []

    def reader(start: int) -> None:
        for k in range(30):
            pos = (start * 997 + k * 131) % (len(data) - 64)
            f.seek(pos)
            time.sleep(0)  # DuckDB takes the GIL for the seek and again for the read
            if f.read(64) != data[pos : pos + 64] or f.tell() != pos + 64:
                wrong.append(pos)

    threads = [threading.Thread(target=reader, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert wrong == []
    f.seek(-4, 2)
    assert f.read() == data[-4:]


@pytest.mark.unit
def test_a_store_that_cannot_be_reached_is_an_error_not_an_empty_lake(monkeypatch: pytest.MonkeyPatch) -> None:
    """fsspec omits a listing's errors by default: a glob over an unreachable store would find
    nothing, and a stage would say "no data" instead of failing (and being retried). Only a
    missing prefix lists as empty. (127.0.0.1:1: a closed port on loopback.)"""
    from jumin.core.store import lake_path

    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "x")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "y")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    lake = lake_path("s3://jumin-unreachable/lake")
    with pytest.raises(OSError, match="NETWORK_CONNECTION"):
        list(lake.glob("parsed/*/lg_code=*"))
    # nor is a partition unstaged, or a folder absent, because the store did not answer
    for probe in (lambda: (lake / "snapshot" / "_manifest.json").is_file(), (lake / "parsed").is_dir):
        with pytest.raises(OSError, match="NETWORK_CONNECTION"):
            probe()


def test_local_copies_keep_the_order_and_leave_local_files_where_they_are(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Objects come down into the folder, named by their place in the list (two objects of one
    name stay apart); local files are not copied. The store: a local folder behind pyarrow's
    filesystem interface, so no server is needed."""
    bucket = tmp_path / "store" / "b"
    for name, text in (("m1/keyed.parquet", "first"), ("m2/keyed.parquet", "second")):
        (bucket / name).parent.mkdir(parents=True)
        (bucket / name).write_text(text, encoding="utf-8")
    monkeypatch.setattr(
        store, "arrow_filesystem", lambda: pafs.SubTreeFileSystem(str(tmp_path / "store"), pafs.LocalFileSystem())
    )
    here = tmp_path / "here.parquet"
    here.write_text("local", encoding="utf-8")
    paths = [store.lake_path("s3://b/m2/keyed.parquet"), here, store.lake_path("s3://b/m1/keyed.parquet")]
    got = store.local_copies(paths, tmp_path / "copies")
    assert [p.read_text(encoding="utf-8") for p in got] == ["second", "local", "first"]
    assert got[1] == here and all(not store.is_remote(p) for p in got)
    assert sorted(p.name for p in (tmp_path / "copies").iterdir()) == ["000000-keyed.parquet", "000002-keyed.parquet"]
