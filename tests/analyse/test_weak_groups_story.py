"""storybook.analyse.weak_groups_story: which columns a story's scan reads and which figure each task compares,
on checked scored sets built from loaded stories (no MLflow): binary misses and false alarms, binary cost per case,
regression average miss, multiclass wrong calls; a skip_columns typo is a located error."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from storybook.analyse.weak_groups_story import analyse_weak_groups, scanned_columns
from storybook.errors import SourceError
from storybook.resolve.scored import ScoredSet, task_set
from storybook.sources.loader import StorySource, load_story
from tests.stores import story, write_project


def _load(tmp_path: Path, evaluation: dict[str, Any], metrics: list[dict[str, str]], **more: Any) -> StorySource:
    root = write_project(tmp_path, {"s": story("m", "champion", metrics, evaluation, **more)})
    return load_story(root, root / "stories" / "s")


def _wards(n: int, seed: int) -> tuple[np.random.Generator, pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    ward = rng.choice(["A", "B", "C"], n)
    return rng, pd.DataFrame({"case": [f"c{i}" for i in range(n)], "ward": ward,
                              "site": rng.choice(["north", "south"], n)}), ward == "B"


BINARY = {"artifact": "evaluation/scored.csv", "unit": "patients", "id_column": "case",
          "positive_means": "need a follow-up", "negative_means": "need nothing more", "threshold": 0.5}
RECALL = [{"key": "recall", "label": "Found", "kind": "recall"}]


def test_a_binary_story_scans_misses_and_false_alarms_and_never_its_own_columns(tmp_path: Path) -> None:
    rng, frame, in_b = _wards(3000, 1)
    label = rng.random(3000) < 0.4
    flagged = np.where(label, rng.random(3000) > np.where(in_b, 0.5, 0.15), rng.random(3000) < 0.1)
    frame["label"] = label.astype(int)
    frame["score"] = np.where(flagged, 0.8, 0.2)
    source = _load(tmp_path, BINARY, RECALL, slices=[{"column": "site", "label": "Site"}], scan={})
    assert scanned_columns(source, list(frame.columns)) == ["ward"]  # not the id, slice, label or score
    report = analyse_weak_groups(source, task_set(source, frame, {}, "r1"))
    assert report is not None and report.result is not None
    assert report.figures == ("misses", "false_alarms")
    assert [(f.name, f.figure) for f in report.result.found] == [("ward is B", "misses")]
    assert report.unacknowledged == report.result.found


def test_a_binary_story_with_costs_compares_the_cost_per_case(tmp_path: Path) -> None:
    rng, frame, in_b = _wards(3000, 2)
    label = rng.random(3000) < 0.4
    flagged = np.where(label, rng.random(3000) > np.where(in_b, 0.5, 0.15), rng.random(3000) < 0.1)
    frame["label"], frame["score"] = label.astype(int), np.where(flagged, 0.8, 0.2)
    costs = {"unit": "hours", "owner": "The clinic lead", "false_positive": 1, "false_negative": 10}
    source = _load(tmp_path, BINARY, RECALL, cost_of_error=costs, scan={})
    report = analyse_weak_groups(source, task_set(source, frame, {}, "r1"))
    assert report is not None and report.result is not None and report.cost_unit == "hours"
    found = report.result.found[0]
    assert (found.name, found.figure) == ("ward is B", "cost")
    per_case = np.where(label & ~flagged, 10.0, np.where(~label & flagged, 1.0, 0.0))
    assert found.group.value == pytest.approx(per_case[in_b].mean())
    assert found.rest.value == pytest.approx(per_case[~in_b].mean())


def test_a_regression_story_compares_the_average_miss(tmp_path: Path) -> None:
    rng, frame, in_b = _wards(1500, 3)
    frame["actual"] = rng.normal(100, 20, 1500)
    frame["prediction"] = frame["actual"] + rng.normal(0, np.where(in_b, 15.0, 5.0))
    evaluation = {"task": "regression", "artifact": "evaluation/scored.csv", "unit": "patients",
                  "target_means": "the score a year later", "amount_unit": "points", "id_column": "case"}
    source = _load(tmp_path, evaluation, [{"key": "mae", "label": "Average miss", "kind": "mae"}], scan={})
    assert scanned_columns(source, list(frame.columns)) == ["ward", "site"]
    report = analyse_weak_groups(source, task_set(source, frame, {}, "r1"))
    assert report is not None and report.result is not None and report.figures == ("average_miss",)
    found = report.result.found[0]
    assert found.name == "ward is B"
    misses = (frame["actual"] - frame["prediction"]).abs().to_numpy()
    assert found.group.value == pytest.approx(misses[in_b].mean())


def test_a_multiclass_story_compares_wrong_calls_and_skips_the_chances(tmp_path: Path) -> None:
    rng, frame, in_b = _wards(1500, 4)
    names = ["a", "b", "c"]
    classes = np.array(names)
    truth = rng.integers(0, 3, 1500)
    right = rng.random(1500) > np.where(in_b, 0.6, 0.2)
    called = np.where(right, truth, (truth + 1) % 3)
    chances = np.full((1500, 3), 0.1)
    chances[np.arange(1500), called] = 0.8
    frame["label"] = classes[truth]
    for i, name in enumerate(classes):
        frame[f"p_{name}"] = chances[:, i]
    evaluation = {"task": "multiclass", "artifact": "evaluation/scored.csv", "unit": "students",
                  "classes": [{"value": v, "means": f"need {v}", "probability_column": f"p_{v}"} for v in names]}
    source = _load(tmp_path, evaluation, [{"key": "acc", "label": "Right", "kind": "multiclass_accuracy"}],
                   scan={"skip_columns": ["case"]})
    assert scanned_columns(source, list(frame.columns)) == ["ward", "site"]
    report = analyse_weak_groups(source, task_set(source, frame, {}, "r1"))
    assert report is not None and report.result is not None and report.figures == ("wrong_calls",)
    assert [f.name for f in report.result.found] == ["ward is B"]


def test_no_scan_nothing_to_scan_a_counted_set_and_a_misspelt_column(tmp_path: Path) -> None:
    rng, frame, _ = _wards(200, 5)
    frame["label"], frame["score"] = (rng.random(200) < 0.5).astype(int), rng.random(200)
    assert analyse_weak_groups(_load(tmp_path / "a", BINARY, RECALL), None) is None  # no scan: asked for
    source = _load(tmp_path / "b", BINARY, RECALL, scan={"skip_columns": ["wrad"]})
    report = analyse_weak_groups(source, None)
    assert report is not None and report.result is None and "no scored evaluation set" in report.not_run
    scored = task_set(source, frame, {}, "r1")
    assert isinstance(scored, ScoredSet)
    counted = ScoredSet(scored.labels, scored.scores, 0.5, frame, weights=np.ones(200, dtype=np.int64))
    report = analyse_weak_groups(source, counted)
    assert report is not None and report.result is None and "one row per case" in report.not_run
    with pytest.raises(SourceError) as caught:
        analyse_weak_groups(source, scored)
    assert "'wrad'" in str(caught.value) and caught.value.location is not None
    assert caught.value.location.line is not None


def test_a_story_is_scanned_unasked_and_only_scan_enabled_false_turns_it_off(tmp_path: Path) -> None:
    rng, frame, in_b = _wards(3000, 1)
    label = rng.random(3000) < 0.4
    flagged = np.where(label, rng.random(3000) > np.where(in_b, 0.5, 0.15), rng.random(3000) < 0.1)
    frame["label"], frame["score"] = label.astype(int), np.where(flagged, 0.8, 0.2)
    unasked = _load(tmp_path / "unasked", BINARY, RECALL)  # no scan: block at all
    assert unasked.config.scan is None
    report = analyse_weak_groups(unasked, task_set(unasked, frame, {}, "r1"))
    assert report is not None and report.result is not None
    assert [f.name for f in report.result.found] == ["ward is B"]
    off = _load(tmp_path / "off", BINARY, RECALL, scan={"enabled": False})
    assert analyse_weak_groups(off, task_set(off, frame, {}, "r1")) is None
    counts_only = _load(tmp_path / "counts", {**BINARY, "artifact": None,
                                              "counts": {"tp": "tp", "fp": "fp", "tn": "tn", "fn": "fn"}}, RECALL)
    assert analyse_weak_groups(counts_only, None) is None  # nothing to scan, nothing asked: nothing said
