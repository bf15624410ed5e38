"""The multiclass performance section (storybook.analyse.multiclass) on small sets worked out by hand: natural
frequencies that add up, classes too small to tell, slices, calibration, capacities that cannot hold every student
and a slice column the set lacks. The cost section's own tests are in test_multiclass_cost.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from storybook.analyse.multiclass import analyse_multiclass, natural_frequencies
from storybook.analyse.plain import Vocabulary
from storybook.errors import SourceError
from storybook.resolve.scored import task_set
from storybook.resolve.scored_multiclass import MulticlassSet
from storybook.sources.loader import StorySource, load_story
from tests.stores import story, write_project

CLASSES = ("support", "challenge", "neither")
MEANS = {"support": "need extra support", "challenge": "need extra challenge", "neither": "need neither"}
WORDS = Vocabulary(unit="students")
COSTS = {"support": {"challenge": 10, "neither": 8}, "challenge": {"support": 2, "neither": 3},
         "neither": {"support": 1, "challenge": 1}}


def _story(tmp_path: Path, *, chances: bool = True, cost: dict[str, Any] | None = None,
           slices: list[dict[str, str]] | None = None, metrics: list[dict[str, str]] | None = None) -> StorySource:
    evaluation = {"task": "multiclass", "artifact": "evaluation/scored.csv", "unit": "students",
                  "label_column": "label",
                  "classes": [{"value": v, "means": MEANS[v], **({"probability_column": f"p_{v}"} if chances else {})}
                              for v in CLASSES], **({} if chances else {"prediction_column": "predicted"})}
    more: dict[str, Any] = {"slices": slices or []}
    if cost is not None:
        more["cost_of_error"] = {"unit": "hours", "owner": "The head of support", "bootstrap_rounds": 200, **cost}
    listed = metrics or [{"key": "acc", "label": "Accuracy", "kind": "multiclass_accuracy"}]
    root = write_project(tmp_path, {"s": story("m", "champion", listed, evaluation, **more)})
    return load_story(root, root / "stories" / "s")


def _set(source: StorySource, frame: pd.DataFrame) -> MulticlassSet:
    found = task_set(source, frame, {}, "r1")
    assert isinstance(found, MulticlassSet)
    return found


def _frame(rows: list[tuple[str, float, float, float]], school: list[str] | None = None) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["label", "p_support", "p_challenge", "p_neither"])
    if school is not None:
        frame["school"] = school
    return frame


def test_natural_frequencies_add_up_by_largest_remainder() -> None:
    # 306 / 430 of 1,000 = 711.6, 124 / 430 = 288.4: the one unit left goes to the larger remainder.
    assert natural_frequencies([306, 0, 124]) == (712, 0, 288)
    assert natural_frequencies([1, 1, 1]) == (334, 333, 333)  # ties: the class listed first
    assert sum(natural_frequencies([7, 11, 13, 17], per=100)) == 100
    with pytest.raises(ValueError, match="at least one row"):
        natural_frequencies([0, 0, 0])


def test_a_class_with_too_few_students_is_not_told_per_thousand(tmp_path: Path) -> None:
    source = _story(tmp_path)
    # 12 need support (all found), 3 need challenge (2 found, 1 taken for neither), 15 need neither (all found).
    rows = ([("support", 0.8, 0.1, 0.1)] * 12 + [("challenge", 0.1, 0.8, 0.1)] * 2 + [("challenge", 0.1, 0.2, 0.7)]
            + [("neither", 0.1, 0.1, 0.8)] * 15)
    told = analyse_multiclass(source, _set(source, _frame(rows)), WORDS).performance
    support, challenge, neither = told.lines
    assert support.frequencies == (1000, 0, 0)
    assert support.frequency_sentence == ("Of every 1,000 students who need extra support, the model rightly says "
                                          "1,000 do; it says none need extra challenge and none need neither (from "
                                          "the 12 such students in the evaluation).")
    assert challenge.frequencies is None
    assert challenge.found_sentence == ("Only 3 students in the evaluation need extra challenge: too few to say how "
                                        "many of them the model finds.")
    assert "too few to tell what happens to every 1,000 of them" in challenge.frequency_sentence
    assert neither.rows == 15 and neither.called == 16 and neither.right.successes == 15
    assert told.confusion == ((12, 0, 0), (0, 2, 1), (0, 0, 15))
    assert told.accuracy.value == pytest.approx(29 / 30)
    # Balanced accuracy and macro F1 weigh the 3-student class like the others: not told with confidence, and
    # no range (a resampled one would look narrow), though their values stay in the table.
    assert told.balanced_accuracy.value == pytest.approx((1 + 2 / 3 + 1) / 3)
    assert told.balanced_accuracy.low is None and told.balanced_accuracy.high is None
    for name in ("balanced accuracy", "macro f1"):
        sentence = (f"The {name} cannot be told with confidence: it weighs each class the same, and only 3 students "
                    "in the evaluation need extra challenge, too few to say how many of them the model finds.")
        assert sentence in told.headline
    assert not any("balanced accuracy" in line and "in 100" in line for line in told.headline)

    # The card tells a balanced accuracy the story lists in metrics: the same way, never "about 99 in 100".
    from storybook.analyse.model_card import analyse_model_card
    from storybook.resolve.resolved import Figure, Provenance, ResolvedRun, ResolvedStory

    listed = _story(tmp_path / "listed", metrics=[{"key": "bal", "label": "Balanced accuracy",
                                                   "kind": "balanced_accuracy"}])
    value = (1 + 2 / 3 + 1) / 3
    run = ResolvedRun("r1", "r1", "e", 0, None, {"bal": Figure("bal", value, Provenance("s", "r1", "metric", "bal"))},
                      {}, {})
    card = analyse_model_card(listed, ResolvedStory(source="s", run=run), scored=_set(listed, _frame(rows)))
    assert card.metrics[0].sentence == ("This figure cannot be told with confidence: it weighs each class the same, "
                                        "and only 3 students in the evaluation need extra challenge, too few to say "
                                        "how many of them the model finds.")
    assert card.metrics[0].estimate is None


def test_a_slice_column_the_set_lacks_is_refused_on_its_line(tmp_path: Path) -> None:
    source = _story(tmp_path, slices=[{"column": "school", "label": "School"}])
    rows = [("support", 0.6, 0.1, 0.3)] * 12 + [("neither", 0.2, 0.1, 0.7)] * 12
    with pytest.raises(SourceError, match="no column 'school' to slice by") as caught:
        analyse_multiclass(source, _set(source, _frame(rows)), WORDS)
    lines = (source.directory / "story.yaml").read_text().splitlines()
    assert caught.value.location is not None
    assert "column: school" in lines[caught.value.location.line - 1]


def test_slices_count_each_group_on_its_own_rows(tmp_path: Path) -> None:
    source = _story(tmp_path, slices=[{"column": "school", "label": "School"}])
    rows = [("support", 0.6, 0.1, 0.3)] * 12 + [("neither", 0.2, 0.1, 0.7)] * 10 + [("neither", 0.5, 0.2, 0.3)] * 2
    school = ["North"] * 6 + ["South"] * 6 + ["North"] * 12
    told = analyse_multiclass(source, _set(source, _frame(rows, school)), WORDS).performance
    (table,) = told.slices
    north, south = table.rows
    assert (north.value, north.n, south.value, south.n) == ("North", 18, "South", 6)
    # North: 6 support all found; 12 neither of which the last 2 are taken for support.
    assert north.accuracy.successes == 16 and north.accuracy.n == 18
    assert [(e.successes, e.n) for e in north.found] == [(6, 6), (0, 0), (10, 12)]
    assert north.found_words[1] == "too few cases to say"
    assert np.isclose(told.accuracy.value or 0.0, 22 / 24)


def test_calibration_is_told_from_bands_worked_out_here(tmp_path: Path) -> None:
    source = _story(tmp_path)
    rng = np.random.default_rng(4)
    chances = rng.dirichlet([2.0, 1.0, 3.0], size=400)
    truth = np.array([rng.choice(3, p=row) for row in chances])  # calibrated by construction
    frame = pd.DataFrame({"label": np.asarray(CLASSES)[truth], "p_support": chances[:, 0],
                          "p_challenge": chances[:, 1], "p_neither": chances[:, 2]})
    told = analyse_multiclass(source, _set(source, frame), WORDS).performance
    # Top-label: each row's highest chance in ten bands of 0.1 (an inner edge belongs to the lower band).
    top, called = chances.max(axis=1), chances.argmax(axis=1)
    band = np.searchsorted(np.linspace(0, 1, 11)[1:-1], top)
    gap = sum(abs((truth[band == b] == called[band == b]).mean() - top[band == b].mean()) * (band == b).sum()
              for b in range(10) if (band == b).any()) / 400
    held = sum(1 for b in range(10) if (band == b).any())
    assert held < 10  # a call of 3 classes is never under 1/3 sure: the low bands hold no students
    assert told.calibration[0] == (f"How sure the model says it is of its call differs from how often it is right by "
                                   f"{gap * 100:.3g} percentage points on average (over the {held} bands of certainty "
                                   "that hold students, weighted by students).")
    assert [b.n for b in told.bands] == [int((band == b).sum()) for b in range(10) if (band == b).any()]
    first = told.bands[0]
    rows = band == round(first.low * 10)
    assert first.right.successes == int((truth[rows] == called[rows]).sum())
    assert first.stated == pytest.approx(top[rows].mean())
    # Per class: the chance of that class against whether the row is of it.
    for c, line in enumerate(told.calibration[1:]):
        p = chances[:, c]
        bands_c = np.searchsorted(np.linspace(0, 1, 11)[1:-1], p)
        gap_c = sum(abs((truth[bands_c == b] == c).mean() - p[bands_c == b].mean()) * (bands_c == b).sum()
                    for b in range(10) if (bands_c == b).any()) / 400
        assert line == (f"For students who {MEANS[CLASSES[c]]}: the chance the model gives of that class differs from "
                        f"what happened by {gap_c * 100:.1f} percentage points on average.")


def test_capacities_that_cannot_hold_every_student_are_refused_on_their_line(tmp_path: Path) -> None:
    limits = {"support": 300, "challenge": 300, "neither": 300}
    with pytest.raises(SourceError, match="together they allow 900 calls of every 1,000") as caught:
        _story(tmp_path / "a", cost={"matrix": COSTS, "class_capacity": limits})
    assert caught.value.location is not None
    # Enough places per 1,000, but not on an evaluation set of 3: scaled down, 500 and 500 of 1,000 give 1 and 1.
    source = _story(tmp_path / "b", cost={"matrix": COSTS, "class_capacity": {"support": 500, "challenge": 500,
                                                                               "neither": 0}})
    rows = [("support", 0.6, 0.1, 0.3), ("neither", 0.2, 0.1, 0.7), ("challenge", 0.2, 0.7, 0.1)]
    with pytest.raises(SourceError, match="allow 2 calls in all") as refused:
        analyse_multiclass(source, _set(source, _frame(rows)), WORDS)
    lines = (source.directory / "story.yaml").read_text().splitlines()
    assert refused.value.location is not None
    assert "class_capacity:" in lines[refused.value.location.line - 1]


def test_balanced_accuracy_is_told_as_an_average_never_as_each_class_share() -> None:
    from storybook.analyse.plain import metric_sentence
    from storybook.metrics.binary import Estimate

    # The example's classes: found 56 of 115, 31 of 79 and 219 of 256; their average is 0.578.
    value = (56 / 115 + 31 / 79 + 219 / 256) / 3
    told = metric_sentence("balanced_accuracy", value, Estimate(value, 0.528, 0.627, 450), WORDS)
    assert told == ("Averaged over the classes, the share of a class's students that the model finds is about 58 in "
                    "100 (measured on 450 students).")
    assert "each class's" not in told  # 49, 39 and 86 in 100 class by class: no class's share is 58 in 100


def test_a_class_that_is_something_is_told_with_are_not_do(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A class whose meaning is "are fine" (payments that are fine): the page said "the model rightly says 963 do"
    and "really do"; a meaning with another verb keeps "do"."""
    monkeypatch.setitem(MEANS, "neither", "are doing fine")
    source = _story(tmp_path)
    rows = [("support", 0.8, 0.1, 0.1)] * 12 + [("challenge", 0.1, 0.8, 0.1)] * 12 + [("neither", 0.1, 0.1, 0.8)] * 15
    support, _, neither = analyse_multiclass(source, _set(source, _frame(rows)), WORDS).performance.lines
    assert neither.frequency_sentence.startswith("Of every 1,000 students who are doing fine, the model rightly says "
                                                 "1,000 are; it says none need extra support")
    assert neither.right_sentence.endswith(" really are.")
    assert support.frequency_sentence.startswith("Of every 1,000 students who need extra support, the model rightly "
                                                 "says 1,000 do;")
