"""The terminal stays quiet: a build on a real sqlite store prints no MLflow or alembic INFO line, unless
``storybook --verbose`` asks for them (then MLflow's own lines come through, as MLflow writes them)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from storybook.cli import VERBOSE_ENV
from storybook.resolve import mlflow_source
from tests import stores

INFO = re.compile(r"^\S+ \S+ INFO (mlflow|alembic)\b", re.MULTILINE)


def _project(root: Path) -> Path:
    """A one-story project on a real sqlite store holding one run with a scored set."""
    root.mkdir(parents=True)
    uri = stores.tracking_uri(root)
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"label": rng.integers(0, 2, 200), "score": rng.random(200)})
    run = stores.log_scored_run(uri, frame, metrics={"share_right": 0.5})
    story = stores.story("scan-model", "champion", [{"key": "share_right", "label": "share of calls right"}],
                         {"artifact": "evaluation/scored.csv", "label_column": "label", "score_column": "score",
                          "threshold": 0.5, "unit": "patients", "positive_means": "have a malignant tumour",
                          "negative_means": "have a harmless tumour"})
    story["model"] = {"run_id": run}
    return stores.write_project(root, {"scans": story})


def _storybook(*args: str) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if key not in ("MLFLOW_LOGGING_LEVEL", VERBOSE_ENV)}
    return subprocess.run([str(Path(sys.executable).with_name("storybook")), *args], capture_output=True,
                          text=True, env=env, timeout=300, check=False)


def test_a_build_prints_no_mlflow_info_line_unless_verbose(tmp_path: Path) -> None:
    root = _project(tmp_path / "project")
    quiet = _storybook("build", str(root), "--no-pdf", "--jobs", "1", "--no-cache")
    assert quiet.returncode == 0, quiet.stdout + quiet.stderr
    assert "1 built, 0 failed" in quiet.stdout
    assert INFO.search(quiet.stdout + quiet.stderr) is None, quiet.stderr
    loud = _storybook("--verbose", "build", str(root), "--no-pdf", "--jobs", "1", "--no-cache")
    assert loud.returncode == 0 and "1 built, 0 failed" in loud.stdout, loud.stdout + loud.stderr
    assert INFO.search(loud.stderr) is not None, loud.stderr
    # A store that is not there is refused before MLflow opens it (MLflow would create it and its tables),
    # quiet or verbose: nothing is created and MLflow says nothing.
    (root / "storybook.yaml").write_text((root / "storybook.yaml").read_text().replace("mlflow.db", "fresh.db"))
    for flags in ((), ("-v",)):
        refused = _storybook(*flags, "build", str(root), "--no-pdf", "--jobs", "1", "--no-cache")
        assert refused.returncode == 2, refused.stdout + refused.stderr
        assert "fresh.db, which does not exist" in refused.stdout + refused.stderr, refused.stderr
        assert "INFO mlflow" not in refused.stdout + refused.stderr and not (root / "fresh.db").exists()


def test_the_cli_and_the_mlflow_door_name_the_same_variable() -> None:
    assert VERBOSE_ENV == mlflow_source.VERBOSE_ENV
