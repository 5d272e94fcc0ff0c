"""The test and dependency tooling: warning filters, and the lock tool's own logic."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

from jumin.dev import lock

pytestmark = [pytest.mark.unit]


def warn_from(module: str) -> None:
    """Raise a DeprecationWarning as if code in ``module`` had raised it."""
    code = compile("import warnings\nwarnings.warn('old api', DeprecationWarning)\n", module, "exec")
    exec(code, {"__name__": module})


DAGBAG_NAME = f"unusual_prefix_{'a' * 40}_jumin_ingest"  # a DAG file as Airflow's DagBag names it


@pytest.mark.parametrize("module", ["jumin.core.lake", "extract", "load.main", "dags.jumin_ingest", DAGBAG_NAME])
def test_deprecations_from_our_code_are_errors(module: str) -> None:
    with pytest.raises(DeprecationWarning, match="old api"):
        warn_from(module)


@pytest.mark.parametrize("module", ["airflow.sdk", "great_expectations.core", "loader", "jumin_other"])
def test_deprecations_from_other_code_are_shown_not_raised(module: str) -> None:
    with warnings.catch_warnings(record=True) as seen:
        warn_from(module)
    assert [str(w.message) for w in seen] == ["old api"]


def test_freeze_lines_drop_the_project_and_installer_tools_and_sort_like_sort_f() -> None:
    freeze = "zipp==3.1\nPyYAML==6.0\npip==26.3\nsetuptools==65.5.0\njumin==0.1.0\nast_serialize==0.13\nasgiref==3.1\n"
    assert lock.freeze_lines(freeze) == ["asgiref==3.1", "ast_serialize==0.13", "PyYAML==6.0", "zipp==3.1"]
    with pytest.raises(SystemExit):
        lock.freeze_lines("jumin @ file:///work/main\nfoo @ https://example.org/foo.whl\n")


def test_lock_problems_name_every_difference() -> None:
    locked = {"a": ("A", "1"), "b": ("b", "2"), "c": ("c", "3")}
    present = {"a": ("A", "1"), "b": ("b", "2.1"), "d": ("d", "4")}
    assert lock.lock_problems(locked, present) == [
        "installed but not locked: d==4",
        "locked but not installed: c==3",
        "b: locked 2, installed 2.1",
    ]
    assert lock.lock_problems(locked, dict(locked)) == []


def test_read_lock_canonical_names_and_bad_lines(tmp_path: Path) -> None:
    path = tmp_path / "requirements.lock"
    path.write_text("# header\n\nSQLAlchemy==2.0.1\nast_serialize==0.13.1\n")
    assert lock.read_lock(path) == {"sqlalchemy": ("SQLAlchemy", "2.0.1"), "ast-serialize": ("ast_serialize", "0.13.1")}
    path.write_text("numpy>=2\n")
    with pytest.raises(SystemExit):
        lock.read_lock(path)


def test_imports_resolve_to_the_distribution_of_the_longest_module() -> None:
    modules = {"airflow.sdk": {"apache-airflow-task-sdk"}, "airflow.models": {"apache-airflow-core"}}
    folders = {"airflow": {"apache-airflow-core", "apache-airflow-task-sdk"}}
    assert lock.providers("airflow.sdk.exceptions.AirflowFailException", modules, folders) == (
        "airflow.sdk",
        {"apache-airflow-task-sdk"},
    )
    assert lock.providers("airflow.providers", modules, folders) == (
        "airflow",
        {"apache-airflow-core", "apache-airflow-task-sdk"},
    )
    assert lock.providers("nowhere.x", modules, folders) == ("nowhere", set())


def test_imported_modules_skip_the_standard_library_and_our_packages(tmp_path: Path) -> None:
    src = tmp_path / "jumin"
    src.mkdir()
    (src / "m.py").write_text(
        "from __future__ import annotations\nimport os, numpy as np\nfrom pyarrow import csv\n"
        "from jumin.core import lake\nfrom . import sibling\nimport extract.main\n"
    )
    assert lock.imported_modules([src]) == {"numpy": {"jumin/m.py:2"}, "pyarrow.csv": {"jumin/m.py:3"}}


def test_requirement_names() -> None:
    assert lock.requirement_name("apache-airflow==3.3.2") == "apache-airflow"
    assert lock.requirement_name("great_expectations[spark]>=1 ; python_version<'3.12'") == "great-expectations"
