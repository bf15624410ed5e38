"""Charts: plain Vega-Lite specs draw the same SVG that the Altair-built specs drew, and the SVG cache."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from storybook.analyse.classification import Confusion, SliceRow, SliceTable, rate
from storybook.render import charts
from storybook.resolve.resolved import Provenance, Series, SeriesPoint


def _altair_config() -> dict[str, Any]:
    return {"font": charts.FONT, "axis": {"labelFontSize": 12, "titleFontSize": 12, "labelColor": "#222",
                                          "titleColor": "#222"}, "view": {"stroke": None}}


# The Altair versions of the charts, as storybook drew them before plain specs (kept here as the reference).

def _altair_slice(label: str, kind_label: str, rows: list[tuple[str, float, float, float, int]]) -> dict[str, Any]:
    import altair as alt
    import pandas as pd

    data = pd.DataFrame(rows, columns=["group", "value", "low", "high", "n"])
    base = alt.Chart(data).encode(y=alt.Y("group:N", title=label, sort=None))
    bars = base.mark_rule(strokeWidth=3, color="#8fb3cc").encode(
        x=alt.X("low:Q", title=f"{kind_label} (dot), with its likely range (bar)",
                scale=alt.Scale(domain=[0, 1]), axis=alt.Axis(format="%")), x2="high:Q")
    dots = base.mark_point(filled=True, size=90, color=charts.COLOUR).encode(x="value:Q")
    chart = (bars + dots).properties(width=420, height=max(60, 36 * len(rows))).configure(**_altair_config())
    spec: dict[str, Any] = chart.to_dict()
    return spec


def _altair_series(label: str, series: Series, lower: float | None = None, upper: float | None = None,
                   change_ms: int | None = None, guarded: bool = False) -> dict[str, Any]:
    import altair as alt
    import pandas as pd

    data = pd.DataFrame({
        "day": [pd.Timestamp(p.timestamp_ms, unit="ms").strftime("%Y-%m-%d") for p in series.points],
        "value": [p.value for p in series.points],
    })
    line = alt.Chart(data).mark_line(point=True, color=charts.COLOUR).encode(
        x=alt.X("day:T", title="Date"), y=alt.Y("value:Q", title=label))
    if not guarded:
        spec: dict[str, Any] = line.properties(width=520, height=200).configure(**_altair_config()).to_dict()
        return spec
    layers = [line]
    bounds = [b for b in (lower, upper) if b is not None]
    if bounds:
        layers.append(alt.Chart(pd.DataFrame({"bound": bounds})).mark_rule(strokeDash=[6, 4], color="#555")
                      .encode(y="bound:Q"))
    if change_ms is not None:
        day = pd.Timestamp(change_ms, unit="ms").strftime("%Y-%m-%d")
        layers.append(alt.Chart(pd.DataFrame({"day": [day]})).mark_rule(color="#b3261e", strokeWidth=2)
                      .encode(x="day:T"))
    spec = alt.layer(*layers).properties(width=520, height=200).configure(**_altair_config()).to_dict()
    return spec


def _altair_cost(unit: str, per: int, thresholds: list[float], costs: list[float], best: float,
                 current: float | None) -> dict[str, Any]:
    import altair as alt
    import pandas as pd

    line = alt.Chart(pd.DataFrame({"threshold": thresholds, "cost": costs})).mark_line(color=charts.COLOUR).encode(
        x=alt.X("threshold:Q", title="Threshold (score at or above which the model flags)",
                scale=alt.Scale(domain=[0, 1])),
        y=alt.Y("cost:Q", title=f"Expected cost per {per:,} ({unit})"))
    marks = [{"threshold": best, "label": "lowest cost"}]
    if current is not None:
        marks.append({"threshold": current, "label": "in use now"})
    rules = alt.Chart(pd.DataFrame(marks)).mark_rule(strokeDash=[4, 3], strokeWidth=2).encode(
        x="threshold:Q", color=alt.Color("label:N", title=None, scale=alt.Scale(
            domain=["lowest cost", "in use now"], range=["#1b7a3a", "#a3441b"])))
    spec: dict[str, Any] = (line + rules).properties(width=520, height=220).configure(**_altair_config()).to_dict()
    return spec


def _altair_icons(counts: dict[str, int]) -> dict[str, Any]:
    import math

    import altair as alt
    import pandas as pd

    total = sum(counts.values())
    columns = max(10, math.ceil(math.sqrt(total * 1.6)))
    cells: list[str] = []
    for category in charts.ICON_CATEGORIES:
        cells += [category] * counts.get(category, 0)
    data = pd.DataFrame({"column": [i % columns for i in range(len(cells))],
                         "row": [i // columns for i in range(len(cells))], "what": cells})
    spec: dict[str, Any] = alt.Chart(data).mark_square(size=40).encode(
        x=alt.X("column:O", axis=None), y=alt.Y("row:O", axis=None),
        color=alt.Color("what:N", title=None, scale=alt.Scale(domain=list(charts.ICON_CATEGORIES),
                                                              range=list(charts.ICON_COLOURS)),
                        legend=alt.Legend(orient="bottom", labelFontSize=12)),
    ).properties(width=columns * 11, height=math.ceil(total / columns) * 11).configure(**_altair_config()).to_dict()
    return spec


def _altair_reliability(unit: str, rows: list[tuple[float, float, int]]) -> dict[str, Any]:
    import altair as alt
    import pandas as pd

    data = pd.DataFrame(rows, columns=["predicted", "observed", "n"])
    diagonal = alt.Chart(pd.DataFrame({"x": [0, 1], "y": [0, 1]})).mark_line(
        strokeDash=[4, 4], color="#777").encode(x="x:Q", y="y:Q")
    dots = alt.Chart(data).mark_point(filled=True, color=charts.COLOUR).encode(
        x=alt.X("predicted:Q", title="Predicted chance (average in the band)", scale=alt.Scale(domain=[0, 1]),
                axis=alt.Axis(format="%")),
        y=alt.Y("observed:Q", title="How often it happened", scale=alt.Scale(domain=[0, 1]),
                axis=alt.Axis(format="%")),
        size=alt.Size("n:Q", title=f"{unit.capitalize()} in band"))
    spec: dict[str, Any] = (diagonal + dots).properties(width=320, height=320).configure(
        **_altair_config()).to_dict()
    return spec


def _draw(spec: dict[str, Any]) -> str:
    import vl_convert

    svg: str = vl_convert.vegalite_to_svg(spec, allowed_base_urls=[])
    return svg


def _series(values: list[float], start_ms: int = 1_790_000_000_000) -> Series:
    points = tuple(SeriesPoint(i, start_ms + i * 86_400_000 + 3_600_000, v) for i, v in enumerate(values))
    return Series("score", points, Provenance("sqlite:///x", "run", "series", "score"))


@pytest.fixture(autouse=True)
def _no_svg_cache() -> None:
    charts.use_svg_cache(None)


def test_slice_chart_draws_what_altair_drew() -> None:
    confusions = {"small": Confusion(tp=40, fp=5, tn=50, fn=3), "large": Confusion(tp=12, fp=1, tn=8, fn=9),
                  "none": Confusion(tp=0, fp=2, tn=7, fn=0)}
    table = SliceTable("size", tuple(SliceRow(value, c.n, c.positives, c, {"recall": rate("recall", c)},
                                              rate("recall", c)) for value, c in confusions.items()))
    chart = charts.slice_chart("s-size-recall", "Tumour size", "Share of cases found", "recall", table)
    assert chart is not None
    rows = [(value, e.value, e.low or 0.0, e.high or 1.0, c.n) for value, c in confusions.items()
            if (e := rate("recall", c)).value is not None]
    assert [r[0] for r in rows] == ["small", "large"]  # "none" has no positives: no dot
    assert _draw(chart.spec) == _draw(_altair_slice("Tumour size", "Share of cases found", rows))
    # 40 of 43 found: 93%; the alt text says it with its range and the cases behind it (43, not the group's 98).
    assert "small: 93% (likely " in chart.alt and "of 43 cases)" in chart.alt and "98 cases" not in chart.alt


def test_slice_chart_leaves_out_what_the_table_calls_too_few_to_say() -> None:
    confusions = {"small": Confusion(tp=40, fp=5, tn=50, fn=3), "large": Confusion(tp=12, fp=1, tn=8, fn=9)}
    table = SliceTable("size", tuple(SliceRow(value, c.n, c.positives, c, {"recall": rate("recall", c)},
                                              rate("recall", c)) for value, c in confusions.items()))
    chart = charts.slice_chart("s-size-recall", "Tumour size", "Share of cases found", "recall", table, 30)
    assert chart is not None
    assert [v["group"] for v in chart.spec["data"]["values"]] == ["small"]  # large: 21 positives, fewer than 30
    assert "Not drawn, as too few cases lie behind the figure to say: large." in chart.alt
    assert "large" in chart.caption and "large:" not in chart.alt
    only_few = SliceTable("size", table.rows[1:])
    assert charts.slice_chart("s", "Tumour size", "Share of cases found", "recall", only_few, 30) is None


def test_series_and_guarded_charts_draw_what_altair_drew() -> None:
    series = _series([0.31, 0.35, 0.29, 0.52, 0.55])
    chart = charts.series_chart("s-series-score", "Mean score", series)
    assert chart is not None
    assert _draw(chart.spec) == _draw(_altair_series("Mean score", series))
    change = series.points[3].timestamp_ms
    guarded = charts.guarded_series_chart("s-guard", "Mean score", series, 0.2, 0.5, change)
    assert guarded is not None
    assert _draw(guarded.spec) == _draw(_altair_series("Mean score", series, 0.2, 0.5, change, guarded=True))
    one_sided = charts.guarded_series_chart("s-guard", "Mean score", series, None, 0.5, None)
    assert one_sided is not None
    assert _draw(one_sided.spec) == _draw(_altair_series("Mean score", series, None, 0.5, None, guarded=True))
    assert "5 readings, with an upper guardrail at 0.5 shown as dashed lines" in one_sided.alt
    assert charts.series_chart("empty", "x", _series([])) is None


def test_series_alt_text_writes_numbers_as_people_do() -> None:
    jump = _series([150.2, 151.9, 148_656.77, 146_010.0])
    chart = charts.series_chart("s-series", "Average forecast", jump)
    guarded = charts.guarded_series_chart("s-guard", "Average forecast", jump, 100.0, 220.0, None)
    assert chart is not None and guarded is not None
    assert chart.alt.startswith("Line chart of average forecast, 4 readings from ")
    assert chart.alt.endswith("values range from 150 to 148,657, starting at 150 and ending at 146,010.")
    assert ("with a lower guardrail at 100 and an upper guardrail at 220 shown as dashed lines. It starts at 150 "
            "and ends at 146,010.") in guarded.alt
    assert "e+" not in chart.alt + guarded.alt and "points" not in chart.alt


def test_cost_icons_and_calibration_charts_draw_what_altair_drew() -> None:
    thresholds = [i / 20 for i in range(21)]
    costs = [abs(t - 0.3) * 100 + 12.5 for t in thresholds]
    for current in (0.5, None):
        chart = charts.cost_chart("s-cost", "hours", 1000, thresholds, costs, 0.3, current)
        assert _draw(chart.spec) == _draw(_altair_cost("hours", 1000, thresholds, costs, 0.3, current))
    counts = {"found": 112, "false alarm": 9, "missed": 4, "rightly left alone": 875}
    icons = charts.icon_array("s-icons", "patients", counts, {})
    assert _draw(icons.spec) == _draw(_altair_icons(counts))
    assert icons.alt.startswith("Picture of 1,000 patients, one square each: 112 found; 9 false alarm")
    bins = [(0.05, 0.02, 120), (0.5, 0.61, 33), (0.93, 0.97, 80), (0.7, 0.0, 0)]
    calibration = charts.reliability_chart("s-cal", "patients", bins)
    assert calibration is not None
    assert _draw(calibration.spec) == _draw(_altair_reliability("patients", [b for b in bins if b[2] > 0]))


def test_svgs_are_cached_by_spec_and_a_bad_entry_is_redrawn(tmp_path: Path) -> None:
    charts.use_svg_cache(tmp_path)
    chart = charts.series_chart("s-series", "Recall", _series([0.8, 0.82, 0.79]))
    assert chart is not None
    svg = charts.to_svg(chart)
    files = list(tmp_path.glob("*.svg"))
    assert [p.name for p in files] == [f"{charts.spec_hash(chart.spec)}.svg"]
    assert files[0].read_text() == svg
    # A second chart with the same spec under another name is the same drawing: no new file.
    same = charts.Chart("other-name", chart.spec, chart.alt, chart.caption)
    assert charts.to_svg(same) == svg and len(list(tmp_path.glob("*.svg"))) == 1
    # A different spec is drawn and cached separately.
    other = charts.series_chart("s-series", "Recall", _series([0.8, 0.82, 0.6]))
    assert other is not None and charts.to_svg(other) != svg and len(list(tmp_path.glob("*.svg"))) == 2
    # A truncated entry is not served: it is drawn again and replaced.
    files[0].write_text(svg[: len(svg) // 2])
    assert charts.to_svg(chart) == svg
    assert files[0].read_text() == svg
    # The cache serves what it holds (proof that a hit does not draw): a whole, different SVG is returned as is.
    files[0].write_text("<svg><!-- planted --></svg>")
    assert charts.to_svg(chart) == "<svg><!-- planted --></svg>"


def test_a_multiclass_calibration_chart_says_it_is_about_the_calls() -> None:
    bins = [(0.45, 0.52, 21), (0.75, 0.76, 122), (0.2, 0.0, 0)]
    calls = charts.reliability_chart("s-cal", "students", bins, of_calls=True)
    chances = charts.reliability_chart("s-cal", "students", bins)
    assert calls is not None and chances is not None
    assert calls.alt == ("Chart of how sure the model is of the class it calls against how often that call was "
                         "right, one dot per band of certainty: 45% sure, right 52% of the time (21 students); 75% "
                         "sure, right 76% of the time (122 students).")
    assert "face value" not in calls.caption and "right as often as it says it is sure" in calls.caption
    titles = json.dumps(calls.spec)
    assert "How sure it is of its call" in titles and "How often the call was right" in titles
    assert "Predicted chance" not in titles and "How often it happened" not in titles
    # The same dots and axes otherwise: only the words differ from a binary model's chart.
    assert "Predicted chance" in json.dumps(chances.spec) and chances.alt.startswith("Calibration chart")


def test_a_multiclass_story_gets_one_icon_array_per_true_class_with_the_right_call_first() -> None:
    calls = ["need extra support", "need extra challenge", "need neither"]
    rows = [("need extra support", [640, 150, 210]), ("need neither", [40, 60, 900])]
    arrays = charts.class_icon_arrays("s-icons", "students", 1000, rows, calls)
    assert [a.name for a in arrays] == ["s-icons-0", "s-icons-1"]
    first, second = arrays
    assert first.alt == ("Picture of 1,000 students who need extra support, one square each: 640 right: the model "
                         "says need extra support; 150 the model says need extra challenge; 210 the model says need "
                         "neither.")
    assert second.alt.startswith("Picture of 1,000 students who need neither, one square each: 900 right: the model "
                                 "says need neither; 40 the model says need extra support")
    values = first.spec["data"]["values"]
    assert len(values) == 1000 and sum(v["what"].startswith("right: ") for v in values) == 640
    scale = first.spec["encoding"]["color"]["scale"]
    assert scale["range"][0] == "#1b7a3a" and scale["domain"][0].startswith("right: ")
    assert "<svg" in charts.to_svg(first)  # drawn offline


def test_a_series_caption_says_its_time_once() -> None:
    series = _series([0.31, 0.35, 0.29])
    per_day = charts.series_chart("s-series", "Average forecast, per day", series)
    plain_label = charts.series_chart("s-series", "Mean score", series)
    assert per_day is not None and plain_label is not None
    assert per_day.caption == "Average forecast, per day."
    assert plain_label.caption == "Mean score over time."
    assert charts.over_time("Daily sign-ups") == "Daily sign-ups"
    assert charts.over_time("Hours of overtime") == "Hours of overtime over time"  # "overtime" is not a period


def test_the_estimate_chart_draws_each_window_its_range_and_what_the_labels_showed() -> None:
    windows = [charts.EstimatedWindow("2026-09-01", 0.8, 0.74, 0.86, 0.85),
               charts.EstimatedWindow("2026-09-08", 0.55, 0.48, 0.62, None)]
    chart = charts.estimate_chart("s-estimate", "Share of cases found", windows, [0.7])
    assert chart is not None and chart.name == "s-estimate"
    assert chart.alt == ("Chart of share of cases found in 2 production windows, estimated from the scores (a dot "
                         "with its 95% range) and, where the labels are in, as they show it (a red diamond): "
                         "2026-09-01: estimated 74% to 86%, labels show 85%; 2026-09-08: estimated 48% to 62%. "
                         "Dashed lines mark the story's guardrails at 70%.")
    layers = chart.spec["layer"]
    assert [layer["mark"]["type"] for layer in layers] == ["rule", "point", "point", "rule"]
    assert layers[2]["data"]["values"] == [{"window": "2026-09-01", "realised": 0.85}]
    svg = charts.to_svg(chart)
    assert "<svg" in svg and "2026-09-08" in svg
    assert charts.estimate_chart("s-estimate", "Share of cases found", [], []) is None
