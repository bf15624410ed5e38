"""What drives a regression or multiclass model, in words: a drop in the average miss told in the story's amount
unit, a rise in the log loss in its own units, a drop in multiclass accuracy as wrong calls in every 100; each
with its 95% range over the shuffles (Student's t on the repeats), worked out by hand below."""

from __future__ import annotations

import pandas as pd

from storybook.analyse.drivers import analyse_drivers, bound, figure_and_range, points
from storybook.analyse.plain import Vocabulary
from storybook.resolve.resolved import Provenance, ResolvedDrivers
from storybook.sources.schema import DriversSpec

T3 = 3.182446305284263  # Student's t, 97.5%, 3 degrees of freedom


def _drivers(metric: str, drops: dict[str, list[float]], baseline: float) -> ResolvedDrivers:
    rows = [("(all)", "(all)", feature, repeat, value) for feature, values in drops.items()
            for repeat, value in enumerate(values)]
    table = pd.DataFrame(rows, columns=["slice", "group", "feature", "repeat", "drop"])
    return ResolvedDrivers(table=table, metric=metric, origin="model",
                           provenance=Provenance("sqlite:///mlflow.db", "run1", "model", "models:/m/1"),
                           repeats=4, seed=0, rows=133, baseline=baseline)


def test_a_regression_drop_is_told_in_the_amount_unit() -> None:
    # bmi: mean 6.0, sample sd sqrt(2/3) = 0.8165, half-width 3.182446 * 0.8165 / 2 = 1.299 -> 4.7 to 7.3
    # s1: mean 0, sample sd sqrt(0.1/3) = 0.1826, half-width 0.2905 -> -0.3 to 0.3 (no clear effect)
    resolved = _drivers("mae", {"bmi": [5.0, 7.0, 6.0, 6.0], "s1": [0.2, -0.2, 0.1, -0.1]}, baseline=-45.5)
    report = analyse_drivers(resolved, DriversSpec(names={"bmi": "body mass index"}),
                             words=Vocabulary(unit="patients", amount_unit="points"), slices=[], evaluation=None,
                             min_slice_size=10, amount_unit="points")
    half = T3 * (2 / 3) ** 0.5 / 2
    assert f"{6 - half:.1f} and {6 + half:.1f}" == "4.7 and 7.3"
    assert report.lead == ("The model leans most on body mass index: shuffling it raises the average miss by 6.0 "
                           "points (between 4.7 and 7.3).")
    lines = {i.feature: line for i, line in report.lines}
    assert lines["s1"] == ("Shuffling s1 makes no clear difference: its effect on average miss is between -0.3 and "
                           "0.3 points, which includes no effect at all.")
    assert report.baseline_sentence == "Before shuffling, the average miss on these patients is 45.5 points."
    assert report.reliance == "The more its average miss grows, the more it relies on that measurement."
    assert (report.scale, report.loss_unit) == (1.0, "points added to the average miss")
    assert "out of 100" not in report.lead + " ".join(lines.values())


def test_a_multiclass_drop_in_log_loss_and_in_accuracy() -> None:
    # alcohol: mean 0.11, sample sd sqrt(0.0002/3) = 0.008165, half-width 0.012992 -> 0.097 to 0.123
    resolved = _drivers("log_loss", {"alcohol": [0.10, 0.12, 0.11, 0.11]}, baseline=-0.25)
    words = Vocabulary(unit="wines")
    report = analyse_drivers(resolved, DriversSpec(), words=words, slices=[], evaluation=None, min_slice_size=10)
    assert report.lead == ("The model leans most on alcohol: shuffling it raises the log loss by 0.110 (between "
                           "0.097 and 0.123); 0 is perfect.")
    assert report.baseline_sentence == "Before shuffling, the log loss on these wines is 0.250 (lower is better)."
    # accuracy drops of 0.04, 0.06, 0.05, 0.05: 5 points, half-width 3.182446 * 0.008165 / 2 * 100 = 1.3
    resolved = _drivers("multiclass_accuracy", {"alcohol": [0.04, 0.06, 0.05, 0.05]}, baseline=0.93)
    report = analyse_drivers(resolved, DriversSpec(), words=words, slices=[], evaluation=None, min_slice_size=10)
    assert report.lead == ("The model leans most on alcohol: shuffling it costs 5.0 points of accuracy out of 100 "
                           "(between 3.7 and 6.3): about 5.0 more wrong calls in every 100 wines.")
    assert report.baseline_sentence == "Before shuffling, the accuracy on these wines is 93.0 out of 100."


def test_drops_as_numbers_per_task() -> None:
    assert (points(0.048, "multiclass_accuracy"), points(0.0123, "log_loss"), points(12.4, "mae")) == \
        ("4.8", "0.012", "12")
    assert (points(3.21, "rmse"), points(0.042, "mae"), bound(-0.58, "mae"), bound(0.04, "mae")) == \
        ("3.2", "0.042", "-0.6", "0.04")


def test_a_drop_and_its_range_are_told_at_one_precision() -> None:
    # mean 12.51, sample sd sqrt(2/3) = 0.8165, half-width 3.182446 * 0.8165 / 2 = 1.299 -> 11.211 to 13.809:
    # "12.5 (between 11.2 and 13.8)", never "13 (between 11.2 and 13.8)".
    resolved = _drivers("mae", {"bmi": [11.51, 13.51, 12.51, 12.51]}, baseline=-45.5)
    report = analyse_drivers(resolved, DriversSpec(names={"bmi": "BMI"}),
                             words=Vocabulary(unit="patients", amount_unit="points"), slices=[], evaluation=None,
                             min_slice_size=10, amount_unit="points")
    assert report.lead == ("The model leans most on BMI: shuffling it raises the average miss by 12.5 points "
                           "(between 11.2 and 13.8).")
    # every end below 0.1: two significant figures of the largest end (0.073), so three decimals for all three
    # (mean 0.06, half-width 0.01299 -> 0.047 to 0.073)
    small = analyse_drivers(_drivers("mae", {"bmi": [0.05, 0.07, 0.06, 0.06]}, baseline=-45.5), DriversSpec(),
                            words=Vocabulary(unit="patients"), slices=[], evaluation=None, min_slice_size=10)
    assert figure_and_range(small.ranked[0], "mae") == ("0.060", " (between 0.047 and 0.073)")
