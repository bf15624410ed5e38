"""A multiclass model's performance before the labels are in (storybook.analyse.label_free_multiclass): the
expected confusion matrix against a loop over the cases written here, the realised matrix against scikit-learn,
the 95% range of the share of right calls holding the realised share about 95 times in 100 on calibrated chances,
and no estimate on badly calibrated ones."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import confusion_matrix

from storybook.aggregate.windows_multiclass import index_classes
from storybook.analyse.label_free_multiclass import estimate_multiclass_windows, top_label_ece
from storybook.logging_production_multiclass import multiclass_cells
from storybook.metrics.multiclass import MulticlassScores

CLASSES = ("stays", "moves school", "leaves")


def _chances(rng: np.random.Generator, n: int, sharp: float = 1.0) -> np.ndarray:
    return rng.dirichlet([0.6, 0.4, 0.3], size=n) if sharp == 1.0 else rng.dirichlet([sharp] * 3, size=n)


def _draw(rng: np.random.Generator, chances: np.ndarray) -> np.ndarray:
    """Each case's true class drawn from its own chances (calibrated by construction)."""
    cumulative = chances.cumsum(axis=1)
    return np.minimum((rng.random(chances.shape[0])[:, None] > cumulative).sum(axis=1), chances.shape[1] - 1)


def _table(windows: list[tuple[str, np.ndarray, np.ndarray | None]]) -> pd.DataFrame:
    cells = pd.concat([multiclass_cells(name, chances, CLASSES, labels) for name, chances, labels in windows],
                      ignore_index=True)
    return index_classes(cells, CLASSES, CLASSES)


@pytest.fixture(scope="module")
def evaluation() -> MulticlassScores:
    rng = np.random.default_rng(1)
    chances = _chances(rng, 600)
    return MulticlassScores.from_probabilities(CLASSES, _draw(rng, chances), chances)


def test_expected_confusion_is_the_sum_of_chances_by_called_class(evaluation: MulticlassScores) -> None:
    rng = np.random.default_rng(2)
    chances = _chances(rng, 250)
    labels = _draw(rng, chances)
    report = estimate_multiclass_windows(_table([("w1", chances, None), ("w2", chances[:100], labels[:100])]),
                                         classes=CLASSES, evaluation=evaluation, draws=200)
    assert report.estimated
    first, second = report.windows
    by_hand = np.zeros((3, 3))
    for row in chances:  # an independent loop over the cases
        called = int(np.argmax(row))
        for true in range(3):
            by_hand[true, called] += row[true]
    np.testing.assert_allclose(first.expected, by_hand, rtol=1e-9, atol=1e-9)
    assert first.right == pytest.approx(np.trace(by_hand) / 250)
    assert first.found[2] == pytest.approx(by_hand[2, 2] / by_hand[2].sum())
    assert first.realised is None and first.cases == 250 and first.labelled == 0
    # the realised matrix once every label is in: scikit-learn's confusion matrix of the same cases
    expected_matrix = confusion_matrix(labels[:100], np.argmax(chances[:100], axis=1), labels=[0, 1, 2])
    assert second.realised is not None
    np.testing.assert_array_equal(second.realised, expected_matrix)
    assert second.realised_right == pytest.approx(np.trace(expected_matrix) / 100)


def test_the_ranges_hold_the_realised_shares_about_95_in_100(
        evaluation: MulticlassScores) -> None:
    rng = np.random.default_rng(3)
    trials, inside, found_inside = 200, 0, 0
    for trial in range(trials):
        chances = _chances(rng, 300)
        labels = _draw(rng, chances)
        report = estimate_multiclass_windows(_table([("w", chances, labels)]), classes=CLASSES,
                                             evaluation=evaluation, draws=400, seed=trial)
        window = report.windows[0]
        assert window.right_interval is not None and window.realised_right is not None
        low, high = window.right_interval
        inside += low - 1e-12 <= window.realised_right <= high + 1e-12
        found, interval = window.realised_found(2), window.found_intervals[2]  # the rarest class's share found
        assert found is not None and interval is not None
        found_inside += interval[0] - 1e-12 <= found <= interval[1] + 1e-12
    # 95% intended; the per-cell draw errs on the wide side, and 200 trials put 1.5 percentage points of noise on it
    assert 0.91 <= inside / trials <= 0.995, inside
    assert 0.91 <= found_inside / trials <= 0.995, found_inside


def test_no_estimate_on_badly_calibrated_chances() -> None:
    rng = np.random.default_rng(4)
    chances = _chances(rng, 400, sharp=0.3)  # very sure chances ...
    truth = _draw(rng, np.full_like(chances, 1 / 3))  # ... of classes that are a coin toss
    evaluation = MulticlassScores.from_probabilities(CLASSES, truth, chances)
    ece = top_label_ece(evaluation)
    assert ece is not None and ece > 0.3
    report = estimate_multiclass_windows(_table([("w", chances[:50], None)]), classes=CLASSES,
                                         evaluation=evaluation, draws=100)
    assert not report.estimated and report.calibration.ece == pytest.approx(ece)
    window = report.windows[0]
    assert window.right is None and window.right_interval is None and window.found == (None, None, None)


def test_top_label_ece_by_hand() -> None:
    # two bands: 4 cases at 0.9 (3 right: gap 0.15), 2 at 0.5 (1 right: gap 0); weighted: 4/6 x 0.15 = 0.1
    chances = np.array([[0.9, 0.05, 0.05]] * 4 + [[0.5, 0.3, 0.2]] * 2)
    truth = np.array([0, 0, 0, 1, 0, 2])
    scores = MulticlassScores.from_probabilities(CLASSES, truth, chances)
    assert top_label_ece(scores) == pytest.approx(0.1)
    too_few = estimate_multiclass_windows(_table([("w", chances, None)]), classes=CLASSES, evaluation=scores)
    assert not too_few.estimated and too_few.calibration.cases == 6


def test_the_share_right_agrees_with_nannyml_multiclass_cbpe(monkeypatch: pytest.MonkeyPatch) -> None:
    """NannyML's multiclass CBPE on the same reference and analysis data: the same expected share of right calls
    per chunk, to a tenth of a percentage point (NannyML recalibrates each class's chance on the reference set, one
    class against the rest; on chances calibrated by construction that moves them by little)."""
    monkeypatch.setenv("NML_DISABLE_USAGE_LOGGING", "1")
    nml = pytest.importorskip("nannyml")
    rng = np.random.default_rng(2)
    reference = rng.dirichlet([2, 1, 0.7], 20000)
    truth = _draw(rng, reference)
    chunks = [rng.dirichlet([2, 1, 0.7 + 0.1 * (i % 3)], 1000) for i in range(6)]  # NannyML warns below 6 chunks

    def frame(chances: np.ndarray, labels: np.ndarray | None = None) -> pd.DataFrame:
        table = pd.DataFrame({f"p_{i}": chances[:, i] for i in range(3)})
        table["y_pred"] = np.asarray(CLASSES)[chances.argmax(axis=1)]
        if labels is not None:
            table["y_true"] = np.asarray(CLASSES)[labels]
        return table

    estimator = nml.CBPE(y_pred_proba={c: f"p_{i}" for i, c in enumerate(CLASSES)}, y_pred="y_pred",
                         y_true="y_true", metrics=["accuracy"], chunk_size=1000,
                         problem_type="classification_multiclass")
    estimator.fit(frame(reference, truth))
    estimated = estimator.estimate(frame(np.concatenate(chunks))).to_df()
    theirs = estimated.loc[estimated[("chunk", "period")] == "analysis", ("accuracy", "value")].to_numpy()
    ours = estimate_multiclass_windows(_table([(f"w{i}", c, None) for i, c in enumerate(chunks)]), classes=CLASSES,
                                       evaluation=MulticlassScores.from_probabilities(CLASSES, truth, reference),
                                       draws=50)
    mine = np.array([w.right for w in ours.windows], dtype=np.float64)
    assert theirs.shape == (6,)
    assert np.allclose(mine, theirs, rtol=0, atol=0.002), (mine, theirs)


def test_the_sentences_say_why_not_and_what_the_outcomes_show(evaluation: MulticlassScores) -> None:
    from storybook.analyse.label_free_multiclass import MulticlassCalibration
    from storybook.analyse.label_free_multiclass_words import multiclass_refusal, multiclass_window_sentence

    assert multiclass_refusal(MulticlassCalibration(ece=0.0731, cases=400, allowed=0.05), "students") == (
        "storybook does not estimate how the model does before the labels are in: on the evaluation set, the chance "
        "the model gives its call differs from how often such calls are right by 7.31 percentage points on average, "
        "and an estimate from the chances alone needs at most 5.")
    assert "has 60 students with the model's chances" in str(
        multiclass_refusal(MulticlassCalibration(ece=0.01, cases=60, allowed=0.05), "students"))
    assert multiclass_refusal(MulticlassCalibration(ece=0.01, cases=600, allowed=0.05), "students") is None
    # refused: a window with its outcomes in tells what they show, counted here by hand
    chances = np.array([[0.9, 0.05, 0.05], [0.2, 0.7, 0.1], [0.1, 0.1, 0.8], [0.6, 0.3, 0.1]] * 30)
    labels = np.array([0, 1, 0, 2] * 30)  # 60 of 120 called right
    flat = MulticlassScores.from_probabilities(CLASSES, np.zeros(6, dtype=np.int64), np.full((6, 3), 1 / 3))
    report = estimate_multiclass_windows(_table([("w", chances, labels)]), classes=CLASSES, evaluation=flat)
    means = ("stay", "move school", "leave")
    assert multiclass_window_sentence(report.windows[0], report, "students", means) == (
        "In window w, the outcomes show that the model called 50 in 100 (60 of 120) students right.")
    # chances spread unlike the evaluation set's: not estimated, and the part of the outcomes in is not compared
    half = estimate_multiclass_windows(
        _table([("w", chances[:60], labels[:60]), ("w", chances[60:], None)]), classes=CLASSES,
        evaluation=evaluation, draws=200)
    said = multiclass_window_sentence(half.windows[0], half, "students", means)
    assert said.startswith("In window w, storybook does not estimate how often the model is right: the chances of "
                           "its 120 students are spread unlike the evaluation set's")
    assert said.endswith("; outcomes for only 60 of them are in.")
    # chances spread like the evaluation set's: estimated, half the outcomes in, not compared
    rng = np.random.default_rng(6)
    alike = _chances(rng, 120)
    half = estimate_multiclass_windows(
        _table([("w", alike[:60], _draw(rng, alike[:60])), ("w", alike[60:], None)]), classes=CLASSES,
        evaluation=evaluation, draws=200)
    said = multiclass_window_sentence(half.windows[0], half, "students", means)
    assert said.startswith("In window w, the model probably calls between ")
    assert "outcomes for only 60 of them are in, too few of the window to compare." in said
    assert "Of the students who leave, it probably finds " in said
