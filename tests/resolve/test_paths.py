"""Paths stay in their place (issue 24, class 4): a symlink in a run's artifact folder that points outside is not
followed into the page or the snapshot; site_dir and templates_dir outside the project are refused when
storybook.yaml is read; a snapshot.json that links outside the story folder is not followed. Each poisoned
story fails on its own line while a good story beside it is published."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient
from typer.testing import CliRunner

from storybook.cli import app

runner = CliRunner()
SECRET = "SECRET-ROW-7f3a"
STORY = """\
title: Scores
summary: Which cases go first.
audience: Managers
owner: Analytics
model:
  run_id: {run_id}
intended_use:
  primary: Sort cases.
  users: [Nurses]
  out_of_scope: [Diagnosis]
metrics:
  - {{key: test_recall, label: Cases found, kind: recall}}
evaluation:
  artifact: evaluation/scored.csv
  threshold: 0.5
  unit: patients
  positive_means: are ill
  negative_means: are well
slices:
  - {{column: site, label: Site, why: sites differ}}
min_slice_size: 5
"""


def _scored(site: str) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    label = rng.integers(0, 2, 200)
    return pd.DataFrame({"label": label, "score": np.clip(label * 0.6 + rng.random(200) * 0.4, 0, 1).round(4),
                         "site": site})


@pytest.fixture
def project(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """A project over a sqlite store with three runs: 'good' logs its scored set; 'linked-file' and
    'linked-folder' have, in their artifact folders, a symlink to a scored set outside (holding a secret)."""
    root = tmp_path / "project"
    root.mkdir()
    uri = f"sqlite:///{root / 'mlflow.db'}"
    client = MlflowClient(uri, uri)
    experiment = client.create_experiment("e", artifact_location=(root / "artifacts").as_uri())
    outside = tmp_path / "outside"
    (outside / "evaluation").mkdir(parents=True)
    _scored(SECRET).to_csv(outside / "evaluation" / "scored.csv", index=False)
    runs: dict[str, str] = {}
    for name in ("good", "linked-file", "linked-folder"):
        run = client.create_run(experiment, run_name=name).info.run_id
        client.log_metric(run, "test_recall", 0.8)
        folder = root / "artifacts" / run / "artifacts"
        if name == "good":
            client.log_text(run, _scored("north").to_csv(index=False), "evaluation/scored.csv")
        elif name == "linked-file":
            (folder / "evaluation").mkdir(parents=True)
            os.symlink(outside / "evaluation" / "scored.csv", folder / "evaluation" / "scored.csv")
        else:
            folder.mkdir(parents=True)
            os.symlink(outside / "evaluation", folder / "evaluation")
        client.set_terminated(run)
        runs[name] = run
    (root / "storybook.yaml").write_text("title: t\ntracking_uri: sqlite:///mlflow.db\npdf: false\n")
    for name, run in runs.items():
        story = root / "stories" / name
        story.mkdir(parents=True)
        (story / "story.yaml").write_text(STORY.format(run_id=run))
        (story / "ethical-considerations.md").write_text("People decide.\n")
        (story / "caveats-and-recommendations.md").write_text("Check it.\n")
    return root, runs


def _artifact_line() -> int:
    return STORY.splitlines().index("  artifact: evaluation/scored.csv") + 1


def test_a_symlink_out_of_the_artifact_folder_is_not_followed(project: tuple[Path, dict[str, str]]) -> None:
    root, _ = project
    result = runner.invoke(app, ["build", str(root), "--jobs", "1"])
    assert result.exit_code == 1, result.output
    assert (root / "site" / "good.html").is_file()
    assert "Cases found" in (root / "site" / "good.html").read_text()
    for name in ("linked-file", "linked-folder"):
        assert re.search(rf"stories/{name}/story\.yaml:{_artifact_line()}: artifact 'evaluation/scored\.csv' of run "
                         r"\w+ is a link to a file outside the run's artifact folder", result.output), result.output
        assert not (root / "site" / f"{name}.html").exists()
    for path in (root / "site").rglob("*"):
        if path.is_file():
            assert SECRET not in path.read_text(errors="replace"), path
    # pin refuses it too: nothing outside is copied into a snapshot
    pinned = runner.invoke(app, ["pin", str(root), "--story", "linked-file"])
    assert pinned.exit_code != 0 and "outside the run's artifact folder" in pinned.output
    assert not (root / "stories" / "linked-file" / "snapshot.json").exists()
    assert all(SECRET not in p.read_text(errors="replace") for p in (root / "stories").rglob("*") if p.is_file())


@pytest.mark.parametrize(("key", "value", "said"), [
    ("site_dir", "/tmp/storybook-elsewhere", "points outside the project"),
    ("site_dir", "../site-beside", "points outside the project"),
    ("site_dir", "stories/site", "is inside the stories folder"),
    ("templates_dir", "/", "points outside the project"),
    ("templates_dir", "../../..", "points outside the project"),
    ("templates_dir", ".", "is the project folder itself"),
])
def test_site_and_templates_folders_outside_the_project_are_refused_on_their_line(
        project: tuple[Path, dict[str, str]], key: str, value: str, said: str) -> None:
    root, _ = project
    (root / "storybook.yaml").write_text(f"title: t\ntracking_uri: sqlite:///mlflow.db\n{key}: {value}\npdf: false\n")
    result = runner.invoke(app, ["build", str(root), "--jobs", "1"])
    assert result.exit_code == 2, result.output
    assert re.search(rf"storybook\.yaml:3: .*{said}", result.output), result.output
    assert "Traceback" not in result.output
    assert not (root / "site").exists() and not (root.parent / "site-beside").exists()
    assert not Path("/tmp/storybook-elsewhere").exists()


def test_a_snapshot_linked_from_outside_the_story_is_not_followed(project: tuple[Path, dict[str, str]],
                                                                 tmp_path: Path) -> None:
    root, _ = project
    for name in ("linked-file", "linked-folder"):
        shutil.rmtree(root / "stories" / name)
    assert runner.invoke(app, ["pin", str(root), "--story", "good"]).exit_code == 0
    # A second story whose snapshot.json is a link to a (valid) snapshot kept outside the project.
    shutil.copytree(root / "stories" / "good", root / "stories" / "linked")
    outside = tmp_path / "elsewhere" / "snapshot.json"
    outside.parent.mkdir()
    shutil.move(root / "stories" / "linked" / "snapshot.json", outside)
    os.symlink(outside, root / "stories" / "linked" / "snapshot.json")
    result = runner.invoke(app, ["build", str(root), "--offline", "--jobs", "1"])
    assert result.exit_code == 1, result.output
    assert (root / "site" / "good.html").is_file() and not (root / "site" / "linked.html").exists()
    assert re.search(r"stories/linked/snapshot\.json: snapshot\.json is a link to a file outside the story folder",
                     result.output), result.output
