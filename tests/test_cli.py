"""The ``jumin`` command as a user meets it: help for every option, defaults that work for any
municipality, one-line failures with the documented exit codes, and no silent "nothing to do"."""

from __future__ import annotations

import argparse
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from jumin.apps.cli import EXIT_ERROR, EXIT_OK, EXIT_USAGE, build_parser, main

pytestmark = pytest.mark.unit


def _parsers(p: argparse.ArgumentParser, path: str = "jumin") -> Iterator[tuple[str, argparse.ArgumentParser]]:
    yield path, p
    for action in p._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _parsers(sub, f"{path} {name}")


def test_every_option_and_command_has_help() -> None:
    missing = []
    for path, p in _parsers(build_parser()):
        for action in p._actions:
            if isinstance(action, argparse._HelpAction):
                continue
            if isinstance(action, argparse._SubParsersAction):
                missing += [f"{path} {c.dest}" for c in action._choices_actions if not c.help]
                continue
            if not action.help:
                missing.append(f"{path} {'/'.join(action.option_strings) or action.dest}")
    assert missing == [], "options without help text"


def test_generate_defaults_work_for_any_municipality(tmp_path: Path) -> None:
    # the default CP932 municipality is only applied when it is generated
    assert main(["generate", "--out", str(tmp_path), "--lg-code", "131016", "--residents", "20"]) == EXIT_OK
    assert sorted(p.name for p in (tmp_path / "landing").iterdir()) == ["131016"]


def test_generate_refuses_cp932_for_a_municipality_it_does_not_generate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["generate", "--out", str(tmp_path), "--lg-code", "131016", "--cp932", "012025"])
    assert code == EXIT_USAGE
    assert "012025" in capsys.readouterr().err


def test_ingest_of_a_tree_without_inboxes_fails_naming_the_expected_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The generator writes ``<out>/landing/<code>/``; a landing zone has ``<code>/inbox/``."""
    main(["generate", "--out", str(tmp_path / "gen"), "--lg-code", "131016", "--residents", "20"])
    code = main(["ingest", "--landing", str(tmp_path / "gen" / "landing"), "--lake", str(tmp_path / "lake")])
    err = capsys.readouterr().err
    assert code == EXIT_ERROR
    assert str(tmp_path / "gen" / "landing" / "131016" / "inbox") in " ".join(err.split())
    assert not (tmp_path / "lake").exists()


def test_ingest_of_a_named_municipality_without_inbox_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "landing").mkdir()
    code = main(
        ["ingest", "--landing", str(tmp_path / "landing"), "--lake", str(tmp_path / "lake"), "--lg-code", "131016"]
    )
    assert code == EXIT_ERROR
    assert "131016" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "zone"),
    [
        (["validate"], "parsed"),
        (["snapshot", "--as-of", "2026-11-01"], "accepted"),
        (["delta", "--to", "2026-11-02"], "accepted"),
    ],
)
def test_a_command_that_finds_nothing_to_do_fails_naming_the_folder(
    argv: list[str], zone: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An empty lake, or a municipality without data there, is an error, not an empty table."""
    lake = tmp_path / "lake"
    assert main([*argv, "--lake", str(lake)]) == EXIT_ERROR
    assert f"no municipality has {zone} data under {lake / zone}" in " ".join(capsys.readouterr().err.split())
    (lake / zone / "atena" / "lg_code=141038").mkdir(parents=True)
    assert main([*argv, "--lake", str(lake), "--lg-code", "131016"]) == EXIT_ERROR
    assert f"no {zone} data for 131016" in capsys.readouterr().err


def test_a_bad_municipality_code_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stop:
        main(["ingest", "--landing", "x", "--lake", "y", "--lg-code", "131017"])
    assert stop.value.code == EXIT_USAGE
    assert "131017" in capsys.readouterr().err


@pytest.mark.integration
def test_an_unexpected_failure_is_one_line_and_a_traceback_only_with_verbose(tmp_path: Path) -> None:
    # a lake below a regular file: registering a 外字 map fails with an OSError, not a JuminError
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("x")
    gaiji_map = tmp_path / "map.json"
    gaiji_map.write_text('{"lg_code": "131016", "map": {"U+E000": "髙"}}', encoding="utf-8")
    command = ["gaiji", "--lake", str(not_a_folder / "lake"), "--lg-code", "131016", str(gaiji_map)]

    def run(*options: str) -> subprocess.CompletedProcess[str]:
        cli = [sys.executable, "-m", "jumin.apps.cli", *options, *command]
        return subprocess.run(cli, capture_output=True, text=True, timeout=60, env={"COLUMNS": "200", "PATH": ""})

    quiet = run()
    assert quiet.returncode == EXIT_ERROR
    assert "Traceback" not in quiet.stderr + quiet.stdout
    assert len([line for line in quiet.stderr.splitlines() if line.strip()]) == 1, quiet.stderr
    assert "map" in quiet.stderr or "lake" in quiet.stderr
    loud = run("-v")
    assert loud.returncode == EXIT_ERROR
    assert "Traceback" in loud.stderr + loud.stdout
