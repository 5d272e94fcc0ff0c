"""Test settings: an isolated Airflow home and no analytics, set before anything imports them;
every test in a tier, and Airflow tests timed out by a thread."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

os.environ["GX_ANALYTICS_ENABLED"] = "False"
os.environ["AIRFLOW_HOME"] = tempfile.mkdtemp(prefix="jumin-airflow-")
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(Path(__file__).resolve().parent.parent / "dags")

REPO = Path(__file__).resolve().parent.parent
#: the markers registered in pyproject.toml; each test carries at least one (docs/architecture.md)
TIERS = ("unit", "integration", "root", "airflow")


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Refuse to run when a collected test has no tier; give Airflow tests the thread timeout.

    ``tryfirst``: the check sees every collected test, also under ``-m unit``.
    """
    untiered = [item.nodeid for item in items if not any(item.get_closest_marker(t) for t in TIERS)]
    if untiered:
        raise pytest.UsageError(
            "tests without a tier marker (one of "
            + ", ".join(TIERS)
            + "; see docs/architecture.md, Tests):\n  "
            + "\n  ".join(untiered)
        )
    for item in items:
        if item.get_closest_marker("airflow"):
            # Airflow's DagBag arms SIGALRM for its own import timeout and then cancels the
            # alarm, and with it pytest-timeout's signal: time these tests out by a thread,
            # keeping the seconds a test asks for (or the global timeout)
            own = item.get_closest_marker("timeout")
            seconds = (own.args[0] if own.args else own.kwargs.get("timeout")) if own else None
            item.add_marker(pytest.mark.timeout(seconds, method="thread"), append=False)


@pytest.fixture(scope="session")
def airflow_db() -> str:
    """A migrated SQLite metadata database in the test run's own AIRFLOW_HOME."""
    subprocess.run([sys.executable, "-m", "airflow", "db", "migrate"], check=True, capture_output=True)
    return os.environ["AIRFLOW_HOME"]
