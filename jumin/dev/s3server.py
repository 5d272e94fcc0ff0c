"""An S3-compatible server on loopback for the object-store lake's tests and bench: moto's
server, from its own venv (``make moto``), on a free port, with a bucket made for the run."""

from __future__ import annotations

import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

MOTO = Path(__file__).resolve().parents[2] / ".venv-moto" / "bin" / "moto_server"

#: what every process reaches the server with (tests/test_s3_lake.py, test_celery.py, the bench)
CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "jumin-test",
    "AWS_SECRET_ACCESS_KEY": "jumin-test-secret",
    "AWS_REGION": "us-east-1",
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def moto_server(log: Path) -> Iterator[dict[str, str]]:
    """Run the server until the block ends; yields the environment that reaches it."""
    if not MOTO.exists():
        raise RuntimeError(f"{MOTO} is missing: run `make moto` (make test does)")
    port = _free_port()
    with log.open("wb") as out:
        proc = subprocess.Popen([str(MOTO), "-H", "127.0.0.1", "-p", str(port)], stdout=out, stderr=subprocess.STDOUT)
    endpoint = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(endpoint + "/moto-api/", timeout=1).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    said = log.read_text(errors="replace")[-2000:]
                    raise RuntimeError(f"moto_server did not start: {said}") from None
                time.sleep(0.2)
        yield {**CREDENTIALS, "AWS_ENDPOINT_URL": endpoint, "AWS_EC2_METADATA_DISABLED": "true"}
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _client(env: dict[str, str], **kw: object) -> object:
    import pyarrow.fs as pafs

    return pafs.S3FileSystem(
        access_key=env["AWS_ACCESS_KEY_ID"],
        secret_key=env["AWS_SECRET_ACCESS_KEY"],
        region=env["AWS_REGION"],
        endpoint_override=env["AWS_ENDPOINT_URL"].removeprefix("http://"),
        scheme="http",
        **kw,
    )


def make_bucket(env: dict[str, str], bucket: str) -> None:
    """Create ``bucket`` on the server ``env`` reaches."""
    _client(env, allow_bucket_creation=True).create_dir(bucket)  # type: ignore[attr-defined]


def download_tree(env: dict[str, str], prefix: str) -> dict[str, bytes]:
    """Every object below ``s3://<prefix>/`` → its bytes, by key relative to the prefix."""
    import pyarrow.fs as pafs

    fs = _client(env)
    out = {}
    for info in fs.get_file_info(pafs.FileSelector(prefix, recursive=True)):  # type: ignore[attr-defined]
        if info.type == pafs.FileType.File:
            with fs.open_input_stream(info.path) as f:  # type: ignore[attr-defined]
                out[info.path.removeprefix(prefix + "/")] = f.read()
    return out
