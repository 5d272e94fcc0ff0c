"""Test settings: an isolated Airflow home and no analytics, set before anything imports them."""

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


@pytest.fixture(scope="session")
def airflow_db() -> str:
    """A migrated SQLite metadata database in the test run's own AIRFLOW_HOME."""
    subprocess.run([sys.executable, "-m", "airflow", "db", "migrate"], check=True, capture_output=True)
    return os.environ["AIRFLOW_HOME"]
