"""A multiclass story end to end: a three-way student-support model (logistic regression on simulated student
records), its scored set logged with one probability column per class to a real sqlite MLflow store, the story
built by the CLI, and every figure on the page checked against scikit-learn (or numpy, worked out here) on the
same set; a scored set of the wrong shape gives a located error."""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from pypdf import PdfReader
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import (
    accuracy_score,
    balanced_accuracy_score,
    confusion_matrix,
    f1_score,
    log_loss,
    precision_recall_fscore_support,
)
from typer.testing import CliRunner

from storybook.analyse.plain import amount_phrase, share_phrase
from storybook.cli import app
from storybook.metrics.binary import proportion
from storybook.metrics.multiclass import MulticlassScores, calls_cost, cost_rule
from tests import stores

runner = CliRunner()
CLASSES = ("support", "challenge", "neither")
MEANS = {"support": "need extra support", "challenge": "need extra challenge", "neither": "need neither"}
# True class -> call -> hours of teacher time. The matrix's order is the story's class order.
MATRIX = {"support": {"challenge": 10, "neither": 8}, "challenge": {"support": 2, "neither": 3},
          "neither": {"support": 1, "challenge": 1}}
COST = np.array([[0, 10, 8], [2, 0, 3], [1, 1, 0]], dtype=np.float64)
CAPACITY = 200  # at most 200 of every 1,000 students may get extra support


def students(n: int, seed: int) -> tuple[pd.DataFrame, pd.Series]:
    """Simulated records: reading and maths scores and attendance; who needs support, challenge or neither."""
    rng = np.random.default_rng(seed)
    reading, maths, attendance = rng.normal(size=n), rng.normal(size=n), rng.normal(size=n)
    level = 0.9 * reading + 0.9 * maths + 0.4 * attendance + rng.normal(scale=0.9, size=n)
    label = np.where(level < -0.9, "support", np.where(level > 1.1, "challenge", "neither"))
    school = rng.choice(["Northfield", "Riverside", "Westgate"], size=n, p=[0.5, 0.3, 0.2])
    features = pd.DataFrame({"reading": reading, "maths": maths, "attendance": attendance, "school": school})
    return features, pd.Series(label, name="label")


def scored_students() -> pd.DataFrame:
    x_train, y_train = students(3000, seed=1)
    x_test, y_test = students(1500, seed=2)
    columns = ["reading", "maths", "attendance"]
    model = LogisticRegression(max_iter=1000).fit(x_train[columns], y_train)
    order = [list(model.classes_).index(c) for c in CLASSES]
    chances = model.predict_proba(x_test[columns])[:, order]
    frame = pd.DataFrame({"student": [f"s{i}" for i in range(len(x_test))], "school": x_test["school"],
                          "label": y_test})
    for index, value in enumerate(CLASSES):
        frame[f"p_{value}"] = chances[:, index]
    return frame


def multiclass_story(run_id: str, **evaluation: Any) -> dict[str, Any]:
    story = stores.story("support", "champion", [
        {"key": "test_accuracy", "label": "Calls that are right", "kind": "multiclass_accuracy"},
        {"key": "test_balanced_accuracy", "label": "Found, class by class", "kind": "balanced_accuracy"},
        {"key": "test_macro_f1", "label": "Macro F1", "kind": "macro_f1"},
        {"key": "test_log_loss", "label": "Log loss", "kind": "log_loss"},
    ], {"task": "multiclass", "artifact": "evaluation/scored.csv", "unit": "students", "label_column": "label",
        "classes": [{"value": v, "means": MEANS[v], "probability_column": f"p_{v}"} for v in CLASSES],
        **evaluation},
        slices=[{"column": "school", "label": "School"}],
        cost_of_error={"unit": "hours of teacher time", "owner": "The head of student support", "matrix": MATRIX,
                       "class_capacity": {"support": CAPACITY}, "bootstrap_rounds": 400, "seed": 3})
    story["model"] = {"run_id": run_id}
    return story


def page_text(page: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def read_back(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The true classes, the chances and the most likely class as storybook reads the logged CSV."""
    truth = frame["label"].map({c: i for i, c in enumerate(CLASSES)}).to_numpy()
    chances = frame[[f"p_{c}" for c in CLASSES]].to_numpy()
    return truth, chances, np.argmax(chances, axis=1)


def test_every_figure_on_the_page_is_scikit_learns(tmp_path: Path) -> None:
    frame = scored_students()
    truth, chances, called = read_back(frame)
    logged = {"test_accuracy": accuracy_score(truth, called),
              "test_balanced_accuracy": balanced_accuracy_score(truth, called),
              "test_macro_f1": f1_score(truth, called, average="macro"),
              "test_log_loss": log_loss(truth, y_proba=chances, labels=[0, 1, 2])}
    uri = stores.tracking_uri(tmp_path)
    run = stores.log_scored_run(uri, frame, metrics=logged)
    stores.write_project(tmp_path, {"support": multiclass_story(run)})
    config = tmp_path / "storybook.yaml"
    config.write_text(config.read_text().replace("pdf: false", "pdf: true"))

    result = runner.invoke(app, ["build", str(tmp_path)])
    assert result.exit_code == 0, result.output
    page = (tmp_path / "site" / "support.html").read_text()
    text = page_text(page)
    n = len(frame)

    # The headline figures, as logged and as recomputed from the set, agree with scikit-learn.
    assert "does not match the logged value" not in text
    shown = {name: float(value) for name, value in re.findall(r'data-multiclass-figure="([^"]+)">([-\d.]+)<', page)}
    assert shown == pytest.approx({"Accuracy": logged["test_accuracy"], "Balanced accuracy":
                                   logged["test_balanced_accuracy"], "Macro F1": logged["test_macro_f1"],
                                   "Log loss": logged["test_log_loss"]}, abs=5e-5)
    accuracy = proportion(int((truth == called).sum()), n)
    assert f"The model calls the class right for {share_phrase(accuracy)} students (measured on {n:,} students)" \
        in text

    # The confusion matrix, and each class's found and right-when-it-says-so shares with their Wilson ranges.
    matrix = confusion_matrix(truth, called, labels=[0, 1, 2])
    cells = {tuple(map(int, key.split("-"))): int(value.replace(",", ""))
             for key, value in re.findall(r'data-cell="(\d-\d)">([\d,]+)<', page)}
    assert cells == {(t, c): int(matrix[t, c]) for t in range(3) for c in range(3)}
    precision, recall, _, support = precision_recall_fscore_support(truth, called, labels=[0, 1, 2], average=None)
    for i, value in enumerate(CLASSES):
        found = re.search(rf'data-found="{value}">([\d.]+)%', page)
        right = re.search(rf'data-right="{value}">([\d.]+)%', page)
        assert found is not None and float(found.group(1)) == pytest.approx(recall[i] * 100, abs=0.051)
        assert right is not None and float(right.group(1)) == pytest.approx(precision[i] * 100, abs=0.051)
        told = proportion(int(matrix[i, i]), int(support[i]))
        assert f"Of the {int(support[i]):,} students who {MEANS[value]}, the model finds {share_phrase(told)}." in text

    # Natural frequencies: of every 1,000 students of each class, what the model says; they add up to 1,000.
    for i, value in enumerate(CLASSES):
        sentence = re.search(rf'data-class="{value}">(.*?)</li>', page)
        assert sentence is not None
        counts = {c: 0 for c in CLASSES}
        said = html.unescape(sentence.group(1))
        right = re.search(r"the model rightly says ([\d,]+|none) do", said)
        assert right is not None and said.startswith(f"Of every 1,000 students who {MEANS[value]}")
        counts[value] = int(right.group(1).replace(",", ""))
        for other in CLASSES:
            if other != value:
                found_other = re.search(rf"([\d,]+|none) {MEANS[other]}\b", said.split(" do; ")[1])
                assert found_other is not None
                counts[other] = 0 if found_other.group(1) == "none" else int(found_other.group(1).replace(",", ""))
        assert sum(counts.values()) == 1000
        for c, other in enumerate(CLASSES):
            assert abs(counts[other] - matrix[i, c] / matrix[i].sum() * 1000) < 1, (value, other)

    # Per school: the share of calls that are right, worded by the same rules from the school's own rows.
    for school in ("Northfield", "Riverside", "Westgate"):
        rows = (frame["school"] == school).to_numpy()
        cell = re.search(rf'data-group-accuracy="{school}">(.*?) <span', page)
        assert cell is not None
        assert cell.group(1) == share_phrase(proportion(int((truth[rows] == called[rows]).sum()), int(rows.sum())))

    # The cost of error: the most likely class against the calls of least expected cost within the limit on
    # support (the rule itself is checked by brute force in tests/metrics/test_multiclass.py).
    scores = MulticlassScores(CLASSES, truth, called, chances)
    rule = cost_rule(scores, COST, capacity=[CAPACITY / 1000, None, None], rounds=400, seed=3)
    likely_cost = float(COST[truth, called].mean() * 1000)
    assert rule.most_likely_cost.value == pytest.approx(likely_cost)
    likely_words = amount_phrase(rule.most_likely_cost, "hours of teacher time")
    assert f"Taking the class the model finds most likely costs {likely_words} per 1,000 students" in text
    for i, value in enumerate(CLASSES):
        likely = re.search(rf'data-likely="{value}">([\d,]+)<', page)
        chosen = re.search(rf'data-rule="{value}">([\d,]+)<', page)
        assert likely is not None and int(likely.group(1).replace(",", "")) == round((called == i).sum() / n * 1000)
        assert chosen is not None and int(chosen.group(1).replace(",", "")) == round(
            rule.calls_per_class[i] / n * 1000)
    assert rule.calls_per_class[0] <= CAPACITY / 1000 * n
    assert (f"The model may say at most {CAPACITY} of every 1,000 students need extra support (the story's limit)"
            in text)
    assert "What each mistake costs, in hours of teacher time, as stated by" in text
    assert "When the model says students who need extra support need neither, each costs 8." in text
    assert "The calls are chosen from the model's chances alone" in text
    # Who carries the cost: per school, the cost per 1,000 of its students of each way of choosing.
    for school in ("Northfield", "Riverside", "Westgate"):
        rows = (frame["school"] == school).to_numpy()
        as_made = re.search(rf'data-group-cost="{school}">([\d,]+)', page)
        by_rule = re.search(rf'data-group-rule-cost="{school}">([\d,]+)', page)
        assert as_made is not None and by_rule is not None
        assert int(as_made.group(1).replace(",", "")) == round(COST[truth[rows], called[rows]].mean() * 1000)
        assert int(by_rule.group(1).replace(",", "")) == round(COST[truth[rows], rule.calls[rows]].mean() * 1000)
    assert re.search(r"By school, the calls as made cost most for \w+ \(", text), text
    # The most likely class breaks the limit, so the page never advises keeping it.
    assert round((called == 0).sum() / n * 1000) > CAPACITY
    assert "Taking the most likely class breaks the limit on students who need extra support" in text
    assert "keep taking the most likely class" not in text

    # The chart of the calls per class, with alt text that states its numbers; no binary wording.
    assert (tmp_path / "site" / "charts" / "support-class-calls.svg").is_file()
    assert re.search(r'alt="Bar chart of what the model says of students of each kind, of every 1,000 students '
                     r'who need extra support: \d+ need extra support', page)
    # One icon array per true class, whose squares are the natural frequencies the page tells (of every 1,000).
    truth_support = truth == 0
    found = round((called[truth_support] == 0).sum() / truth_support.sum() * 1000)
    assert (tmp_path / "site" / "charts" / "support-class-icons-0.svg").is_file()
    icons = re.search(r'alt="Picture of 1,000 students who need extra support, one square each: (\d[\d,]*) right: the '
                      r'model says need extra support;', page)
    assert icons is not None and abs(int(icons.group(1).replace(",", "")) - found) <= 1  # rounded to add to 1,000
    for binary in ("flagged", "false alarm", "threshold", "does not break results down by group"):
        assert binary not in text.lower(), binary

    summary = page_text((tmp_path / "site" / "support.summary.html").read_text())
    assert "Taking the most likely class breaks the limit on students who need extra support" in summary

    # The PDFs, read back, say the same sentences as the page.
    frequencies = re.search(r'data-class="support">(.*?)</li>', page)
    assert frequencies is not None
    for name, said in (("support.pdf", html.unescape(frequencies.group(1))),
                       ("support.summary.pdf", "Taking the most likely class breaks the limit on students who need "
                                               "extra support")):
        printed = " ".join(" ".join(p.extract_text() for p in PdfReader(tmp_path / "site" / name).pages).split())
        assert said in printed, name


def test_without_limits_the_saving_is_the_paired_bootstrap_of_the_rule(tmp_path: Path) -> None:
    frame = scored_students()
    truth, chances, called = read_back(frame)
    uri = stores.tracking_uri(tmp_path)
    run = stores.log_scored_run(uri, frame, metrics={
        "test_accuracy": accuracy_score(truth, called),
        "test_balanced_accuracy": balanced_accuracy_score(truth, called),
        "test_macro_f1": f1_score(truth, called, average="macro"),
        "test_log_loss": log_loss(truth, y_proba=chances, labels=[0, 1, 2])})
    story = multiclass_story(run)
    del story["cost_of_error"]["class_capacity"]
    stores.write_project(tmp_path, {"support": story})

    result = runner.invoke(app, ["build", str(tmp_path), "--no-pdf"])
    assert result.exit_code == 0, result.output
    text = page_text((tmp_path / "site" / "support.html").read_text())
    # By hand: each student's call of least expected cost, and the realised saving per 1,000 students.
    rule = np.argmin(chances @ COST, axis=1)
    saving = float((COST[truth, called] - COST[truth, rule]).mean() * 1000)
    found = cost_rule(MulticlassScores(CLASSES, truth, called, chances), COST, rounds=400, seed=3)
    assert found.calls.tolist() == rule.tolist() and found.saving.value == pytest.approx(saving)
    assert found.saving.low is not None and found.saving.low > 0  # on this set the rule clearly saves
    told = amount_phrase(found.saving, "hours of teacher time")
    assert told.startswith("between")  # a wide range is said once, not twice
    assert (f"Choosing by expected cost saves {told} per 1,000 students (a 95% range, from 400 resamples of the "
            "evaluation set)") in text
    saving_sentence = re.search(r"Choosing by expected cost saves [^.]*\.", text)
    assert saving_sentence is not None and "runs from" not in saving_sentence.group(0)
    assert "breaks the limit" not in text and "At most" not in text


def test_a_label_outside_the_classes_is_a_located_error(tmp_path: Path) -> None:
    frame = scored_students()
    frame.loc[7, "label"] = "skip a year"
    uri = stores.tracking_uri(tmp_path)
    run = stores.log_scored_run(uri, frame, metrics={"test_accuracy": 0.7, "test_balanced_accuracy": 0.7,
                                                     "test_macro_f1": 0.7, "test_log_loss": 0.6})
    stores.write_project(tmp_path, {"support": multiclass_story(run)})

    result = runner.invoke(app, ["build", str(tmp_path), "--no-pdf"])
    assert result.exit_code == 1
    output = " ".join(result.output.split())
    assert "'skip a year'" in output and "not among the story's classes" in output, output
    written = (tmp_path / "stories" / "support" / "story.yaml").read_text().splitlines()
    line = next(i for i, text in enumerate(written, 1) if text.strip().startswith("label_column:"))
    assert f"story.yaml:{line}" in output, output


def test_chances_that_do_not_add_up_are_a_located_error(tmp_path: Path) -> None:
    frame = scored_students().drop(columns=["p_neither"]).rename(columns={"p_challenge": "p_neither_or_challenge"})
    frame["p_challenge"] = frame["p_neither_or_challenge"] / 2
    frame["p_neither"] = frame["p_neither_or_challenge"] / 4  # a quarter of the chance lost
    uri = stores.tracking_uri(tmp_path)
    run = stores.log_scored_run(uri, frame, metrics={"test_accuracy": 0.7, "test_balanced_accuracy": 0.7,
                                                     "test_macro_f1": 0.7, "test_log_loss": 0.6})
    stores.write_project(tmp_path, {"support": multiclass_story(run)})

    result = runner.invoke(app, ["build", str(tmp_path), "--no-pdf"])
    assert result.exit_code == 1
    output = " ".join(result.output.split())
    assert "do not add up to 1" in output, output
    written = (tmp_path / "stories" / "support" / "story.yaml").read_text().splitlines()
    line = next(i for i, text in enumerate(written, 1) if text.strip().startswith("classes:"))
    assert f"story.yaml:{line}" in output, output


def test_a_set_with_calls_only_is_told_without_a_rule(tmp_path: Path) -> None:
    frame = scored_students()
    truth, _, called = read_back(frame)
    calls_only = frame.drop(columns=[f"p_{c}" for c in CLASSES]).assign(predicted=np.asarray(CLASSES)[called])
    uri = stores.tracking_uri(tmp_path)
    run = stores.log_scored_run(uri, calls_only, metrics={"test_accuracy": accuracy_score(truth, called)})
    story = multiclass_story(run, prediction_column="predicted")
    story["metrics"] = story["metrics"][:1]
    for spec in story["evaluation"]["classes"]:
        del spec["probability_column"]
    stores.write_project(tmp_path, {"support": story})

    result = runner.invoke(app, ["build", str(tmp_path), "--no-pdf"])
    assert result.exit_code == 0, result.output
    page = (tmp_path / "site" / "support.html").read_text()
    text = page_text(page)
    cost = float(COST[truth, called].mean() * 1000)
    assert "cannot choose calls by expected cost" in text
    made = calls_cost(MulticlassScores(CLASSES, truth, called), COST, rounds=400, seed=3)
    assert made.value == pytest.approx(cost)
    assert (f"The calls as made cost {amount_phrase(made, 'hours of teacher time')} per 1,000 students on the "
            "evaluation set") in text
    assert 'data-rule="' not in page and "Log loss" not in text and "How sure it is" not in text
    likely = re.search(r'data-likely="support">([\d,]+)<', page)
    assert likely is not None and int(likely.group(1)) == round((called == 0).sum() / len(frame) * 1000)


def test_check_names_what_a_multiclass_story_can_fix_when_a_figure_does_not_match(tmp_path: Path) -> None:
    from storybook.review.check import check_project

    frame = scored_students()
    truth, _, called = read_back(frame)
    uri = stores.tracking_uri(tmp_path)
    run = stores.log_scored_run(uri, frame, metrics={"test_accuracy": 0.5})  # not this set's accuracy
    story = multiclass_story(run)
    story["metrics"] = story["metrics"][:1]
    stores.write_project(tmp_path, {"support": story})

    report = check_project(tmp_path, online=True)
    (mismatch,) = [f for f in report.findings if f.code == "figure-mismatch"]
    assert f"the evaluation set gives {accuracy_score(truth, called):.4f}" in mismatch.message
    assert "fix the classes' values or probability columns" in mismatch.message
    assert "positive_value" not in mismatch.message and "threshold" not in mismatch.message


def test_binary_counts_are_unknown_names_in_a_multiclass_story_for_check_and_build(tmp_path: Path) -> None:
    from storybook.review.check import check_project

    frame = scored_students()
    truth, _, called = read_back(frame)
    uri = stores.tracking_uri(tmp_path)
    run = stores.log_scored_run(uri, frame, metrics={"test_accuracy": accuracy_score(truth, called)})
    story = multiclass_story(run)
    story["metrics"] = story["metrics"][:1]
    stores.write_project(tmp_path, {"support": story})
    section = tmp_path / "stories" / "support" / "metrics.md"
    section.write_text("Tested on {{ evaluation.size | count }} students.\n\n"
                       "Of them, {{ evaluation.positives | count }} needed it.\n")

    # check: the one located error a misspelt name gets, on line 3, never a 0 told as a count of students.
    report = check_project(tmp_path, online=True)
    (unknown,) = [f for f in report.findings if f.code == "reference"]
    assert "evaluation 'positives' is not available to this story" in unknown.message
    assert unknown.line == 3 and unknown.file.endswith("metrics.md") and unknown.severity == "error"
    # build: the same refusal, located, and the story is not written.
    result = runner.invoke(app, ["build", str(tmp_path), "--no-pdf"])
    assert result.exit_code == 1
    output = " ".join(result.output.split())
    assert "evaluation 'positives' is not available to this story" in output and "metrics.md:3" in output, output
    assert not (tmp_path / "site" / "support.html").exists()

    # evaluation.size alone builds, and is the number of students in the set.
    section.write_text("Tested on {{ evaluation.size | count }} students.\n")
    result = runner.invoke(app, ["build", str(tmp_path), "--no-pdf"])
    assert result.exit_code == 0, result.output
    assert f"Tested on {len(frame):,} students." in page_text((tmp_path / "site" / "support.html").read_text())
