"""``jumin upload``: what municipal staff run to send an upload set and get its receipt.

1. build the manifest (sha256, rows, size, encoding) for the files;
2. check them locally with the very code the server runs, so errors show before uploading;
3. upload every data file under ``<name>.part`` (resuming a partial one) and rename it, the
   manifest last;
4. wait for the receipt in ``/outbox`` and show it.
"""

from __future__ import annotations

import json
import logging
import posixpath
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import paramiko

from extract.errors import SftpUnavailable
from extract.sftp import SftpSettings, open_sftp
from jumin.core.lake import Lake
from jumin.core.landing import PARTIAL_SUFFIX, remote_inbox, remote_outbox
from jumin.core.manifest import MANIFEST_SUFFIX, Manifest, build_manifest

log = logging.getLogger(__name__)
Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class UploadSet:
    """Files to send, with the manifest that will describe them."""

    name: str
    folder: Path
    manifest: Manifest

    @property
    def manifest_name(self) -> str:
        return f"{self.name}{MANIFEST_SUFFIX}"

    @property
    def manifest_bytes(self) -> bytes:
        return self.manifest.to_json().encode("utf-8")

    @property
    def set_id(self) -> str:
        from extract.main import set_id_of

        return set_id_of(self.manifest_bytes)


def prepare(
    files: list[Path], lg_code: str, layout: str, kijunbi: str, encoding: str = "utf-8", name: str | None = None
) -> UploadSet:
    """Describe ``files`` (all in one folder, one layout) in a manifest."""
    from jumin.core.layouts import get_layout

    folders = {f.resolve().parent for f in files}
    if len(folders) != 1:
        raise ValueError("put the files of one upload set in one folder")
    folder = folders.pop()
    manifest = build_manifest(
        folder, lg_code, layout, get_layout(layout).version, kijunbi, [(f.name, encoding) for f in files]
    )
    return UploadSet(name or files[0].stem, folder, manifest)


def check_locally(upload: UploadSet) -> dict[str, Any]:
    """Run ingest and validation on a private copy; returns the receipt the server would write."""
    from expectations.main import validate_municipality
    from extract.inbox import deliver_local
    from extract.main import ingest_municipality

    lg_code = upload.manifest.lg_code
    with tempfile.TemporaryDirectory(prefix="jumin-check-") as tmp:
        outgoing = Path(tmp) / "outgoing"
        outgoing.mkdir()
        for e in upload.manifest.files:
            shutil.copyfile(upload.folder / e.name, outgoing / e.name)
        (outgoing / upload.manifest_name).write_bytes(upload.manifest_bytes)
        deliver_local(outgoing, Path(tmp) / "landing", lg_code)
        lake = Path(tmp) / "lake"
        ingest_municipality(Path(tmp) / "landing", lake, lg_code)
        validate_municipality(lake, lg_code)
        receipt = Lake(lake).receipt(lg_code, upload.set_id)
        data: dict[str, Any] = json.loads(receipt.read_text(encoding="utf-8"))
        data["text"] = Lake.receipt_text(receipt).read_text(encoding="utf-8")
        return data


def put_resumable(
    sftp: paramiko.SFTPClient, local: Path, remote: str, progress: Progress | None = None, block_size: int = 1 << 20
) -> None:
    """Upload ``local`` to ``remote`` via ``remote.part``, continuing a partial upload."""
    part = remote + PARTIAL_SUFFIX
    size = local.stat().st_size
    try:
        done = sftp.stat(part).st_size or 0
    except FileNotFoundError:
        done = 0
    if done > size:
        done = 0  # a stale partial of some other file: start over
    with local.open("rb") as src, sftp.open(part, "ab" if done else "wb") as dst:
        dst.set_pipelined(True)
        src.seek(done)
        while block := src.read(block_size):
            dst.write(block)
            done += len(block)
            if progress:
                progress(local.name, done, size)
    if (sftp.stat(part).st_size or 0) != size:
        raise SftpUnavailable(f"{remote}: upload ended at the wrong size; run again to resume")
    sftp.posix_rename(part, remote)


def upload(
    upload_set: UploadSet, settings: SftpSettings, progress: Progress | None = None, block_size: int = 1 << 20
) -> None:
    """Send the data files, then the manifest, each atomically, into ``/inbox``."""
    client, sftp = open_sftp(settings)
    try:
        inbox = remote_inbox()
        for e in upload_set.manifest.files:
            put_resumable(sftp, upload_set.folder / e.name, posixpath.join(inbox, e.name), progress, block_size)
        with tempfile.TemporaryDirectory() as tmp:
            manifest = Path(tmp) / upload_set.manifest_name
            manifest.write_bytes(upload_set.manifest_bytes)
            put_resumable(sftp, manifest, posixpath.join(inbox, manifest.name), progress)
    except (OSError, paramiko.SSHException) as e:
        raise SftpUnavailable(f"upload {upload_set.name}: {e}") from e
    finally:
        client.close()


def wait_for_receipt(
    upload_set: UploadSet, settings: SftpSettings, timeout_s: float = 600, interval_s: float = 2.0
) -> dict[str, Any] | None:
    """Poll ``/outbox`` for the final receipt of the set; None when the wait times out."""
    from extract.outbox import outbox_name

    json_name = outbox_name(upload_set.manifest_name, upload_set.set_id, ".json")
    txt_name = outbox_name(upload_set.manifest_name, upload_set.set_id, ".txt")
    deadline = time.monotonic() + timeout_s
    while True:
        client, sftp = open_sftp(settings)
        try:
            outbox = remote_outbox()
            if json_name in sftp.listdir(outbox):
                with sftp.open(posixpath.join(outbox, json_name), "rb") as f:
                    data: dict[str, Any] = json.loads(f.read())
                if data["status"] != "incomplete":
                    with sftp.open(posixpath.join(outbox, txt_name), "rb") as f:
                        data["text"] = f.read().decode("utf-8")
                    return data
        except (OSError, paramiko.SSHException) as e:
            raise SftpUnavailable(f"read outbox: {e}") from e
        finally:
            client.close()
        if time.monotonic() >= deadline:
            return None
        time.sleep(interval_s)
