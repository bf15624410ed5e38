"""Charts as static SVG: Altair builds the Vega-Lite spec, vl-convert draws it offline.

Every chart comes with alt text that states what it shows, so a reader who cannot see it loses nothing.
Data is always inline; nothing is fetched.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from storybook.analyse.classification import SliceTable
from storybook.analyse.plain import format_date, format_percent
from storybook.resolve.resolved import Series

__all__ = ["Chart", "series_chart", "slice_chart", "to_svg"]

FONT = "DejaVu Sans"
COLOUR = "#1f5f8b"


@dataclass(frozen=True)
class Chart:
    name: str
    spec: dict[str, Any]
    alt: str
    caption: str


def _config() -> dict[str, Any]:
    return {
        "font": FONT,
        "axis": {"labelFontSize": 12, "titleFontSize": 12, "labelColor": "#222", "titleColor": "#222"},
        "view": {"stroke": None},
    }


def slice_chart(name: str, label: str, kind_label: str, kind: str, table: SliceTable) -> Chart | None:
    """A dot per group with its 95% interval as a bar."""
    import altair as alt

    rows: list[tuple[str, float, float, float, int]] = [
        (row.value, est.value, est.low or 0.0, est.high or 1.0, row.n)
        for row in table.rows
        if (est := row.rates[kind]).value is not None
    ]
    if not rows:
        return None
    data = pd.DataFrame(rows, columns=["group", "value", "low", "high", "n"])
    base = alt.Chart(data).encode(y=alt.Y("group:N", title=label, sort=None))
    bars = base.mark_rule(strokeWidth=3, color="#8fb3cc").encode(
        x=alt.X("low:Q", title=f"{kind_label} (dot), with its likely range (bar)",
                scale=alt.Scale(domain=[0, 1]), axis=alt.Axis(format="%")),
        x2="high:Q",
    )
    dots = base.mark_point(filled=True, size=90, color=COLOUR).encode(x="value:Q")
    chart = (bars + dots).properties(width=420, height=max(60, 36 * len(rows))).configure(**_config())
    parts = "; ".join(
        f"{group}: {format_percent(value)} (likely {format_percent(low)} to {format_percent(high)}, {n} cases)"
        for group, value, low, high, n in rows)
    alt_text = f"Chart of {kind_label.lower()} by {label.lower()}. {parts}."
    caption = f"{kind_label} for each group of {label.lower()}. Bars show the range the evaluation supports."
    return Chart(name=name, spec=chart.to_dict(), alt=alt_text, caption=caption)


def series_chart(name: str, label: str, series: Series) -> Chart | None:
    """A line over time for a logged metric history."""
    import altair as alt

    if not series.points:
        return None
    data = pd.DataFrame({
        "day": [pd.Timestamp(p.timestamp_ms, unit="ms").strftime("%Y-%m-%d") for p in series.points],
        "value": [p.value for p in series.points],
    })
    chart = alt.Chart(data).mark_line(point=True, color=COLOUR).encode(
        x=alt.X("day:T", title="Date"), y=alt.Y("value:Q", title=label),
    ).properties(width=520, height=200).configure(**_config())
    first, last = series.points[0], series.points[-1]
    low = min(p.value for p in series.points)
    high = max(p.value for p in series.points)
    alt_text = (f"Line chart of {label.lower()} over {len(series.points)} points from "
                f"{format_date(first.timestamp_ms)} to {format_date(last.timestamp_ms)}; values range from "
                f"{low:.3g} to {high:.3g}, starting at {first.value:.3g} and ending at {last.value:.3g}.")
    return Chart(name=name, spec=chart.to_dict(), alt=alt_text, caption=f"{label} over time.")


def to_svg(chart: Chart) -> str:
    import vl_convert

    svg: str = vl_convert.vegalite_to_svg(chart.spec, allowed_base_urls=[])
    return svg


def cost_chart(name: str, unit: str, per: int, thresholds: list[float], costs: list[float],
               best: float, current: float | None) -> Chart:
    """Expected cost against the threshold, with the best and the current threshold marked."""
    import altair as alt

    curve = pd.DataFrame({"threshold": thresholds, "cost": costs})
    line = alt.Chart(curve).mark_line(color=COLOUR).encode(
        x=alt.X("threshold:Q", title="Threshold (score at or above which the model flags)",
                scale=alt.Scale(domain=[0, 1])),
        y=alt.Y("cost:Q", title=f"Expected cost per {per:,} ({unit})"),
    )
    marks = [{"threshold": best, "label": "lowest cost"}]
    if current is not None:
        marks.append({"threshold": current, "label": "in use now"})
    rules = alt.Chart(pd.DataFrame(marks)).mark_rule(strokeDash=[4, 3], strokeWidth=2).encode(
        x="threshold:Q",
        color=alt.Color("label:N", title=None, scale=alt.Scale(domain=["lowest cost", "in use now"],
                                                                range=["#1b7a3a", "#a3441b"])),
    )
    chart = (line + rules).properties(width=520, height=220).configure(**_config())
    lowest = min(costs) if costs else 0.0
    current_text = f"; the threshold in use now is {current:.2f}" if current is not None else ""
    alt_text = (f"Line chart of the expected cost per {per:,} in {unit} for every threshold from 0 to 1. "
                f"The cost is lowest, {lowest:,.0f}, at threshold {best:.2f}{current_text}.")
    return Chart(name=name, spec=chart.to_dict(), alt=alt_text,
                 caption=f"Expected cost per {per:,} at each threshold. Dashed lines: the lowest-cost threshold "
                 "and the one in use now.")


ICON_CATEGORIES = ("found", "false alarm", "missed", "rightly left alone")
ICON_COLOURS = ("#1b7a3a", "#e0a100", "#b3261e", "#c9d3dc")


def icon_array(name: str, unit: str, counts: dict[str, int], descriptions: dict[str, str]) -> Chart:
    """One square per person out of the population, coloured by what happens to them."""
    import math

    import altair as alt

    total = sum(counts.values())
    columns = max(10, math.ceil(math.sqrt(total * 1.6)))
    cells = []
    for category in ICON_CATEGORIES:
        cells += [category] * counts.get(category, 0)
    data = pd.DataFrame({
        "column": [i % columns for i in range(len(cells))],
        "row": [i // columns for i in range(len(cells))],
        "what": cells,
    })
    chart = alt.Chart(data).mark_square(size=40).encode(
        x=alt.X("column:O", axis=None), y=alt.Y("row:O", axis=None),
        color=alt.Color("what:N", title=None, scale=alt.Scale(domain=list(ICON_CATEGORIES),
                                                              range=list(ICON_COLOURS)),
                        legend=alt.Legend(orient="bottom", labelFontSize=12)),
    ).properties(width=columns * 11, height=math.ceil(total / columns) * 11).configure(**_config())
    parts = "; ".join(f"{counts.get(c, 0):,} {descriptions.get(c, c)}" for c in ICON_CATEGORIES)
    alt_text = f"Picture of {total:,} {unit}, one square each: {parts}."
    return Chart(name=name, spec=chart.to_dict(), alt=alt_text,
                 caption=f"What happens to {total:,} {unit}, one square each.")


def guarded_series_chart(name: str, label: str, series: Series, lower: float | None, upper: float | None,
                         change_ms: int | None) -> Chart | None:
    """A production series with its guardrails (dashed) and the day it changed (a red rule)."""
    import altair as alt

    if not series.points:
        return None
    data = pd.DataFrame({
        "day": [pd.Timestamp(p.timestamp_ms, unit="ms").strftime("%Y-%m-%d") for p in series.points],
        "value": [p.value for p in series.points],
    })
    layers = [alt.Chart(data).mark_line(point=True, color=COLOUR).encode(
        x=alt.X("day:T", title="Date"), y=alt.Y("value:Q", title=label))]
    bounds = [b for b in (lower, upper) if b is not None]
    if bounds:
        layers.append(alt.Chart(pd.DataFrame({"bound": bounds})).mark_rule(
            strokeDash=[6, 4], color="#555").encode(y="bound:Q"))
    if change_ms is not None:
        day = pd.Timestamp(change_ms, unit="ms").strftime("%Y-%m-%d")
        layers.append(alt.Chart(pd.DataFrame({"day": [day]})).mark_rule(color="#b3261e", strokeWidth=2)
                      .encode(x="day:T"))
    chart = alt.layer(*layers).properties(width=520, height=200).configure(**_config())
    first, last = series.points[0], series.points[-1]
    guard = " and ".join(f"{word} guardrail at {bound:g}" for word, bound in (("a lower", lower), ("an upper", upper))
                         if bound is not None)
    change = f"; a red line marks the change on {format_date(change_ms)}" if change_ms is not None else ""
    alt_text = (f"Line chart of {label.lower()} from {format_date(first.timestamp_ms)} to "
                f"{format_date(last.timestamp_ms)}, {len(series.points)} readings, with {guard or 'no guardrail'} "
                f"shown as dashed lines{change}. It starts at {first.value:.3g} and ends at {last.value:.3g}.")
    return Chart(name=name, spec=chart.to_dict(), alt=alt_text,
                 caption=f"{label}, with the guardrails the story declares (dashed) and any change found (red).")


def reliability_chart(name: str, unit: str, bins: list[tuple[float, float, int]]) -> Chart | None:
    """Predicted chance against what happened, one dot per band of scores; the diagonal is perfect."""
    import altair as alt

    rows = [(score, observed, n) for score, observed, n in bins if n > 0]
    if not rows:
        return None
    data = pd.DataFrame(rows, columns=["predicted", "observed", "n"])
    diagonal = alt.Chart(pd.DataFrame({"x": [0, 1], "y": [0, 1]})).mark_line(
        strokeDash=[4, 4], color="#777").encode(x="x:Q", y="y:Q")
    dots = alt.Chart(data).mark_point(filled=True, color=COLOUR).encode(
        x=alt.X("predicted:Q", title="Predicted chance (average in the band)", scale=alt.Scale(domain=[0, 1]),
                axis=alt.Axis(format="%")),
        y=alt.Y("observed:Q", title="How often it happened", scale=alt.Scale(domain=[0, 1]),
                axis=alt.Axis(format="%")),
        size=alt.Size("n:Q", title=f"{unit.capitalize()} in band"),
    )
    chart = (diagonal + dots).properties(width=320, height=320).configure(**_config())
    parts = "; ".join(f"predicted {format_percent(p)}, happened {format_percent(o)} ({n} {unit})"
                      for p, o, n in rows)
    return Chart(name=name, spec=chart.to_dict(), alt=f"Calibration chart, one dot per band of scores: {parts}.",
                 caption="Dots on the dashed diagonal mean the predicted chances can be taken at face value.")
