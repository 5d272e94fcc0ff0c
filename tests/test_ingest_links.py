"""Ingest trusts no link: a symlink, a hard link or anything but a regular file named by a
manifest (or being the manifest) is never read; the set is rejected with F0014, the receipt
names the file and why, and the set is archived. Local inboxes (a mounted file share) and the
SFTP inbox (the embedded server, links created on its local tree: the layer that refuses to
create them has failed)."""

from __future__ import annotations

import json
import logging
import os
import shutil
import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from extract.errors import UploadSetRejected
from extract.inbox import LocalInbox, deliver_local
from extract.main import IngestResult, ingest_municipality
from extract.sftp import SftpInbox, SftpSettings, link_count
from jumin.apps.landing.config import LandingConfig
from jumin.apps.landing.embedded import EmbeddedSftpServer, prepare_tree
from jumin.apps.landing.keys import generate_client_key, zone_settings
from jumin.core.lake import Lake
from jumin.core.landing import LandingTree
from jumin.core.manifest import write_manifest
from tests.conftest import REPO

pytestmark = [pytest.mark.integration]

A, B = "131016", "141038"
SAMPLE = REPO / "sample_data" / "landing"
DATA = "shien_20261101.csv"
STEM = "shien_20261101"
MANIFEST = f"{STEM}.manifest.json"
#: long after any manifest's mtime: a set still waiting would be reported "incomplete"
LATER = 4_000_000_000.0


def landing_with_b(root: Path) -> LandingTree:
    """A landing tree where municipality B has uploaded its shien set (not yet ingested)."""
    tree = LandingTree(root)
    deliver_local(SAMPLE / B, root, B)
    for code in (A, B):
        tree.inbox(code).mkdir(parents=True, exist_ok=True)
        tree.archive(code).mkdir(parents=True, exist_ok=True)
    return tree


def a_manifest_for(tree: LandingTree, make_entry: Callable[[Path], None], content: Path) -> str:
    """A's manifest for ``DATA``, hashed and counted over ``content`` (the attacker copies B's
    numbers), with ``DATA`` in A's inbox made by ``make_entry``."""
    inbox = tree.inbox(A)
    shutil.copyfile(content, inbox / DATA)
    write_manifest(inbox, STEM, A, "shien", "1", "2026-11-01", [(DATA, "utf-8")])
    (inbox / DATA).unlink()
    make_entry(inbox / DATA)
    return MANIFEST


def only(results: list[IngestResult]) -> IngestResult:
    assert len(results) == 1, results
    return results[0]


def assert_refused(
    tree: LandingTree, lake: Lake, result: IngestResult, file: str, kind: str, what: str, archived: list[str]
) -> None:
    """Rejected whole with F0014 naming ``file`` and ``kind``; nothing parsed or kept raw; the
    entries archived as they are."""
    assert result.status == "rejected", result
    receipt = json.loads(Path(result.receipt).read_text())
    assert [(f["code"], f["file"], f["value"]) for f in receipt["findings"]] == [("F0014", file, kind)]
    assert what in receipt["findings"][0]["detail"]
    assert receipt["status"] == "rejected"
    text = Path(result.receipt).with_suffix(".txt").read_text()
    assert "F0014" in text and file in text and "リンクや特殊ファイルは受け付けません" in text
    assert not lake.parsed_files(A), "nothing of the set was read"
    assert not lake.raw(A, result.set_id).exists()
    folder = tree.archive(A) / result.set_id
    assert sorted(os.listdir(folder)) == sorted(archived)
    assert not [n for n in os.listdir(tree.inbox(A)) if n in archived], "archived, not left behind"
    assert (tree.inbox(B) / DATA).is_file() and (tree.inbox(B) / MANIFEST).is_file(), "B's upload untouched"


def symlink_to_b(tree: LandingTree) -> Callable[[Path], None]:
    return lambda p: p.symlink_to(tree.inbox(B) / DATA)


def hardlink_to_b(tree: LandingTree) -> Callable[[Path], None]:
    return lambda p: os.link(tree.inbox(B) / DATA, p)


def make_fifo(p: Path) -> None:
    os.mkfifo(p)


def make_folder(p: Path) -> None:
    p.mkdir()
    (p / "inside.csv").write_text("x\n")


def make_socket(p: Path) -> None:
    s = socket.socket(socket.AF_UNIX)
    s.bind(str(p))
    s.close()  # the socket file stays


ENTRIES: dict[str, tuple[Callable[[LandingTree], Callable[[Path], None]], str, str]] = {
    "symlink to another municipality's file": (symlink_to_b, "symlink", "symbolic link"),
    "hard link to another municipality's file": (hardlink_to_b, "hardlink", "link count 2"),
    "FIFO": (lambda _: make_fifo, "not a regular file", "FIFO"),
    "folder named like a data file": (lambda _: make_folder, "not a regular file", "folder"),
    "socket": (lambda _: make_socket, "not a regular file", "socket"),
}


# --------------------------------------------------------------------------- local inbox


@pytest.mark.parametrize("case", sorted(ENTRIES))
def test_local_data_entry_that_is_not_a_plain_file_rejects_the_set(case: str, tmp_path: Path) -> None:
    tree, lake = landing_with_b(tmp_path / "landing"), Lake(tmp_path / "lake")
    make, kind, what = ENTRIES[case]
    a_manifest_for(tree, make(tree), tree.inbox(B) / DATA)
    result = only(ingest_municipality(tree.root, lake.root, A, now=LATER))
    assert_refused(tree, lake, result, DATA, kind, what, [DATA, MANIFEST])
    if kind == "symlink":
        assert (tree.archive(A) / result.set_id / DATA).is_symlink(), "the link itself was moved"
    # B's own set is still B's and ingests normally; a hard link has no original, so B's file,
    # which still has two names (one in A's archive), is not read either
    b = {r.manifest: r.status for r in ingest_municipality(tree.root, lake.root, B)}
    assert b[MANIFEST] == ("rejected" if kind == "hardlink" else "parsed")


@pytest.mark.skipif(os.geteuid() != 0, reason="creating a device node needs root")
def test_local_device_is_not_read(tmp_path: Path) -> None:
    tree, lake = landing_with_b(tmp_path / "landing"), Lake(tmp_path / "lake")
    a_manifest_for(tree, lambda p: os.mknod(p, 0o600 | 0o020000, os.makedev(1, 3)), tree.inbox(B) / DATA)
    result = only(ingest_municipality(tree.root, lake.root, A, now=LATER))
    assert_refused(tree, lake, result, DATA, "not a regular file", "character device", [DATA, MANIFEST])


@pytest.mark.parametrize("case", ["symlink", "folder"])
def test_local_manifest_that_is_not_a_plain_file_is_not_read(case: str, tmp_path: Path) -> None:
    tree, lake = landing_with_b(tmp_path / "landing"), Lake(tmp_path / "lake")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    shutil.copyfile(SAMPLE / A / DATA, elsewhere / DATA)
    target = write_manifest(elsewhere, STEM, A, "shien", "1", "2026-11-01", [(DATA, "utf-8")])
    shutil.copyfile(SAMPLE / A / DATA, tree.inbox(A) / DATA)
    if case == "symlink":
        (tree.inbox(A) / MANIFEST).symlink_to(target)
    else:
        (tree.inbox(A) / MANIFEST).mkdir()
    result = only(ingest_municipality(tree.root, lake.root, A, now=LATER))
    kind, what = ("symlink", "symbolic link") if case == "symlink" else ("not a regular file", "folder")
    assert_refused(tree, lake, result, MANIFEST, kind, what, [MANIFEST])
    assert (tree.inbox(A) / DATA).is_file(), "a file named by no readable manifest stays"


def test_local_swap_after_listing_is_caught_on_the_opened_file(tmp_path: Path) -> None:
    """Between the listing and the open, a plain file is replaced by a link: O_NOFOLLOW and the
    fstat of the opened descriptor refuse it."""
    tree = landing_with_b(tmp_path / "landing")
    inbox = LocalInbox(tree.root, A)
    shutil.copyfile(SAMPLE / A / DATA, tree.inbox(A) / DATA)
    assert [(f.name, f.kind) for f in inbox.files()] == [(DATA, "file")]
    (tree.inbox(A) / DATA).unlink()
    (tree.inbox(A) / DATA).symlink_to(tree.inbox(B) / DATA)
    with pytest.raises(UploadSetRejected) as e:
        inbox.read(DATA)
    assert (e.value.finding.code, e.value.finding.value) == ("F0014", "symlink")
    (tree.inbox(A) / DATA).unlink()
    os.link(tree.inbox(B) / DATA, tree.inbox(A) / DATA)
    with pytest.raises(UploadSetRejected) as e:
        inbox.fetch(DATA, tmp_path / "copy.csv")
    assert (e.value.finding.code, e.value.finding.value) == ("F0014", "hardlink")
    assert not (tmp_path / "copy.csv").exists()


def test_stray_entries_named_by_no_manifest_are_logged_and_do_not_stop_ingest(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    tree, lake = landing_with_b(tmp_path / "landing"), Lake(tmp_path / "lake")
    deliver_local(SAMPLE / A, tree.root, A)
    os.mkfifo(tree.inbox(A) / "stray.csv")
    (tree.inbox(A) / "old").mkdir()
    (tree.inbox(A) / "link.csv").symlink_to(tree.inbox(B) / DATA)
    with caplog.at_level(logging.WARNING, logger="extract.main"):
        results = ingest_municipality(tree.root, lake.root, A)
    assert sorted(r.status for r in results) == ["parsed"] * len(list((SAMPLE / A).glob("*.manifest.json")))
    [warning] = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert "link.csv (symbolic link)" in warning and "old (folder)" in warning and "stray.csv (FIFO)" in warning
    assert sorted(os.listdir(tree.inbox(A))) == ["link.csv", "old", "stray.csv"], "left alone, not read"


# --------------------------------------------------------------------------- SFTP inbox


@pytest.fixture(scope="module")
def zone(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LandingConfig, SftpSettings]]:
    tmp = tmp_path_factory.mktemp("zone")
    config = LandingConfig(root=tmp / "root", state=tmp / "state", port=0)
    key, pub = generate_client_key(tmp / "keys", "jumin")
    prepare_tree(config, [A, B], {"jumin": pub})
    with EmbeddedSftpServer(config) as server:
        yield config, zone_settings(config, server.port, "jumin", key, 10)


@pytest.fixture
def sftp_tree(zone: tuple[LandingConfig, SftpSettings]) -> Iterator[LandingTree]:
    """The embedded server's local tree with B's upload in it; emptied again afterwards."""
    config, _ = zone
    tree = LandingTree(config.root)
    deliver_local(SAMPLE / B, tree.root, B)
    yield tree
    for code in (A, B):
        for folder in (tree.inbox(code), tree.archive(code)):
            for p in folder.iterdir():
                shutil.rmtree(p) if p.is_dir() and not p.is_symlink() else p.unlink()


@pytest.mark.parametrize("case", sorted(ENTRIES))
def test_sftp_data_entry_that_is_not_a_plain_file_rejects_the_set(
    case: str, zone: tuple[LandingConfig, SftpSettings], sftp_tree: LandingTree, tmp_path: Path
) -> None:
    lake = Lake(tmp_path / "lake")
    make, kind, what = ENTRIES[case]
    a_manifest_for(sftp_tree, make(sftp_tree), sftp_tree.inbox(B) / DATA)
    result = only(ingest_municipality(zone[1].to_uri(), lake.root, A, now=LATER))
    assert_refused(sftp_tree, lake, result, DATA, kind, what, [DATA, MANIFEST])


def test_sftp_manifest_symlink_is_not_read(
    zone: tuple[LandingConfig, SftpSettings], sftp_tree: LandingTree, tmp_path: Path
) -> None:
    lake = Lake(tmp_path / "lake")
    shutil.copyfile(SAMPLE / A / DATA, sftp_tree.inbox(A) / DATA)
    (sftp_tree.inbox(A) / MANIFEST).symlink_to(sftp_tree.inbox(B) / MANIFEST)
    result = only(ingest_municipality(zone[1].to_uri(), lake.root, A, now=LATER))
    assert_refused(sftp_tree, lake, result, MANIFEST, "symlink", "symbolic link", [MANIFEST])


def test_sftp_swap_after_listing_is_caught_before_the_open(
    zone: tuple[LandingConfig, SftpSettings], sftp_tree: LandingTree, tmp_path: Path
) -> None:
    """A plain file replaced by a link after the listing: the lstat right before the open
    refuses it (over SFTP the server would follow the link)."""
    shutil.copyfile(SAMPLE / A / DATA, sftp_tree.inbox(A) / DATA)
    with SftpInbox(zone[1], A) as inbox:
        assert [(f.name, f.kind) for f in inbox.files()] == [(DATA, "file")]
        (sftp_tree.inbox(A) / DATA).unlink()
        (sftp_tree.inbox(A) / DATA).symlink_to(sftp_tree.inbox(B) / DATA)
        with pytest.raises(UploadSetRejected) as e:
            inbox.fetch(DATA, tmp_path / "copy.csv")
        assert (e.value.finding.code, e.value.finding.value) == ("F0014", "symlink")
        with pytest.raises(UploadSetRejected):
            inbox.read(DATA)
    assert not (tmp_path / "copy.csv").exists()


def test_sftp_stray_entries_are_logged(
    zone: tuple[LandingConfig, SftpSettings], sftp_tree: LandingTree, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    os.mkfifo(sftp_tree.inbox(A) / "stray.csv")
    (sftp_tree.inbox(A) / "old").mkdir()
    with caplog.at_level(logging.WARNING, logger="extract.main"):
        assert ingest_municipality(zone[1].to_uri(), tmp_path / "lake", A) == []
    [warning] = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert "old (folder)" in warning and "stray.csv (FIFO)" in warning


@pytest.mark.unit
def test_link_count_from_longname() -> None:
    assert link_count("-rw-rw----    2 lg131016 jumin        75 Nov  1 10:00 shien.csv") == 2
    assert link_count("-rw-r--r-- 1 0 0 75 Nov  1 10:00 x") == 1
    assert link_count("-rw-r--r--      root     root        75 Nov  1 10:00 x") is None  # no count
    assert link_count(None) is None and link_count("") is None
