"""A live story never shows a stale figure: after MLflow changes, the next build in a new process tells the new
value (the guard any faster no-change path, e.g. a freshness probe of the store, must keep passing)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

STORY = "breast-cancer-screening"
_CLI = "import sys; from storybook.cli import main; sys.argv[0] = 'storybook'; main()"


def _build(root: Path) -> str:
    """``storybook build --no-pdf`` in a new process, as an author runs it; the story's page text."""
    done = subprocess.run([sys.executable, "-c", _CLI, "build", str(root), "--no-pdf"], cwd=root,
                          capture_output=True, text=True, timeout=300, env={**os.environ, "MLFLOW_TRACKING_URI": ""})
    assert done.returncode == 0, done.stdout + done.stderr
    pages = [p for p in (root / "site").rglob("*.html") if STORY in str(p.relative_to(root / "site"))]
    assert pages, sorted(str(p) for p in (root / "site").rglob("*.html"))
    return " ".join(p.read_text() for p in sorted(pages))


def test_a_metric_changed_in_the_store_shows_in_the_next_new_process_build(project_copy: Path) -> None:
    from mlflow.tracking import MlflowClient

    first = _build(project_copy)
    assert _build(project_copy) == first  # nothing changed: the same page
    uri = f"sqlite:///{project_copy / 'mlflow' / 'mlflow.db'}"
    client = MlflowClient(uri, uri)
    run_id = client.get_model_version_by_alias(STORY, "champion").run_id
    assert run_id is not None
    before = client.get_run(run_id).data.metrics["test_recall"]
    assert abs(100 * before - 98.76) > 1  # far enough from the new value for the page to tell them apart
    client.log_metric(run_id, "test_recall", 0.9876)  # a later value: MLflow's run now reports 98.76%
    client._tracking_client.store.engine.dispose()
    assert client.get_run(run_id).data.metrics["test_recall"] == 0.9876
    after = _build(project_copy)
    assert abs(_recall_shown(first) - 100 * before) <= 0.5  # the old value, told as a percentage
    assert abs(_recall_shown(after) - 98.76) <= 0.5, "the page still tells the old recall"


def _recall_shown(page: str) -> float:
    """The recall the story's Markdown tells (``{{ metric("test_recall") | percent }}``, linked to its source)."""
    found = re.search(r'href="#prov-metric-test-recall"[^>]*>(\d+(?:\.\d+)?)%<', page)
    assert found, "the page does not tell test_recall"
    return float(found.group(1))
