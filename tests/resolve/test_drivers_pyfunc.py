"""Drivers from models that are not scikit-learn: a pyfunc model storybook can load (by run id), and one whose
code is missing here, which fails on the story's line with the fix (log an importance artifact)."""

from __future__ import annotations

import hashlib
import sys
import textwrap
import warnings
from collections.abc import Iterator
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.inspection import permutation_importance
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import recall_score

from storybook.errors import SourceError
from storybook.resolve.mlflow_source import MlflowSource
from storybook.resolve.tracking import tracking_uri
from storybook.sources.loader import StorySource, load_project
from tests.stores import MODEL_REQUIREMENTS

STORY_YAML = """\
title: Scores from a custom model
summary: A pyfunc model.
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
drivers:
  source: model
  model_path: scorer
  metric: roc_auc
  repeats: 4
  seed: 3
"""
MODULE = '''
import numpy as np
import mlflow.pyfunc


class Scorer(mlflow.pyfunc.PythonModel):
    """A logistic model written by hand: the chance of class 1 from two weights."""

    def __init__(self, weights, bias):
        self.weights = weights
        self.bias = bias

    def predict(self, context, model_input, params=None):
        z = model_input[["a", "b", "c"]].to_numpy() @ self.weights + self.bias
        return 1 / (1 + np.exp(-z))
'''


def _data() -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(5)
    frame = pd.DataFrame(rng.normal(size=(300, 3)), columns=["a", "b", "c"])
    truth = (frame["a"] * 2 + frame["b"] * 0.5 + rng.normal(size=300) > 0).astype(int).to_numpy()
    return frame, truth


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict[str, str]]]:
    """Two runs with the same hand-written pyfunc model: one whose module is importable, one whose is not."""
    root = tmp_path_factory.mktemp("pyfunc")
    uri = f"sqlite:///{root / 'store' / 'mlflow.db'}"
    (root / "store").mkdir()
    client = MlflowClient(uri, uri)
    experiment = client.create_experiment("pyfunc", artifact_location=(root / "store" / "artifacts").as_uri())
    frame, truth = _data()
    fitted = LogisticRegression().fit(frame, truth)
    weights, bias = fitted.coef_[0], float(fitted.intercept_[0])
    previous = mlflow.get_tracking_uri(), mlflow.get_registry_uri()
    runs: dict[str, str] = {}
    try:
        mlflow.set_tracking_uri(uri)
        mlflow.set_registry_uri(uri)
        for name in ("scorer_here", "scorer_gone"):
            code = root / "code" / name
            code.mkdir(parents=True)
            (code / f"{name}.py").write_text(textwrap.dedent(MODULE))
            sys.path.insert(0, str(code))
            try:
                with warnings.catch_warnings():  # MLflow suggests type hints on predict; not the point here
                    warnings.simplefilter("ignore", UserWarning)
                    module = __import__(name)
                scorer = module.Scorer(weights, bias)
                scores = scorer.predict(None, frame)
                with mlflow.start_run(experiment_id=experiment) as run:
                    mlflow.log_metric("test_recall", float(((scores >= 0.5) & (truth == 1)).sum() / truth.sum()))
                    scored = frame.assign(label=truth, score=scores)
                    mlflow.log_text(scored.to_csv(index=False), "evaluation/scored.csv")
                    with warnings.catch_warnings():  # MLflow suggests type hints on predict; not the point here
                        warnings.simplefilter("ignore", UserWarning)
                        mlflow.pyfunc.log_model(pip_requirements=MODEL_REQUIREMENTS,
                                                name="scorer", python_model=scorer, input_example=frame.head(3))
                runs[name] = run.info.run_id
            finally:
                sys.path.remove(str(code))
                if name == "scorer_gone":
                    sys.modules.pop(name, None)
        sys.path.insert(0, str(root / "code" / "scorer_here"))  # importable while the tests run
        yield root, runs
    finally:
        mlflow.set_tracking_uri(previous[0])
        mlflow.set_registry_uri(previous[1])
        if str(root / "code" / "scorer_here") in sys.path:
            sys.path.remove(str(root / "code" / "scorer_here"))


def _story(root: Path, run_id: str, model_path: str = "scorer", *,
           edits: tuple[tuple[str, str], ...] = ()) -> tuple[StorySource, MlflowSource]:
    """The story over ``run_id`` in a project of its own; ``edits`` replace text of STORY_YAML."""
    text = STORY_YAML.format(run_id=run_id).replace("model_path: scorer", f"model_path: {model_path}")
    for old, new in edits:
        assert old in text
        text = text.replace(old, new, 1)
    project = root / f"project-{run_id[:8]}-{model_path}-{hashlib.sha256(text.encode()).hexdigest()[:8]}"
    (project / "stories" / "custom").mkdir(parents=True, exist_ok=True)
    (project / "storybook.yaml").write_text(f"title: t\ntracking_uri: sqlite:///{root / 'store' / 'mlflow.db'}\n")
    (project / "stories" / "custom" / "story.yaml").write_text(text)
    (project / "stories" / "custom" / "ethical-considerations.md").write_text("People decide.\n")
    (project / "stories" / "custom" / "caveats-and-recommendations.md").write_text("Check it.\n")
    story = load_project(project).stories[0]
    assert isinstance(story, StorySource)
    uri = tracking_uri(f"sqlite:///{root / 'store' / 'mlflow.db'}", project)
    return story, MlflowSource(uri, project / ".cache")


class _Estimator(ClassifierMixin, BaseEstimator):  # type: ignore[misc]
    """The same hand-written model in scikit-learn's shape, for permutation_importance."""

    def __init__(self, scorer: object = None) -> None:
        self.scorer = scorer
        self.classes_ = np.array([0, 1])

    def fit(self, *_: object) -> _Estimator:
        return self

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        chance = np.asarray(self.scorer.predict(None, frame))  # type: ignore[attr-defined]
        return np.column_stack([1 - chance, chance])

    def decision_function(self, frame: pd.DataFrame) -> np.ndarray:
        return self.predict_proba(frame)[:, 1]


def test_a_pyfunc_model_named_by_run_id_is_shuffled_like_sklearn_does(store: tuple[Path, dict[str, str]]) -> None:
    root, runs = store
    story, source = _story(root, runs["scorer_here"])
    resolved = source.resolve(story)
    drivers = resolved.drivers
    assert drivers is not None and drivers.origin == "model"
    assert drivers.provenance.key == f"runs:/{runs['scorer_here']}/scorer"
    assert drivers.rows == 300
    frame, truth = _data()
    import scorer_here  # type: ignore[import-not-found]

    weights = np.asarray(LogisticRegression().fit(frame, truth).coef_[0])
    bias = float(LogisticRegression().fit(frame, truth).intercept_[0])
    expected = permutation_importance(_Estimator(scorer_here.Scorer(weights, bias)), frame, truth,
                                      scoring="roc_auc", n_repeats=4, random_state=3)
    table = drivers.table
    for index, feature in enumerate(["a", "b", "c"]):
        ours = table[table["feature"] == feature].sort_values("repeat")["drop"].to_numpy()
        np.testing.assert_allclose(ours, expected.importances[index], rtol=0, atol=1e-12)
    assert table.groupby("feature")["drop"].mean().idxmax() == "a"


def test_a_model_whose_code_is_missing_fails_on_its_line_with_the_fix(store: tuple[Path, dict[str, str]]) -> None:
    root, runs = store
    story, source = _story(root, runs["scorer_gone"])
    with pytest.raises(SourceError) as error:
        source.resolve(story)
    assert f"the model runs:/{runs['scorer_gone']}/scorer needs scorer_gone, which is not installed here" \
        in error.value.message
    line = STORY_YAML.count("\n", 0, STORY_YAML.index("  source: model")) + 1
    assert error.value.location is not None and error.value.location.line == line
    assert error.value.hint is not None and "feature, repeat, drop" in error.value.hint


def test_a_run_without_that_model_name_says_so(store: tuple[Path, dict[str, str]]) -> None:
    root, runs = store
    story, source = _story(root, runs["scorer_here"], model_path="ranker")
    with pytest.raises(SourceError, match="has no logged model named 'ranker'"):
        source.resolve(story)


def test_drivers_flag_at_the_scored_sets_threshold_not_at_a_default(store: tuple[Path, dict[str, str]]) -> None:
    """The drops are measured on the story's checked scored set (storybook.resolve.scored), flagged at the
    story's threshold: at 0.3 the baseline recall is the share of ill patients scoring 0.3 or more, which
    differs from the share at 0.5 (a fallback threshold would give that one)."""
    root, runs = store
    story, source = _story(root, runs["scorer_here"],
                           edits=(("  threshold: 0.5", "  threshold: 0.3"), ("metric: roc_auc", "metric: recall")))
    drivers = source.resolve(story).drivers
    assert drivers is not None and drivers.metric == "recall" and drivers.baseline is not None
    frame, truth = _data()
    import scorer_here

    fitted = LogisticRegression().fit(frame, truth)
    scores = np.asarray(scorer_here.Scorer(fitted.coef_[0], float(fitted.intercept_[0])).predict(None, frame))
    at_03, at_05 = recall_score(truth, scores >= 0.3), recall_score(truth, scores >= 0.5)
    assert at_03 != pytest.approx(at_05)  # the test could tell the two thresholds apart
    assert drivers.baseline == pytest.approx(at_03, abs=1e-12)
    assert drivers.baseline == pytest.approx(((scores >= 0.3) & (truth == 1)).sum() / (truth == 1).sum())


def test_drivers_refuse_a_threshold_param_the_run_lacks(store: tuple[Path, dict[str, str]]) -> None:
    """No 0.5 fallback: a story whose threshold comes from a run param the run did not log is refused while
    the drivers are resolved, on the line of ``threshold_param``, as the model card would refuse it."""
    root, runs = store
    story, source = _story(root, runs["scorer_here"],
                           edits=(("  threshold: 0.5", "  threshold_param: cutoff"),
                                  ("metric: roc_auc", "metric: recall")))
    with pytest.raises(SourceError) as error:
        source.resolve(story)
    assert error.value.message == f"run {runs['scorer_here']} has no param 'cutoff' holding the threshold"
    line = STORY_YAML.count("\n", 0, STORY_YAML.index("  threshold: 0.5")) + 1
    assert error.value.location is not None and error.value.location.line == line
    assert error.value.hint == "log the threshold as a param, or set evaluation.threshold"


def test_drivers_refuse_a_scored_set_that_is_not_a_yes_no_outcome(store: tuple[Path, dict[str, str]],
                                                                  tmp_path: Path) -> None:
    """The drivers read the same checked set as the card: a third label in the label column is refused with
    scored.py's located error before any model is shuffled."""
    root, runs = store
    uri = f"sqlite:///{root / 'store' / 'mlflow.db'}"
    client = MlflowClient(uri, uri)
    frame, truth = _data()
    labels = truth.astype(object)
    labels[:5] = "unsure"
    scored = frame.assign(label=labels, score=np.linspace(0, 1, len(frame)))
    client.log_text(runs["scorer_here"], scored.to_csv(index=False), "evaluation/three_labels.csv")
    story, source = _story(root, runs["scorer_here"], edits=(
        ("artifact: evaluation/scored.csv", "artifact: evaluation/three_labels.csv"),))
    with pytest.raises(SourceError) as error:
        source.resolve(story)
    assert "holds 3 different labels ('0', '1', 'unsure'), not two" in error.value.message
    # label_column is not written in this story (the default, "label"), so the error points at its block.
    line = STORY_YAML.count("\n", 0, STORY_YAML.index("evaluation:")) + 1
    assert error.value.location is not None and error.value.location.line == line
