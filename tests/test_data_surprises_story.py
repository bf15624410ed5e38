"""Leaks and surprises end to end: a scored set with a planted leak, a constant column, contradicting labels and a
training-only group, logged with its training table to a real sqlite MLflow store; the story's trust report counts
each as a failed trust-in-the-data check, and its page tells each with its figure."""

from __future__ import annotations

import html
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient
from sklearn.metrics import roc_auc_score

from storybook.analyse.story import StoryAnalysis, analyse_story
from storybook.render.pages import page_environment, render_story
from storybook.resolve.mlflow_source import MlflowSource
from storybook.resolve.resolved import ResolvedStory
from storybook.sources.loader import StorySource, load_story
from tests import stores

N = 240


def _sets() -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(11)
    y = (rng.random(N) < 0.4).astype(int)
    marker = np.round(y * 1.4 + rng.normal(0, 1, N), 3)
    code = np.round(y + rng.normal(0, 0.08, N), 3)    # fills in the answer: a leak
    site = rng.choice(["north", "south"], N)
    # Rows 1 and 2 repeat row 0's inputs; row 2's label differs from row 0's: three rows, one contradiction.
    for column in (marker, code, site):
        column[1:3] = column[0]
    y[1], y[2] = y[0], 1 - y[0]
    score = np.round(1 / (1 + np.exp(-(marker - 0.7))), 6)
    evaluation = pd.DataFrame({"label": y, "score": score, "marker": marker, "discharge_code": code, "ward": "B",
                               "site": site, "flagged": (score >= 0.5).astype(int)})  # the model's own answer
    training = evaluation.drop(columns=["score", "flagged"]).assign(
        site=rng.choice(["north", "south", "east"], N, p=[0.4, 0.4, 0.2]))
    return evaluation, training


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[StorySource, ResolvedStory, StoryAnalysis, pd.DataFrame]:
    root = tmp_path_factory.mktemp("surprises")
    uri = stores.tracking_uri(root)
    evaluation, training = _sets()
    run_id = stores.log_scored_run(uri, evaluation, params={"threshold": "0.5"}, metrics={"test_recall": 0.8})
    MlflowClient(uri, uri).log_text(run_id, training.to_csv(index=False), "data/train.csv")
    story = stores.story("tumours", "champion", [{"key": "test_recall", "label": "Found", "kind": "recall"}],
                         {"artifact": "evaluation/scored.csv", "unit": "patients", "positive_means": "have cancer",
                          "negative_means": "do not have cancer"},
                         trust={"owner": "Analytics team", "data": {"training_artifact": "data/train.csv"}})
    story["model"] = {"run_id": run_id}
    stores.write_project(root, {"tumours": story})
    loaded = load_story(root, root / "stories" / "tumours")
    resolved = MlflowSource(uri, root / ".cache").resolve(loaded)
    return loaded, resolved, analyse_story(loaded, resolved), evaluation


def test_each_surprise_is_a_failed_data_check_with_its_figure(
        built: tuple[StorySource, ResolvedStory, StoryAnalysis, pd.DataFrame]) -> None:
    _story, _resolved, analysis, evaluation = built
    assert analysis.trust is not None
    [data] = [level for level in analysis.trust.levels if level.area == "data"]
    found = {e.check: e for e in data.evidence}
    auc = roc_auc_score(evaluation["label"], evaluation["discharge_code"])
    assert auc >= 0.98 and roc_auc_score(evaluation["label"], evaluation["marker"]) < 0.9
    leak = found["data.leaks"]
    assert leak.passed is False and leak.figures["leak_discharge_code"] == pytest.approx(auc, abs=1e-4)
    assert "'marker'" not in leak.sentence
    assert leak.figures["inputs"] == 3   # marker, discharge_code, site: not the constant ward, nor the flags
    assert found["data.contradictions"].passed is False
    assert found["data.contradictions"].sentence.startswith("3 of 240 patients (1 in 80) have the same value")
    assert found["data.empty_columns"].passed is False
    east = int((_sets()[1]["site"] == "east").sum())
    coverage = found["data.group_coverage"]
    assert coverage.passed is False
    assert f"the group 'east' of 'site' has {east} rows in the training data but none of the 240" in \
        coverage.sentence.lower()
    assert data.failed >= 4


def test_the_page_tells_the_leak(built: tuple[StorySource, ResolvedStory, StoryAnalysis, pd.DataFrame]) -> None:
    story, resolved, analysis, _evaluation = built
    page = render_story(page_environment(None), story, resolved, analysis, built_at="(test)", pdf_name=None).html
    text = html.unescape(page)
    assert "The column 'discharge_code' alone tells apart" in text
    assert ("the answer may have leaked into the data. Check how this column is filled, and whether the model reads "
            "it") in text
    assert "'ward' holds one value only ('B') for all 240 patients" in text


def test_the_example_challenger_leak_is_told_on_the_screening_story(trained_project: Path, tmp_path: Path) -> None:
    """The bundled example plants a leak in version 2's evaluation set (biopsy_report): the screening story, which
    compares with version 2, tells it; version 1's own set has none."""
    loaded = load_story(trained_project, trained_project / "stories" / "breast-cancer-screening")
    resolved = MlflowSource(f"sqlite:///{trained_project / 'mlflow' / 'mlflow.db'}", tmp_path).resolve(loaded)
    trust = analyse_story(loaded, resolved).trust
    assert trust is not None
    leaks = [e for level in trust.levels for e in level.evidence if e.check == "data.leaks"]
    assert [e.passed for e in leaks] == [True, False]
    assert leaks[1].sentence.startswith("In the evaluation set of version 2 (challenger")
    assert "the column 'biopsy_report' alone tells apart 99 in 100 of the patients who have a malignant tumour" in \
        leaks[1].sentence
