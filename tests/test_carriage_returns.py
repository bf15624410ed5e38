"""A carriage return inside a value or a column name of a table (text pasted from another system) survives every
CSV storybook writes: the scored set ``storybook.log_scored_set`` logs, a pinned snapshot's tables and the
kept copy of a live story. Python's CSV writer quoted such a field only when it held the line ending it wrote
(LF), so the bare CR came back as the end of a row: ``pin`` wrote a snapshot that no build could read.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from storybook.cli import app
from storybook.files import csv_text
from tests.stores import story, use_experiment, write_project

runner = CliRunner()
SITE = "North\rclinic"  # one group's name holds a bare carriage return
NOTE = "free text\r\nover two lines"


def _scored(rows: int = 200) -> pd.DataFrame:
    rng = np.random.default_rng(7)
    labels = rng.integers(0, 2, rows)
    scores = np.clip(labels * 0.4 + rng.random(rows) * 0.6, 0, 1).round(4)
    return pd.DataFrame({"label": labels, "score": scores,
                         "site": np.where(np.arange(rows) % 2 == 0, SITE, "South clinic"),
                         "note\rcolumn": np.where(np.arange(rows) % 3 == 0, NOTE, "plain")})


def test_a_table_with_carriage_returns_reads_back_row_for_row() -> None:
    frame = _scored(12)
    back = pd.read_csv(io.StringIO(csv_text(frame)))
    assert list(back.columns) == list(frame.columns)
    assert len(back) == 12
    assert back["site"].tolist() == frame["site"].tolist()
    assert back["note\rcolumn"].tolist() == frame["note\rcolumn"].tolist()
    plain = frame.drop(columns=["note\rcolumn"]).replace({SITE: "North clinic"})
    assert csv_text(plain) == plain.to_csv(index=False, lineterminator="\n")  # the usual bytes, unchanged


def scored_project(root: Path, scored: pd.DataFrame) -> Path:
    """A project at ``root`` with one story, ``cr``, about a version whose run logged ``scored`` (with
    ``storybook.log_scored_set``, sliced by ``site``) and its recall at 0.5."""
    import mlflow
    from mlflow.tracking import MlflowClient

    import storybook

    uri = f"sqlite:///{root / 'mlflow.db'}"
    use_experiment(uri, "cr")
    found = scored.loc[scored["label"] == 1, "score"] >= 0.5
    with mlflow.start_run() as run:
        storybook.log_scored_set(scored, task="binary", label="label", score="score", slices=["site"])
        mlflow.log_metric("test_recall", float(found.mean()))
    client = MlflowClient(uri, uri)
    client.create_registered_model("cr-model")
    version = client.create_model_version("cr-model", f"runs:/{run.info.run_id}/model", run_id=run.info.run_id)
    client.set_registered_model_alias("cr-model", "champion", version.version)
    return write_project(root, {"cr": story(
        "cr-model", "champion", [{"key": "test_recall", "label": "Cases found", "kind": "recall"}],
        {"artifact": "evaluation/scored.csv", "label_column": "label", "score_column": "score", "positive_value": "1",
         "threshold": 0.5, "positive_means": "need a call", "negative_means": "need no call"},
        slices=[{"column": "site", "label": "Clinic"}])})


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return scored_project(tmp_path_factory.mktemp("carriage-returns"), _scored())


def test_a_group_named_with_a_carriage_return_is_pinned_and_built_from_the_snapshot(project: Path) -> None:
    live = runner.invoke(app, ["build", str(project), "--jobs", "1"])
    assert live.exit_code == 0, live.output
    page = (project / "site" / "cr.html").read_text()
    assert "200 cases" in page.replace("\u00a0", " ")  # every row of the logged set, none split in two

    pinned = runner.invoke(app, ["pin", str(project)])
    assert pinned.exit_code == 0, pinned.output
    offline = runner.invoke(app, ["build", str(project), "--offline", "--jobs", "1", "--no-cache"])
    assert offline.exit_code == 0, offline.output
    assert "malformed" not in offline.output
    assert (project / "site" / "cr.html").read_text().count("North") == page.count("North")
