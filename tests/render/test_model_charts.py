"""Charts of what drives the model and of its history (render/model_charts.py): the figures drawn are the ones the
alt text states, on the scale the page tells (points out of 100), and a chart with nothing to draw is left out."""

from __future__ import annotations

import pytest

from storybook.analyse.drivers import DriversReport
from storybook.analyse.history import HistoryReport
from storybook.analyse.importance import Importance
from storybook.render.model_charts import importance_chart, timeline_chart

AGE = Importance("age", "Age", 0.021, 0.004, 10, 0.012, 0.029)
BMI = Importance("bmi", "Body mass index", 0.005, 0.002, 10, -0.001, 0.011)
UNMEASURED = Importance("x", "X", float("nan"), 0.0, 10, None, None)


def _drivers(*shown: Importance) -> DriversReport:
    return DriversReport(metric="accuracy", metric_name="accuracy", ranked=shown, shown=shown, lead="", lines=(),
                         no_clear=(), together=(), slices=(), slices_note="", source="", rows=100, repeats=10,
                         baseline=0.9, loss_unit="points of accuracy lost (of 100)")


def test_the_importance_chart_draws_each_drop_and_range_in_points_and_says_them() -> None:
    chart = importance_chart("s-drivers", _drivers(AGE, BMI, UNMEASURED))
    assert chart is not None and chart.name == "s-drivers"
    drawn = chart.spec["data"]["values"]
    assert [row["feature"] for row in drawn] == ["Age", "Body mass index"]   # the unmeasured one is left out
    assert [(row["mean"], row["low"], row["high"]) for row in drawn] == [
        pytest.approx((2.1, 1.2, 2.9)), pytest.approx((0.5, -0.1, 1.1))]
    assert chart.alt == ("Chart of how much accuracy the model loses when each measurement is shuffled, in points "
                         "of accuracy lost (of 100), with 95% ranges over 10 shuffles: Age: 2.1 (between 1.2 and "
                         "2.9); Body mass index: 0.5 (between -0.1 and 1.1).")
    assert "over 10 shuffles" in chart.caption


def test_an_importance_chart_with_no_measured_drop_is_left_out() -> None:
    assert importance_chart("s-drivers", _drivers(UNMEASURED)) is None
    assert importance_chart("s-drivers", _drivers()) is None


def test_a_timeline_with_no_events_is_left_out() -> None:
    assert timeline_chart("s-timeline", HistoryReport("screen", (), (), "", (), 0, None, 1)) is None
