"""Trust levels and decision briefs of regression and multiclass stories, on a real sqlite MLflow store.

Two versions of each model are registered (``champion`` in use, ``challenger`` the story's), scored on the same
cases (paired by their ids, listed in another order), with forecasts and chances built so that every figure can
be worked out by hand:

- regression: the challenger's errors (forecast minus actual) are +3 or -5, half each; the champion's twice
  those (+6 or -10). Average miss 4 and 8 points; the paired difference in absolute error is -3 or -5 on every
  patient, so its interval lies within [-5, -3]. Over-forecasts cost 40 a point, under-forecasts 200: the best
  adjustment adds 5 points (the 200/240 quantile of actual minus forecast), which saves 400 per forecast;
  switching from the champion saves 560 per forecast. A production series of the mean forecast jumps a
  thousandfold on day 21 (a unit bug): the guardrail and the change detector both catch it.
- multiclass: the challenger calls 80% of students right with chance 0.7 (0.6 on the wrong class otherwise), the
  champion 60%, each right wherever the champion is; the costs come from the story's matrix, checked by brute
  force below.
"""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import mlflow
import mlflow.sklearn
import numpy as np
import pandas as pd
import pytest
import yaml
from mlflow.tracking import MlflowClient
from sklearn.dummy import DummyClassifier, DummyRegressor
from sklearn.metrics import accuracy_score, mean_absolute_error
from typer.testing import CliRunner

from storybook.analyse.story import StoryAnalysis, analyse_story
from storybook.cli import app
from storybook.errors import StorybookError
from storybook.resolve.source import open_source
from storybook.sources.loader import StorySource, load_project
from tests.stores import MODEL_REQUIREMENTS, use_experiment

N = 200
START = datetime(2026, 9, 1, tzinfo=UTC)
CLASSES = ("support", "challenge", "neither")
MATRIX = {"support": {"challenge": 10, "neither": 8}, "challenge": {"support": 2, "neither": 3},
          "neither": {"support": 1, "challenge": 1}}
runner = CliRunner()


def _log_version(uri: str, name: str, alias: str, frame: pd.DataFrame, metrics: dict[str, float],
                 model: Any, series: list[float] | None = None) -> None:
    use_experiment(uri, name)
    folder = Path(uri.removeprefix("sqlite:///")).parent / f"{name}-{alias}"
    folder.mkdir()
    with mlflow.start_run() as run:
        mlflow.log_metrics(metrics)
        frame.to_csv(folder / "scored.csv", index=False)
        mlflow.log_artifact(str(folder / "scored.csv"), "evaluation")
        mlflow.sklearn.log_model(model, pip_requirements=MODEL_REQUIREMENTS, name="model")
        for step, value in enumerate(series or [], start=1):
            stamp = int((START + timedelta(days=step - 1)).timestamp() * 1000)
            mlflow.log_metric("production_prediction_mean", value, step=step, timestamp=stamp)
    version = mlflow.register_model(f"runs:/{run.info.run_id}/model", name)
    MlflowClient(uri, uri).set_registered_model_alias(name, alias, str(version.version))


def _project(root: Path, uri: str, slug: str, story: dict[str, Any]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "storybook.yaml").write_text(yaml.safe_dump({"title": "Task stories", "tracking_uri": uri,
                                                          "site_dir": "site", "pdf": False}))
    directory = root / "stories" / slug
    directory.mkdir(parents=True)
    (directory / "story.yaml").write_text(yaml.safe_dump(story, sort_keys=False))
    for name in ("ethical-considerations", "caveats-and-recommendations"):
        (directory / f"{name}.md").write_text("Written by the team that answers for this model.\n")
    return root


def _story(name: str, evaluation: dict[str, Any], metrics: list[dict[str, Any]], cost: dict[str, Any],
           trust: dict[str, Any], criteria: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "title": f"Should the challenger {name} replace the champion?", "summary": "A second version was trained.",
        "audience": "Planning leads", "owner": "Analytics team", "model": {"name": name, "alias": "challenger"},
        "intended_use": {"primary": "Planning.", "users": ["Planning leads"], "out_of_scope": ["Diagnosis"]},
        "metrics": metrics, "evaluation": evaluation, "cost_of_error": cost, "trust": trust,
        "decision": {"question": "Should the challenger replace the champion?",
                     "options": {"go": "Switch to the challenger.", "no_go": "Keep the champion.",
                                 "go_with_conditions": "Switch, once the conditions are met."},
                     "criteria": criteria},
    }


def _analyse(root: Path) -> StoryAnalysis:
    project = load_project(root)
    story = next(s for s in project.stories if isinstance(s, StorySource))
    return analyse_story(story, open_source(project).resolve(story), project.config)


def _text(page: str, section: str) -> str:
    body = page[page.index(f'<section id="{section}"'):]
    body = body[:body.index("</section>")]
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", "", body))).strip()


# --- regression ----------------------------------------------------------------------------------------------

def _regression_frames() -> dict[str, pd.DataFrame]:
    actual = 100.0 + np.arange(N) % 50 * 3.0
    errors = np.where(np.arange(N) % 2 == 0, 3.0, -5.0)
    ids = [f"P{i:03d}" for i in range(N)]
    ward = np.where(np.arange(N) < 120, "north", "south")
    frames = {}
    for alias, factor in (("challenger", 1.0), ("champion", 2.0)):
        frame = pd.DataFrame({"patient": ids, "actual": actual, "predicted": actual + factor * errors,
                              "ward": ward, "age": np.arange(N) % 40 + 30.0})
        frames[alias] = frame if alias == "challenger" else frame.iloc[::-1].reset_index(drop=True)
    return frames


REGRESSION_STORY = _story(
    "progression",
    {"task": "regression", "artifact": "evaluation/scored.csv", "unit": "patients", "id_column": "patient",
     "actual_column": "actual", "prediction_column": "predicted", "amount_unit": "points",
     "target_means": "the progression score a year later"},
    [{"key": "test_mae", "label": "Average miss", "kind": "mae"}],
    {"unit": "pounds", "owner": "Clinic managers", "over_forecast": 40, "under_forecast": 200,
     "bootstrap_rounds": 400, "seed": 3},
    {"owner": "Analytics team", "model": {"metric": "mae", "maximum": 5, "compare_with": "champion"},
     "guardrails": [{"series": "production_prediction_mean", "name": "the mean forecast", "lower": 50,
                     "upper": 400}]},
    [{"id": "small-miss", "metric": {"key": "test_mae", "at_most": 6}},
     {"id": "no-worse", "version_comparison": {"metric": "mae", "margin": 1}},
     {"id": "adjusting-saves", "cost_saving": {"at_least": 100000}},
     {"id": "switching-saves", "cost_saving": {"versus": "compared_version", "at_least": 0}},
     {"id": "model-trusted", "trust_level": {"area": "model", "at_least": "established"}},
     {"id": "mean-forecast", "guardrail": {"series": "production_prediction_mean"}, "required": False,
      "condition": "Fix the unit of the weights sent to the model."},
     {"id": "each-ward", "slice_gap": {"slice": "ward", "metric": "mae", "tolerance": 1}}])
REGRESSION_STORY["slices"] = [{"column": "ward", "label": "Ward"}]


@pytest.fixture(scope="module")
def regression_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("regression")
    uri = f"sqlite:///{root / 'mlflow.db'}"
    frames = _regression_frames()
    model = DummyRegressor().fit(np.zeros((2, 1)), [0.0, 1.0])
    healthy = [150.0 + (day % 3) for day in range(20)]
    series = healthy + [150_000.0 + (day % 3) * 1000 for day in range(22)]   # grams for kilograms from day 21
    for alias in ("champion", "challenger"):
        frame = frames[alias]
        _log_version(uri, "progression", alias, frame,
                     {"test_mae": float(mean_absolute_error(frame["actual"], frame["predicted"]))}, model,
                     series if alias == "challenger" else None)
    return _project(root / "project", uri, "progression", REGRESSION_STORY)


def test_a_regression_story_s_trust_says_what_the_numbers_say(regression_project: Path) -> None:
    analysis = _analyse(regression_project)
    trust = analysis.trust
    assert trust is not None
    evidence = {e.check: e for level in trust.levels for e in level.evidence}
    held_out = evidence["model.held_out"]
    assert held_out.passed is True and held_out.figures["value"] == pytest.approx(4.0)
    assert "the average miss is 4 points" in held_out.sentence and "at most 5 points" in held_out.sentence
    previous = evidence["model.previous_version"]
    # Paired on the patients' ids: every patient's absolute error is 3 or 5 points smaller.
    assert previous.figures["paired"] is True and previous.figures["verdict"] == "better"
    assert previous.figures["difference"] == pytest.approx(-4.0)
    low, high = previous.figures["difference_low"], previous.figures["difference_high"]
    assert isinstance(low, float) and isinstance(high, float) and -5.0 <= low < high <= -3.0
    assert "8 points" in previous.sentence and "4 points better" in previous.sentence
    assert "model.calibration" not in evidence and "data.class_balance" not in evidence
    # The jump by three orders of magnitude trips the guardrail and the change detector.
    assert evidence["system.guardrails"].passed is False
    assert evidence["system.change"].passed is False
    (guarded,) = trust.guarded
    assert guarded.change.changed and guarded.change.index == 20
    levels = {level.area: level.level.label for level in trust.levels}
    assert levels["model"] == "established" and levels["system"] != "established"
    # What would raise a level names only checks a regression story can have (no calibration, no outcome rates).
    raising = " ".join(text for level in trust.levels for text in level.to_raise)
    assert "predicted chances" not in raising and "outcome" not in raising
    assert "comparison with another version" not in raising   # it ran


def test_a_regression_story_s_decision_grounds_say_what_the_numbers_say(regression_project: Path) -> None:
    analysis = _analyse(regression_project)
    brief = analysis.decision
    assert brief is not None
    grounds = {g.id: g for g in brief.grounds}
    assert grounds["small-miss"].outcome == "holds" and grounds["small-miss"].value == pytest.approx(4.0)
    assert "at most 6 points" in grounds["small-miss"].sentence
    no_worse = grounds["no-worse"]
    assert no_worse.outcome == "holds" and no_worse.value == pytest.approx(4.0)   # 4 points better
    assert no_worse.low is not None and no_worse.low >= 3.0 and no_worse.high is not None and no_worse.high <= 5.0
    assert "resampled together" in no_worse.sentence
    # By hand: adding 5 points turns +3/-5 errors into +8/0: 40 x 8 / 2 = 160 against (40 x 3 + 200 x 5) / 2 = 560.
    adjusting = grounds["adjusting-saves"]
    assert adjusting.value == pytest.approx(400 * 1000)
    assert adjusting.outcome == "holds" and "adding 5 points to every forecast" in adjusting.sentence
    switching = grounds["switching-saves"]   # the champion's (40 x 6 + 200 x 10) / 2 = 1,120 a forecast
    assert switching.value == pytest.approx((1120 - 560) * 1000) and switching.outcome == "holds"
    assert "a saving of 560,000 pounds for every 1,000 patients" in switching.sentence
    assert grounds["model-trusted"].outcome == "holds"
    assert grounds["mean-forecast"].outcome == "fails"
    # Each ward has as many +3 as -5 errors: an average miss of 4 points in both, a gap of 0 within 1 point.
    ward = grounds["each-ward"]
    assert ward.value == pytest.approx(0.0) and ward.outcome == "holds"
    assert ward.low is not None and ward.high is not None and -1 <= ward.low < 0 < ward.high <= 1
    assert "out of 120 patients" in ward.sentence and "out of 80" in ward.sentence
    assert brief.recommendation == "go with conditions"
    assert brief.conditions == ("Fix the unit of the weights sent to the model.",)


def test_a_regression_story_with_trust_and_decision_builds_its_page(regression_project: Path) -> None:
    from pypdf import PdfReader

    result = runner.invoke(app, ["build", str(regression_project), "--pdf"])
    assert result.exit_code == 0, result.output
    page = (regression_project / "site" / "progression.html").read_text()
    decision = _text(page, "decision")
    assert "Storybook recommends: Go with conditions" in decision
    assert "adding 5 points to every forecast" in decision
    trust = _text(page, "trust")
    assert "the average miss is 4 points" in trust
    reader = PdfReader(str(regression_project / "site" / "progression.pdf"))
    text = re.sub(r"\s+", " ", " ".join(p.extract_text() for p in reader.pages))
    assert "Storybook recommends: Go with conditions" in text
    assert "the average miss is 4 points" in text


# --- multiclass ----------------------------------------------------------------------------------------------

def _chances(truth: np.ndarray, right: np.ndarray) -> np.ndarray:
    """0.7 on the true class where the call is right; else 0.6 on the next class, 0.3 on the true one."""
    chances = np.zeros((truth.size, 3))
    rows = np.arange(truth.size)
    wrong = (truth + 1) % 3
    chances[rows, truth] = np.where(right, 0.7, 0.3)
    chances[rows, wrong] = np.where(right, 0.15, 0.6)
    chances[rows, (truth + 2) % 3] = np.where(right, 0.15, 0.1)
    return chances


def _multiclass_frames() -> dict[str, pd.DataFrame]:
    n = 300
    truth = np.arange(n) % 3
    position = np.arange(n) // 3   # 100 students of each class
    frames = {}
    for alias, share in (("challenger", 80), ("champion", 60)):
        right = position % 100 < share   # the champion is right only where the challenger is
        chances = _chances(truth, right)
        frame = pd.DataFrame({"student": [f"S{i:03d}" for i in range(n)], "label": [CLASSES[t] for t in truth],
                              **{f"p_{c}": chances[:, i] for i, c in enumerate(CLASSES)},
                              "school": np.where(np.arange(n) % 2 == 0, "east", "west")})
        frames[alias] = frame if alias == "challenger" else frame.iloc[::-1].reset_index(drop=True)
    return frames


MULTICLASS_STORY = _story(
    "support",
    {"task": "multiclass", "artifact": "evaluation/scored.csv", "unit": "students", "id_column": "student",
     "label_column": "label",
     "classes": [{"value": c, "means": f"need {c}", "probability_column": f"p_{c}"} for c in CLASSES]},
    [{"key": "test_accuracy", "label": "Right calls", "kind": "multiclass_accuracy"}],
    {"unit": "hours", "owner": "School leads", "matrix": MATRIX, "bootstrap_rounds": 400, "seed": 3},
    {"owner": "Analytics team", "model": {"metric": "multiclass_accuracy", "minimum": 0.7,
                                          "compare_with": "champion"}},
    [{"id": "right-calls", "metric": {"key": "test_accuracy", "at_least": 0.7}},
     {"id": "no-worse", "version_comparison": {"metric": "multiclass_accuracy", "margin": 0.02}},
     {"id": "rule-saves", "cost_saving": {"at_least": 0}, "required": False,
      "condition": "Review the cost matrix with the school leads."},
     {"id": "switching-saves", "cost_saving": {"versus": "compared_version", "at_least": 0}},
     {"id": "each-school", "slice_gap": {"slice": "school", "metric": "multiclass_accuracy", "tolerance": 0.2}}])
MULTICLASS_STORY["slices"] = [{"column": "school", "label": "School"}]


@pytest.fixture(scope="module")
def multiclass_project(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, pd.DataFrame]]:
    root = tmp_path_factory.mktemp("multiclass")
    uri = f"sqlite:///{root / 'mlflow.db'}"
    frames = _multiclass_frames()
    model = DummyClassifier().fit(np.zeros((3, 1)), list(CLASSES))
    for alias in ("champion", "challenger"):
        frame = frames[alias]
        called = frame[[f"p_{c}" for c in CLASSES]].to_numpy().argmax(axis=1)
        accuracy = accuracy_score(frame["label"], [CLASSES[i] for i in called])
        _log_version(uri, "support", alias, frame, {"test_accuracy": float(accuracy)}, model)
    return _project(root / "project", uri, "support", MULTICLASS_STORY), frames


def _brute_force_costs(frame: pd.DataFrame) -> tuple[float, float]:
    """Per student: the cost of the most likely call, and of the call with least expected cost (loops)."""
    cost = [[0.0 if t == c else float(MATRIX[t][c]) for c in CLASSES] for t in CLASSES]
    likely_total = rule_total = 0.0
    for _, row in frame.iterrows():
        chances = [float(row[f"p_{c}"]) for c in CLASSES]
        truth = CLASSES.index(str(row["label"]))
        likely = max(range(3), key=lambda c: (chances[c], -c))
        expected = [sum(chances[t] * cost[t][c] for t in range(3)) for c in range(3)]
        rule = min(range(3), key=lambda c: (expected[c], c))
        likely_total += cost[truth][likely]
        rule_total += cost[truth][rule]
    return likely_total / len(frame), rule_total / len(frame)


def test_a_multiclass_story_s_trust_and_decision_say_what_the_numbers_say(
        multiclass_project: tuple[Path, dict[str, pd.DataFrame]]) -> None:
    root, frames = multiclass_project
    analysis = _analyse(root)
    trust, brief = analysis.trust, analysis.decision
    assert trust is not None and brief is not None
    evidence = {e.check: e for level in trust.levels for e in level.evidence}
    assert evidence["model.held_out"].figures["value"] == pytest.approx(0.8)
    assert evidence["model.held_out"].passed is True and "80 in 100" in evidence["model.held_out"].sentence
    # Top-label calibration by hand: 80% of calls at 0.7, all right; 20% at 0.6, all wrong.
    calibration = evidence["model.calibration"]
    assert calibration.figures["ece"] == pytest.approx(0.8 * 0.3 + 0.2 * 0.6) and calibration.passed is False
    assert trust.reliability is not None and trust.reliability.n == 300
    previous = evidence["model.previous_version"]
    assert previous.figures["paired"] is True and previous.figures["difference"] == pytest.approx(0.2)
    assert previous.figures["verdict"] == "better"
    assert {level.area: level.level.label for level in trust.levels}["model"] == "emerging"
    balance = evidence["data.class_balance"]   # 100 students of each class
    assert balance.passed is True and balance.figures["minority_share"] == pytest.approx(1 / 3)
    assert "Of the 300 students, 100 need support (33%), 100 need challenge (33%)" in balance.sentence

    grounds = {g.id: g for g in brief.grounds}
    assert grounds["right-calls"].outcome == "holds" and "80 in 100" in grounds["right-calls"].sentence
    assert grounds["no-worse"].outcome == "holds" and grounds["no-worse"].value == pytest.approx(0.2)
    assert "20 points out of 100 better" in grounds["no-worse"].sentence
    likely, rule = _brute_force_costs(frames["challenger"])
    assert grounds["rule-saves"].value == pytest.approx((likely - rule) * 1000)
    champion_likely, _ = _brute_force_costs(frames["champion"])
    assert grounds["switching-saves"].value == pytest.approx((champion_likely - likely) * 1000)
    assert grounds["switching-saves"].outcome == "holds"
    challenger = frames["challenger"]
    called = [CLASSES[i] for i in challenger[[f"p_{c}" for c in CLASSES]].to_numpy().argmax(axis=1)]
    right = {school: accuracy_score(challenger["label"][challenger["school"] == school],
                                    pd.Series(called)[challenger["school"] == school]) for school in ("east", "west")}
    school = grounds["each-school"]
    assert school.value == pytest.approx(abs(right["east"] - right["west"])) and school.outcome == "holds"
    assert brief.recommendation in ("go", "go with conditions")


# --- what the schema refuses on its line ------------------------------------------------------------------

@pytest.mark.parametrize(("change", "message", "line"), [
    (lambda s: s["trust"]["model"].pop("maximum"), "lower is better: give maximum", "model:"),
    (lambda s: s["trust"]["model"].update(metric="recall"), "cannot judge", "metric: recall"),
    (lambda s: s["decision"]["criteria"].append({"id": "gap", "slice_gap": {"slice": "ward", "tolerance": 0.1}}),
     "results per group hold mae: give metric: mae", "slice_gap"),
    (lambda s: s["decision"]["criteria"].append(
        {"id": "gap", "slice_gap": {"slice": "ward", "metric": "mae", "tolerance": 2, "version": "compared"}}),
     "remove version: compared", "version: compared"),
    (lambda s: s["decision"]["criteria"][1]["version_comparison"].pop("metric"), "needs metric: one of mae",
     "version_comparison"),
])
def test_task_keys_of_trust_and_decision_are_checked_on_their_line(tmp_path: Path, change: Any, message: str,
                                                                   line: str) -> None:
    import copy

    story = copy.deepcopy(REGRESSION_STORY)
    change(story)
    root = _project(tmp_path, f"sqlite:///{tmp_path / 'mlflow.db'}", "progression", story)
    project = load_project(root)
    (broken,) = project.stories
    assert not isinstance(broken, StorySource)
    error = broken.error
    assert isinstance(error, StorybookError) and message in str(error)
    lines = (root / "stories" / "progression" / "story.yaml").read_text().splitlines()
    assert error.location is not None and line in lines[error.location.line - 1]


# --- the pieces, by hand ---------------------------------------------------------------------------------

def _version(actual: list[float], predicted: list[float], ids: list[str] | None = None) -> Any:
    from storybook.analyse.task_versions import TaskVersion
    from storybook.metrics.regression import RegressionScores
    from storybook.resolve.scored_regression import RegressionSet

    scores = RegressionScores(np.array(actual), np.array(predicted))
    frame = pd.DataFrame({"actual": actual, "predicted": predicted})
    return TaskVersion("v", RegressionSet(scores=scores, frame=frame), "set",
                       ids=None if ids is None else np.array(ids, dtype=np.str_))


def test_a_gap_is_paired_only_on_the_same_cases() -> None:
    from storybook.analyse.task_versions import task_gap

    actual = [10.0, 20.0, 30.0, 40.0]
    mine = _version(actual, [11.0, 19.0, 33.0, 40.0])            # misses 1, 1, 3, 0: average 1.25
    theirs = _version(actual, [12.0, 22.0, 30.0, 44.0])          # misses 2, 2, 0, 4: average 2
    gap, paired = task_gap("mae", mine, theirs)
    assert paired and gap.value == pytest.approx(-0.75)
    # Every resample averages some of the per-case differences -1, -1, 3, -4.
    assert gap.low is not None and gap.high is not None and -4 <= gap.low <= gap.high <= 3
    # Listed in another order with ids, still the same cases; without ids, in another order, not known to be.
    reordered = _version(actual[::-1], [44.0, 30.0, 22.0, 12.0], ids=["d", "c", "b", "a"])
    assert task_gap("mae", _version(actual, [11.0, 19.0, 33.0, 40.0], ids=["a", "b", "c", "d"]),
                    reordered)[1] is True
    assert task_gap("mae", mine, _version(actual[::-1], [44.0, 30.0, 22.0, 12.0]))[1] is False


def test_figures_are_told_in_their_own_unit() -> None:
    from storybook.analyse.task_versions import told_difference, told_value

    assert told_value("mae", 1.0, "points") == "1 point" and told_value("mae", 12.34, "points") == "12.3 points"
    assert told_value("mae", 1234.5, "minutes of nurse time") == "1,234 minutes of nurse time"
    assert told_value("multiclass_accuracy", 0.805, None) == "81 in 100" and told_value("r2", 0.4123, None) == "0.41"
    assert told_difference("mae", -2.5, "points") == "2.5 points worse"
    assert told_difference("multiclass_accuracy", 0.2, None) == "20 points out of 100 better"


def test_a_regression_model_s_calibration_is_the_coverage_of_its_ranges() -> None:
    from storybook.analyse.trust_checks.task_model import check_interval_coverage
    from storybook.metrics.regression import RegressionScores

    actual = np.arange(10.0)
    predicted = actual.copy()
    lower, upper = actual - 1, actual + 1
    lower[:2] = actual[:2] + 0.5   # 2 of the 10 outcomes fall below their range: 8 in 10 covered
    scores = RegressionScores(actual, predicted, lower, upper)
    strict = check_interval_coverage(scores, level=0.9, tolerance=0.05, unit="patients", source="set")
    assert strict is not None and strict.passed is False and strict.figures["gap"] == pytest.approx(0.1)
    assert "held for 80 in 100 of the 10 held-out patients" in strict.sentence and "90 in 100" in strict.sentence
    loose = check_interval_coverage(scores, level=0.9, tolerance=0.1, unit="patients", source="set")
    assert loose is not None and loose.passed is True
    assert check_interval_coverage(RegressionScores(actual, predicted), level=0.9, tolerance=0.1, unit="patients",
                                   source="set") is None


def test_a_multiclass_set_with_only_calls_cannot_tell_calibration_or_the_cost_rule(tmp_path: Path) -> None:
    from storybook.analyse.task_versions import rule_saving
    from storybook.analyse.trust_checks.task_model import check_top_label_calibration
    from storybook.metrics.multiclass import MulticlassScores
    from storybook.resolve.scored_multiclass import MulticlassSet
    from storybook.sources.schema import CostOfError, EvaluationSpec

    scores = MulticlassScores(CLASSES, np.array([0, 1, 2, 0]), np.array([0, 1, 1, 2]))
    evidence = check_top_label_calibration(scores, tolerance=0.05, unit="students", source="set")
    assert evidence.passed is None and "only the model's calls" in evidence.sentence
    evaluation = EvaluationSpec.model_validate(
        {"task": "multiclass", "unit": "students", "prediction_column": "called",
         "classes": [{"value": c, "means": f"need {c}"} for c in CLASSES]})
    cost = CostOfError.model_validate({"unit": "hours", "owner": "Leads", "matrix": MATRIX})
    found = rule_saving(cost, MulticlassSet(scores=scores, classes=tuple(evaluation.classes or ()),
                                            frame=pd.DataFrame()), evaluation)
    assert isinstance(found, str) and "logged only the calls" in found


def test_multiclass_calibration_counts_the_bands_that_hold_cases() -> None:
    from storybook.analyse.trust_checks.task_model import check_top_label_calibration
    from storybook.metrics.multiclass import MulticlassScores

    # Calls 55% and 85% sure: two bands of ten hold students. 55% sure: 1 of 2 right; 85% sure: 2 of 2 right.
    chances = np.array([[0.55, 0.25, 0.2], [0.55, 0.25, 0.2], [0.85, 0.1, 0.05], [0.85, 0.1, 0.05]])
    truth = np.array([0, 1, 0, 0])
    scores = MulticlassScores(CLASSES, truth, chances.argmax(axis=1), chances)
    evidence = check_top_label_calibration(scores, tolerance=0.2, unit="students", source="set")
    # By hand: |0.5 - 0.55| x 2 + |1 - 0.85| x 2, over 4 students = 0.1.
    assert evidence.figures["ece"] == pytest.approx(0.1)
    assert ("differs from that chance by 10 percentage points on average (over the 2 bands of that chance that "
            "hold students, weighted by students)") in evidence.sentence
