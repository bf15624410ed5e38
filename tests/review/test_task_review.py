"""pin, build from the snapshot, diff and check for regression and multiclass stories: the snapshot holds the
task's scored set, drops and history, so a build without MLflow says the same; a new version's task figures
(each class's found / right when it says so, each group's average miss, the metric ranges) appear in the
numbers diff; check passes a plain task story and flags a task's score-like figure given without a baseline."""

from __future__ import annotations

import html
import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from mlflow.tracking import MlflowClient
from typer.testing import CliRunner

from storybook.cli import app
from storybook.review.diff import diff_roots
from tests.stores import (
    log_multiclass_run,
    log_regression_run,
    multiclass_evaluation,
    regression_evaluation,
    story,
    tracking_uri,
    write_project,
)

runner = CliRunner()
SECTIONS = ("drivers", "history", "claims")


def _ok(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def _sections(root: Path) -> dict[str, str]:
    page = (root / "site" / "s.html").read_text()
    found = {}
    for section in SECTIONS:
        body = page[page.index(f'<section id="{section}"'):]
        body = body[:body.index("</section>")]
        found[section] = re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", body)))
    return found


def _project(root: Path, task: str) -> tuple[Path, str]:
    uri = tracking_uri(root)
    claims: list[dict[str, Any]]
    if task == "regression":
        log_regression_run(uri, columns=["bmi", "s5"], alias="previous")
        log_regression_run(uri, columns=["bmi", "s5", "bp"], alias="champion")
        metrics = [{"key": "test_mae", "label": "Average miss", "kind": "mae"}]
        evaluation, column, model = regression_evaluation(), "age_band", "progression"
        claims = [{"id": "older", "says": "Older patients fare no worse.", "slice": "age_band", "group": "older",
                   "no_worse_than": "younger"}]
    else:
        log_multiclass_run(uri, columns=["alcohol", "ash"], alias="previous")
        log_multiclass_run(uri, columns=["alcohol", "ash", "flavanoids"], alias="champion")
        metrics = [{"key": "test_accuracy", "label": "Right calls", "kind": "multiclass_accuracy"}]
        evaluation, column, model = multiclass_evaluation(), "colour_band", "cultivar"
        claims = [{"id": "deep", "says": "Deep wines fare no worse.", "slice": "colour_band", "group": "deep",
                   "no_worse_than": "light"}]
    write_project(root, {"s": story(model, "champion", metrics, evaluation, slices=[{"column": column,
                                                                                     "label": "Group"}],
                                    drivers={"repeats": 2, "by_slice": False}, history={"compare_with": "previous"},
                                    claims=claims)})
    # every section the prose can show: a claim is marked where the prose names it
    (root / "stories" / "s" / "caveats-and-recommendations.md").write_text(
        'Read the figures with their ranges. {{ claim("' + claims[0]["id"] + '") }}\n')
    return root, model


@pytest.mark.parametrize("task", ["regression", "multiclass"])
def test_a_pinned_task_story_builds_the_same_without_mlflow(tmp_path: Path, task: str) -> None:
    root, _ = _project(tmp_path / "p", task)
    _ok("build", str(root), "--no-pdf")
    online = _sections(root)
    _ok("pin", str(root))
    snapshot = json.loads((root / "stories" / "s" / "snapshot.json").read_text())
    assert "evaluation" in json.dumps(snapshot)
    (root / "mlflow.db").rename(root / "elsewhere.db")  # no MLflow from here on
    shutil.rmtree(root / "site")
    _ok("build", str(root), "--no-pdf", "--offline")
    offline = _sections(root)
    assert "tested against the figures pinned in the story's snapshot" in offline["claims"]  # says where from
    offline["claims"] = offline["claims"].replace("pinned in the story's snapshot", "in MLflow")
    assert offline == online
    assert "The model leans most on" in online["drivers"]


@pytest.mark.parametrize("task", ["regression", "multiclass"])
def test_a_new_versions_task_figures_appear_in_the_diff(tmp_path: Path, task: str) -> None:
    root, model = _project(tmp_path / "new", task)
    uri = tracking_uri(root)
    client = MlflowClient(uri, uri)
    client.set_registered_model_alias(model, "champion", "1")  # the old state: the story is about version 1
    client.set_registered_model_alias(model, "previous", "2")
    _ok("pin", str(root))
    old = tmp_path / "old"
    shutil.copytree(root, old)
    client.set_registered_model_alias(model, "champion", "2")
    client.set_registered_model_alias(model, "previous", "1")
    _ok("pin", str(root))
    [changes] = diff_roots(old, root, "before", "after").stories
    told = {c.what: c for c in changes.numbers}
    assert told["model version"].old == f"{model} v1" and told["model version"].new == f"{model} v2"
    metric = next(c for what, c in told.items() if what.startswith(metrics_label(task)))
    assert "95%" in (metric.note or "")  # the metric's range on each version, from its own scored set
    if task == "multiclass":
        assert any(what.startswith("class barolo: ") for what in told), sorted(told)
        assert any(what.startswith("slice colour_band = ") for what in told), sorted(told)
    else:
        assert any(what.startswith("slice age_band = ") and what.endswith("average miss") for what in told), \
            sorted(told)


def metrics_label(task: str) -> str:
    return "Average miss (test_mae)" if task == "regression" else "Right calls (test_accuracy)"


@pytest.mark.parametrize("task", ["regression", "multiclass"])
def test_check_passes_a_task_story_and_asks_a_baseline_for_its_score(tmp_path: Path, task: str) -> None:
    root, _ = _project(tmp_path / "p", task)
    _ok("pin", str(root))
    result = runner.invoke(app, ["check", str(root), "--format", "json"])
    findings = json.loads(result.stdout)["findings"]
    assert [f for f in findings if f["severity"] == "error"] == [], findings
    kind, key = ("r2", "test_r2") if task == "regression" else ("log_loss", "test_log_loss")
    path = root / "stories" / "s" / "story.yaml"
    text = path.read_text()
    path.write_text(text.replace("metrics:\n", f"metrics:\n- key: {key}\n  label: Score\n  kind: {kind}\n", 1))
    section = root / "stories" / "s" / "caveats-and-recommendations.md"
    section.write_text(section.read_text() + f'\nThe score is {{{{ metric("{key}") | number }}}}.\n')
    _ok("pin", str(root))
    result = runner.invoke(app, ["check", str(root), "--format", "json"])
    findings = json.loads(result.stdout)["findings"]
    assert any(f.get("code") == "metric-without-baseline" for f in findings), findings
