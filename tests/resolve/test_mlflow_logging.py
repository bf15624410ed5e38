"""MLflow's and alembic's INFO lines are not printed by storybook commands; their warnings still are, without
credentials. Run in fresh processes: logging is configured once per process, when mlflow is imported."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import copy_example_project

PYTHON = Path(sys.executable)


def test_a_build_on_an_empty_registry_prints_no_mlflow_info_lines(tmp_path: Path) -> None:
    """A store MLflow has just made (its tables, no models): the build's only words are the story's located error.
    (A store that does not exist at all is refused before MLflow is opened: tests/resolve/test_missing_store.py.)"""
    root = copy_example_project(tmp_path / "project")
    (root / "mlflow").mkdir(exist_ok=True)
    uri = f"sqlite:///{root / 'mlflow' / 'mlflow.db'}"
    made = subprocess.run([str(PYTHON), "-c", f"from mlflow import MlflowClient; MlflowClient({uri!r}, {uri!r})"
                           ".search_experiments()"], capture_output=True, text=True, check=False)
    assert made.returncode == 0, made.stderr
    result = subprocess.run([str(PYTHON.with_name("storybook")), "build", str(root), "--no-pdf", "--jobs", "1"],
                            capture_output=True, text=True, check=False, env={**os.environ, "NO_COLOR": "1"})
    assert result.returncode == 1, result.stderr  # the registry is empty: a located story error, and nothing else
    assert "INFO" not in result.stderr and "Creating initial MLflow database tables" not in result.stderr
    assert "Context impl" not in result.stderr
    assert "story.yaml:" in result.stderr and "is not in the model registry" in result.stderr


def test_mlflow_warnings_still_show_scrubbed(tmp_path: Path) -> None:
    script = f"""
import logging
from pathlib import Path
from storybook.resolve.mlflow_source import MlflowSource
source = MlflowSource("sqlite:///{tmp_path}/mlflow.db", Path("{tmp_path}") / "cache")
source.client.search_experiments()
logging.getLogger("mlflow.store.db.utils").info("an info line")
logging.getLogger("mlflow.tracking").warning("a warning with the token s3cret-word-42 in it")
logging.getLogger("alembic.runtime.migration").info("Context impl SQLiteImpl.")
"""
    env = {**os.environ, "MLFLOW_TRACKING_TOKEN": "s3cret-word-42"}
    env.pop("MLFLOW_LOGGING_LEVEL", None)
    result = subprocess.run([str(PYTHON), "-c", script], capture_output=True, text=True, check=False, env=env)
    assert result.returncode == 0, result.stderr
    assert "a warning with the token *** in it" in result.stderr
    assert "s3cret" not in result.stderr
    assert "an info line" not in result.stderr and "Context impl" not in result.stderr
    assert "Creating initial MLflow database tables" not in result.stderr
    # MLFLOW_LOGGING_LEVEL, when someone sets it, decides.
    env["MLFLOW_LOGGING_LEVEL"] = "INFO"
    result = subprocess.run([str(PYTHON), "-c", script], capture_output=True, text=True, check=False, env=env)
    assert "an info line" in result.stderr and "s3cret" not in result.stderr
