"""Comparisons of two versions run the story's way, on a registry the team did not make.

A real sqlite MLflow store: two versions of a model registered from ``runs:/<run>/model`` with the aliases
``production`` (version 1, in use) and ``candidate`` (version 2), both scored on the same patients. One story
is about the candidate compared with production, the other about production compared with the candidate.
Whichever version a story is about, switching runs from the version in use to the candidate, every sentence
names the versions it judges, and the figures are scikit-learn's.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

import mlflow
import mlflow.sklearn
import numpy as np
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import recall_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from typer.testing import CliRunner

from storybook.cli import app
from tests.stores import MODEL_REQUIREMENTS, use_experiment

runner = CliRunner()
MODEL = "screening"

STORY = """\
title: The {alias} model
summary: Should the candidate replace the model in use?
audience: Clinic leads
owner: Screening team
model: {{name: screening, alias: {alias}{in_use}}}
intended_use: {{primary: Sorting the reading queue., users: [Clinic leads], out_of_scope: [Diagnosis]}}
metrics:
  - {{key: test_recall, label: Malignant tumours found, kind: recall}}
evaluation:
  artifact: evaluation/scored.csv
  id_column: case_id
  positive_means: have a malignant tumour
  negative_means: have a harmless tumour
  unit: patients
cost_of_error: {{unit: hours, owner: Clinic leads, false_positive: 1, false_negative: 10, bootstrap_rounds: 200}}
trust:
  owner: Screening team
  model: {{metric: recall, minimum: 0.5, compare_with: {other}}}
decision:
  question: Should the candidate replace the model in use?
  options:
    go: Switch to the candidate.
    no_go: Keep the model in use.
  criteria:
    - {{id: no-worse, version_comparison: {{metric: recall, margin: 0.2}}}}
    - {{id: saves, cost_saving: {{versus: compared_version, at_least: -1000000}}}}
    - {{id: other-finds, metric: {{key: test_recall, version: compared, at_least: 0.5}}}}
"""


def _train(tmp_path: Path) -> tuple[str, dict[int, pd.DataFrame]]:
    """Two versions, registered from runs:/<run>/model, scored on the same 143 patients."""
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    use_experiment(uri, "screening")
    data = load_breast_cancer(as_frame=True)
    features, target = data.data, 1 - data.target   # 1: malignant
    x_train, x_test, y_train, y_test = train_test_split(features, target, test_size=0.25, random_state=0,
                                                        stratify=target)
    scored: dict[int, pd.DataFrame] = {}
    client = MlflowClient(uri, uri)
    for version, columns in ((1, ["mean radius", "mean texture"]), (2, list(features.columns))):
        model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
        model.fit(x_train[columns], y_train)
        frame = pd.DataFrame({"case_id": [f"p{i}" for i in x_test.index], "label": y_test.to_numpy(),
                              "score": model.predict_proba(x_test[columns])[:, 1]})
        if version == 2:   # the same patients, listed in another order: paired by their ids
            frame = frame.iloc[::-1].reset_index(drop=True)
        with mlflow.start_run(run_name=f"v{version}") as run:
            mlflow.log_param("threshold", 0.5)
            mlflow.log_metric("test_recall", recall_score(frame["label"], frame["score"] >= 0.5))
            out = tmp_path / f"scored-{version}" / "scored.csv"
            out.parent.mkdir()
            frame.to_csv(out, index=False)
            mlflow.log_artifact(str(out), artifact_path="evaluation")
            mlflow.sklearn.log_model(model, pip_requirements=MODEL_REQUIREMENTS,
                                     name="model", input_example=x_test[columns].head(2))
        registered = mlflow.register_model(f"runs:/{run.info.run_id}/model", MODEL)
        assert int(registered.version) == version
        scored[version] = frame
    client.set_registered_model_alias(MODEL, "production", "1")
    client.set_registered_model_alias(MODEL, "candidate", "2")
    return uri, scored


def _project(root: Path, uri: str, in_use_alias: str | None, story_in_use: str | None = None) -> Path:
    root.mkdir()
    project_in_use = f"in_use_alias: {in_use_alias}\n" if in_use_alias else ""
    (root / "storybook.yaml").write_text(f"title: Screening\ntracking_uri: {uri}\n{project_in_use}")
    in_use = f", in_use_alias: {story_in_use}" if story_in_use else ""
    for alias, other in (("candidate", "production"), ("production", "candidate")):
        story = root / "stories" / alias
        story.mkdir(parents=True)
        (story / "story.yaml").write_text(STORY.format(alias=alias, other=other, in_use=in_use))
        for name in ("ethical-considerations", "caveats-and-recommendations"):
            (story / f"{name}.md").write_text("Written by people.\n")
    return root


def _text(page: str, section: str) -> str:
    body = page[page.index(f'<section id="{section}"'):]
    body = body[:body.index("</section>")]
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", "", body))).strip()


def _build(project: Path) -> dict[str, str]:
    result = runner.invoke(app, ["build", str(project), "--no-pdf"])
    assert result.exit_code == 0, result.output
    return {alias: (project / "site" / f"{alias}.html").read_text() for alias in ("candidate", "production")}


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, dict[int, pd.DataFrame]]:
    tmp = tmp_path_factory.mktemp("store")
    uri, scored = _train(tmp)
    return tmp, uri, scored


def _by_hand(scored: dict[int, pd.DataFrame]) -> tuple[int, int, int, str]:
    """Recall of each version (points out of 100), positives, and the saving of switching per 1,000."""
    recalls = [round(recall_score(f["label"], f["score"] >= 0.5) * 100 + 1e-9) for f in (scored[1], scored[2])]

    def cost(frame: pd.DataFrame) -> float:
        flagged = frame["score"] >= 0.5
        return float((flagged & (frame["label"] == 0)).sum() * 1 + (~flagged & (frame["label"] == 1)).sum() * 10)

    saving = (cost(scored[1]) - cost(scored[2])) / len(scored[1]) * 1000
    told = f"a saving of {saving:,.0f}" if saving >= 0 else f"an extra {-saving:,.0f}"
    return recalls[0], recalls[1], int(scored[1]["label"].sum()), told


def test_both_stories_switch_from_the_version_in_use_to_the_candidate(
        store: tuple[Path, str, dict[int, pd.DataFrame]]) -> None:
    tmp, uri, scored = store
    pages = _build(_project(tmp / "configured", uri, "production"))
    recall_1, recall_2, positives, saving = _by_hand(scored)
    for about in ("candidate", "production"):
        decision = _text(pages[about], "decision")
        # The direction follows which version carries "production", whichever one the story is about.
        assert "Switching from version 1 (production), the version in use, to version 2 (candidate)" in decision
        assert f"would mean {saving} hours for every 1,000 patients" in decision
        assert "the same resampled cases for both" in decision   # paired by case_id, listed in another order
        assert "Switching from version 2" not in decision
        assert (f"{recall_2} in 100 for version 2 (candidate), measured on {positives} patients who have a "
                f"malignant tumour, and {recall_1} in 100 for version 1 (production), the version in use, measured "
                f"on the same {positives}") in decision
        assert ("The story accepts version 2 (candidate) being worse than version 1 (production) by at most 20 "
                "points") in decision
        assert f"both versions on the same {len(scored[1])} patients, resampled together" in decision
        assert "accepts version 1" not in decision
        trust = _text(pages[about], "trust")
        assert ("the version in use (it carries the alias \"production\") is version 1, registered on") in trust
        assert "champion" not in pages[about]
        # The brief says which way it runs; the one-page summary's grounds name the versions the same way.
        role = "this story's version" if about == "production" else "the version compared with"
        other = "the one this story is about" if about == "candidate" else "the version compared with"
        direction = (f"Version 1 (production), {role}, is in use (it carries the alias \"production\"); version 2 "
                     f"(candidate), {other}, is the one that would replace it.")
        assert direction in decision
        summary = (tmp / "configured" / "site" / f"{about}.summary.html").read_text()
        assert "Switching to version 2 (candidate) saves hours" in _text(summary, "summary-decision")

    # The ground on the compared version says which version it judges, and its role.
    candidate, production = _text(pages["candidate"], "decision"), _text(pages["production"], "decision")
    assert "For version 1 (production; in use), malignant tumours found" in candidate
    assert "For version 2 (candidate; proposed to replace the one in use), malignant tumours found (" in production
    assert f"flagged) is {recall_2} in 100" in production
    # Trust compares the story's version with the other, naming both.
    assert ("Compared with version 1 (production; in use), the recall of version 2 (candidate; this story's "
            "version, proposed to replace the one in use) is") in _text(pages["candidate"], "trust")
    assert ("Compared with version 2 (candidate; proposed to replace the one in use), the recall of version 1 "
            "(production; this story's version, in use) is") in _text(pages["production"], "trust")
    # ... and with the interval the decision ground uses: the page never says "clearly better" in one place and
    # "no clear difference" of the same two versions in another.
    ground = re.search(r"version 2 \(candidate\) is (\d+) points better \(allowing for chance, both versions on the "
                       r"same \d+ patients, resampled together: anywhere from (\d+) points better to (\d+) points "
                       r"better\)", candidate)
    assert ground is not None
    low, high = ground.group(2), ground.group(3)
    assert (f"clearly better: allowing for chance, the difference is anywhere from {low} points higher to {high} "
            "points higher (both versions scored the same cases, resampled together)") in \
        _text(pages["candidate"], "trust")
    assert (f"clearly worse: allowing for chance, the difference is anywhere from {high} points lower to {low} "
            "points lower") in _text(pages["production"], "trust")


def test_without_the_in_use_alias_storybook_says_it_cannot_tell_the_direction(
        store: tuple[Path, str, dict[int, pd.DataFrame]]) -> None:
    tmp, uri, _ = store
    pages = _build(_project(tmp / "unconfigured", uri, None))   # the default, "champion", is on no version
    for about in ("candidate", "production"):
        decision = _text(pages[about], "decision")
        assert "Switching from" not in decision
        assert ("carries the alias \"champion\" that marks the version in use (no version carries it; the model's "
                "aliases: \"production\" on version 1, \"candidate\" on version 2), so storybook cannot tell which "
                "would replace which") in decision
        assert "Storybook recommends: Cannot decide" in decision
        trust = _text(pages[about], "trust")
        assert ("none carries the alias \"champion\" that marks the version in use (the aliases there are: "
                "\"production\" on version 1, \"candidate\" on version 2)") in trust


def test_a_story_may_name_its_own_in_use_alias(store: tuple[Path, str, dict[int, pd.DataFrame]]) -> None:
    tmp, uri, _ = store
    pages = _build(_project(tmp / "story-level", uri, "champion", story_in_use="production"))
    for about in ("candidate", "production"):
        assert "Switching from version 1 (production), the version in use, to version 2 (candidate)" in \
            _text(pages[about], "decision")


def test_the_paired_interval_matches_a_bootstrap_over_patients(
        store: tuple[Path, str, dict[int, pd.DataFrame]]) -> None:
    """The ground's interval, rebuilt by resampling patients one by one (both versions on the same draw)."""
    from storybook.analyse.decision_judge import Scored, paired_difference, same_cases

    _, _, scored = store
    one = scored[1]
    two = scored[2].set_index("case_id").loc[one["case_id"]].reset_index()
    first = Scored("2", two["label"].to_numpy() == 1, two["score"].to_numpy(), 0.5, None, "", ids=None)
    second = Scored("1", one["label"].to_numpy() == 1, one["score"].to_numpy(), 0.5, None, "", ids=None)
    order = same_cases(first, second)
    assert order is not None
    estimate = paired_difference("recall", first, second, order)
    rng = np.random.default_rng(1)
    n = len(one)
    truth, a, b = first.labels, first.scores >= 0.5, second.scores >= 0.5
    gaps = []
    for _ in range(4000):
        pick = rng.integers(0, n, n)
        positives = truth[pick]
        gaps.append((a[pick] & positives).sum() / positives.sum() - (b[pick] & positives).sum() / positives.sum())
    low, high = np.percentile(gaps, [2.5, 97.5])
    assert estimate.low == pytest.approx(low, abs=0.02) and estimate.high == pytest.approx(high, abs=0.02)


def test_a_story_about_the_challenger_with_the_default_alias(store: tuple[Path, str, dict[int, pd.DataFrame]]) -> None:
    """The example's aliases, the other way round: a story about the challenger compared with the champion,
    with no in_use_alias anywhere (the default, "champion")."""
    tmp, uri, scored = store
    client = MlflowClient(uri, uri)
    client.set_registered_model_alias(MODEL, "champion", "1")
    client.set_registered_model_alias(MODEL, "challenger", "2")
    try:
        root = tmp / "example-aliases"
        story = root / "stories" / "challenger"
        story.mkdir(parents=True)
        (root / "storybook.yaml").write_text(f"title: Screening\ntracking_uri: {uri}\n")
        (story / "story.yaml").write_text(STORY.format(alias="challenger", other="champion", in_use=""))
        for name in ("ethical-considerations", "caveats-and-recommendations"):
            (story / f"{name}.md").write_text("Written by people.\n")
        result = runner.invoke(app, ["build", str(root), "--no-pdf"])
        assert result.exit_code == 0, result.output
        page = (root / "site" / "challenger.html").read_text()
    finally:
        client.delete_registered_model_alias(MODEL, "champion")
        client.delete_registered_model_alias(MODEL, "challenger")
    decision = _text(page, "decision")
    _, recall_2, positives, saving = _by_hand(scored)
    assert ("Version 1 (champion, production), the version compared with, is in use (it carries the alias "
            "\"champion\"); version 2 (candidate, challenger), the one this story is about, is the one that would "
            "replace it.") in decision
    assert ("Switching from version 1 (champion, production), the version in use, to version 2 (candidate, "
            f"challenger), each at its own threshold, would mean {saving} hours") in decision
    assert (f"{recall_2} in 100 for version 2 (candidate, challenger), measured on {positives} patients") in decision
    assert "For version 1 (champion, production; in use)" in decision
