"""Drivers from a logged artifact (any model) or the logged model, and the located errors when neither works."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
from mlflow.tracking import MlflowClient
from typer.testing import CliRunner

from storybook.cli import app
from storybook.errors import ReferenceNotFound, SourceError
from storybook.resolve.mlflow_source import MlflowSource
from storybook.resolve.tracking import tracking_uri
from storybook.sources.loader import StorySource, load_project

STORY = "breast-cancer-screening"
runner = CliRunner()


def _client(project: Path) -> MlflowClient:
    uri = f"sqlite:///{project / 'mlflow' / 'mlflow.db'}"
    return MlflowClient(uri, uri)


def _edit(project: Path, old: str, new: str) -> int:
    """Replace ``old`` in the story's story.yaml; returns the line number of the replacement."""
    path = project / "stories" / STORY / "story.yaml"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))
    return text[:text.index(old)].count("\n") + 1


def _resolve(project: Path) -> MlflowSource:
    return MlflowSource(tracking_uri("sqlite:///mlflow/mlflow.db", project), project / ".cache")


def _story(project: Path) -> StorySource:
    story = load_project(project, [STORY]).stories[0]
    assert isinstance(story, StorySource)
    return story


def _log(project: Path, frame: pd.DataFrame, path: str) -> None:
    client = _client(project)
    run_id = client.get_model_version_by_alias(STORY, "champion").run_id
    client.log_text(run_id, frame.to_csv(index=False), path)


def test_an_importance_artifact_is_read_and_told_without_loading_the_model(project_copy: Path) -> None:
    drops = pd.DataFrame({"feature": ["mean radius"] * 4 + ["mean texture"] * 4, "repeat": [0, 1, 2, 3] * 2,
                          "drop": [0.09, 0.11, 0.10, 0.10, 0.00, 0.01, -0.01, 0.00]})
    _log(project_copy, drops, "importance/drops.csv")
    _edit(project_copy, "  source: model ", "  source: importance/drops.csv ")
    resolved = _resolve(project_copy).resolve(_story(project_copy))
    assert resolved.drivers is not None and resolved.drivers.origin == "artifact"
    assert resolved.drivers.provenance.key == "importance/drops.csv"
    assert set(resolved.drivers.table["slice"]) == {"(all)"}

    result = runner.invoke(app, ["build", str(project_copy), "--no-pdf"])
    assert result.exit_code == 0, result.output
    page = (project_copy / "site" / f"{STORY}.html").read_text()
    # Mean 0.10, sample std 0.008165, t(3 df) = 3.182446: 0.10 +- 0.01299, i.e. 8.7 to 11.3 points.
    assert ("The model leans most on tumour size (radius): shuffling it costs 10.0 points of accuracy out of 100 "
            "(between 8.7 and 11.3)") in page
    assert "Shuffling texture (variation in grey levels) makes no clear difference" in page
    assert "Read from importance/drops.csv, which run" in page
    cells = dict(re.findall(r'data-driver="([^"]+)">([^<]+)<', page))
    assert cells == {"mean radius": "10.00", "mean texture": "0.00"}


def test_a_summary_artifact_uses_its_repeats(project_copy: Path) -> None:
    summary = pd.DataFrame({"feature": ["mean radius"], "mean": [0.05], "std": [0.01], "repeats": [5]})
    _log(project_copy, summary, "importance/summary.csv")
    _edit(project_copy, "  source: model ", "  source: importance/summary.csv ")
    resolved = _resolve(project_copy).resolve(_story(project_copy))
    assert resolved.drivers is not None
    assert list(resolved.drivers.table.columns) == ["feature", "mean", "std", "repeats"]


def test_an_artifact_of_another_shape_is_refused_on_its_line(project_copy: Path) -> None:
    _log(project_copy, pd.DataFrame({"name": ["x"], "importance": [0.1]}), "importance/other.csv")
    line = _edit(project_copy, "  source: model ", "  source: importance/other.csv ")
    with pytest.raises(SourceError) as error:
        _resolve(project_copy).resolve(_story(project_copy))
    assert error.value.location is not None and error.value.location.line == line
    assert "storybook reads feature, repeat, drop" in error.value.message


def test_a_missing_artifact_says_what_the_run_has(project_copy: Path) -> None:
    _edit(project_copy, "  source: model ", "  source: importance/none.csv ")
    with pytest.raises(ReferenceNotFound, match=r"has no artifact 'importance/none\.csv'"):
        _resolve(project_copy).resolve(_story(project_copy))


def test_features_the_evaluation_set_lacks_are_refused_with_the_fix(project_copy: Path) -> None:
    line = _edit(project_copy, "  source: model ", "  source: model\n  features: [mean radius, mean colour] ")
    with pytest.raises(SourceError) as error:
        _resolve(project_copy).resolve(_story(project_copy))
    assert error.value.location is not None and error.value.location.line == line
    assert "the evaluation set has no column 'mean colour' that the model reads" in error.value.message
    assert error.value.hint is not None and "feature, repeat, drop" in error.value.hint


def test_a_snapshot_pinned_before_drivers_were_asked_for_says_to_pin_again(project_copy: Path) -> None:
    path = project_copy / "stories" / STORY / "story.yaml"
    original = path.read_text()
    start = original.index("drivers:")
    path.write_text(original[:start] + original[original.index("history:"):])
    result = runner.invoke(app, ["pin", str(project_copy)])
    assert result.exit_code == 0, result.output
    path.write_text(original)
    line = original[:start].count("\n") + 1
    result = runner.invoke(app, ["build", str(project_copy), "--no-pdf"])
    assert result.exit_code == 1
    assert f"story.yaml:{line}: what drives the predictions (drivers) is not in the pinned snapshot" in result.output
