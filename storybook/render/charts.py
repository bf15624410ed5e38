"""Charts as static SVG: plain Vega-Lite specs (dicts), drawn offline by vl-convert.

Every chart comes with alt text that states what it shows, so a reader who cannot see it loses nothing.
Data is always inline; nothing is fetched.

The specs are written as plain dicts, in the shape Altair would produce (its default view config, the same
``$schema``), without building Altair objects or validating each spec against the schema: that cost about
16 ms a chart. ``tests/render/test_charts.py`` checks that every chart draws the same SVG as the Altair
version did. Drawn SVGs can be cached on disk by a hash of their spec (:func:`use_svg_cache`), so a story that
is rendered again reuses the charts that did not change.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import os
import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from storybook.analyse.plain import amount_number, format_date, format_percent, in_sentence
from storybook.files import cache_secret, file_mode
from storybook.resolve.figures import Series, SeriesPoint
from storybook.text_controls import BREAKS, UNDRAWABLE

if TYPE_CHECKING:
    from storybook.analyse.classification import SliceTable

__all__ = [
    "Chart",
    "EstimatedWindow",
    "class_calls_chart",
    "class_icon_arrays",
    "cost_chart",
    "drawable",
    "error_histogram_chart",
    "estimate_chart",
    "forecast_icon_array",
    "guarded_series_chart",
    "icon_array",
    "reliability_chart",
    "residuals_chart",
    "series_chart",
    "slice_chart",
    "thinned",
    "to_svg",
    "use_svg_cache",
]

FONT = "DejaVu Sans"
COLOUR = "#1f5f8b"
# The Vega-Lite version the specs are written for (the one Altair 6 names); vl-convert reads it from here.
SCHEMA = "https://vega.github.io/schema/vega-lite/v6.4.1.json"
DAY_MS = 86_400_000
# A line drawn from more readings than this is thinned (the lowest and highest of each stretch): a million points
# ran the chart engine out of memory, and a page can show no more detail than this anyway.
MAX_LINE_POINTS = 2_000


@dataclass(frozen=True)
class Chart:
    name: str
    spec: dict[str, Any]
    alt: str
    caption: str


def _config() -> dict[str, Any]:
    return {
        "view": {"continuousWidth": 300, "continuousHeight": 300, "stroke": None},
        "axis": {"labelFontSize": 12, "titleFontSize": 12, "labelColor": "#222", "titleColor": "#222"},
        "font": FONT,
    }


def _spec(body: dict[str, Any], width: int, height: int) -> dict[str, Any]:
    return {"config": _config(), **body, "height": height, "width": width, "$schema": SCHEMA}


def _field(name: str, kind: str, **extra: Any) -> dict[str, Any]:
    return {"field": name, **extra, "type": kind}


def _day(timestamp_ms: int) -> str:
    """The UTC calendar day of a timestamp, as Vega-Lite reads dates (YYYY-MM-DD)."""
    return (date(1970, 1, 1) + timedelta(days=timestamp_ms // DAY_MS)).isoformat()


def slice_chart(name: str, label: str, kind_label: str, kind: str, table: SliceTable,
                min_count: int = 1) -> Chart | None:
    """A dot per group with its 95% interval as a bar.

    A group with fewer than ``min_count`` cases behind the share (the wording rules' "too few cases to say") is
    not drawn, so the chart never shows a figure the table beside it declines to tell; the alt text and the
    caption name such groups. Counts are the cases behind the share (its denominator), not the group's size.
    """
    rows: list[tuple[str, float, float, float, int]] = []
    too_few: list[str] = []
    for row in table.rows:
        estimate = row.rates[kind]
        if estimate.value is None or estimate.n < min_count:
            too_few.append(row.value)
            continue
        low = estimate.low if estimate.low is not None else estimate.value
        high = estimate.high if estimate.high is not None else estimate.value
        rows.append((row.value, estimate.value, low, high, estimate.n))
    if not rows:
        return None
    values = [{"group": group, "value": value, "low": low, "high": high, "n": n}
              for group, value, low, high, n in rows]
    y = _field("group", "nominal", sort=None, title=label)
    bars = {"mark": {"type": "rule", "color": "#8fb3cc", "strokeWidth": 3},
            "encoding": {"x": _field("low", "quantitative", axis={"format": "%"}, scale={"domain": [0, 1]},
                                     title=f"{kind_label} (dot), with its likely range (bar)"),
                         "x2": {"field": "high"}, "y": y}}
    dots = {"mark": {"type": "point", "color": COLOUR, "filled": True, "size": 90},
            "encoding": {"x": _field("value", "quantitative"), "y": y}}
    spec = _spec({"data": {"values": values}, "layer": [bars, dots]}, 420, max(60, 36 * len(rows)))
    parts = "; ".join(
        f"{group}: {format_percent(value)} (likely {format_percent(low)} to {format_percent(high)}, of {n:,} cases)"
        for group, value, low, high, n in rows)
    left_out = (f" Not drawn, as too few cases lie behind the figure to say: {', '.join(too_few)}."
                if too_few else "")
    alt_text = f"Chart of {in_sentence(kind_label)} by {in_sentence(label)}. {parts}.{left_out}"
    caption = (f"{kind_label} for each group of {in_sentence(label)}. Bars show the range the evaluation supports."
               f"{left_out}")
    return Chart(name=name, spec=spec, alt=alt_text, caption=caption)


def _line(values: list[dict[str, Any]], label: str) -> dict[str, Any]:
    return {"data": {"values": values}, "mark": {"type": "line", "color": COLOUR, "point": True},
            "encoding": {"x": _field("day", "temporal", title="Date"),
                         "y": _field("value", "quantitative", title=label)}}


def thinned(points: Sequence[SeriesPoint]) -> list[SeriesPoint]:
    """At most :data:`MAX_LINE_POINTS` of ``points``, in order: all of them when few enough, else the lowest and
    the highest reading of each of ``MAX_LINE_POINTS // 2`` equal stretches, so every peak and dip still shows."""
    if len(points) <= MAX_LINE_POINTS:
        return list(points)
    stretches = MAX_LINE_POINTS // 2
    kept: list[SeriesPoint] = []
    for number in range(stretches):
        stretch = points[number * len(points) // stretches:(number + 1) * len(points) // stretches]
        finite = [p for p in stretch if math.isfinite(p.value)] or list(stretch[:1])
        low = min(finite, key=lambda p: p.value)
        high = max(finite, key=lambda p: p.value)
        kept += sorted({id(low): low, id(high): high}.values(), key=lambda p: (p.timestamp_ms, p.step))
    return kept


def _thinning_note(drawn: int, total: int) -> str:
    if drawn == total:
        return ""
    return (f" The line is thinned to {drawn:,} of the {total:,} readings (the lowest and the highest of each "
            f"stretch of about {round(total / (MAX_LINE_POINTS // 2)):,}); every reading is in the metric's "
            "history in MLflow, named in the sources.")


_SAYS_ITS_TIME = re.compile(r"\b(per|each|every|a) (minute|hour|day|week|month|quarter|year)\b|\b(hourly|daily|"
                            r"weekly|monthly|quarterly|yearly|over time)\b", re.IGNORECASE)


def over_time(label: str) -> str:
    """A series' label with "over time" added, unless the label already says its time ("..., per day")."""
    return label if _SAYS_ITS_TIME.search(label) else f"{label} over time"


def series_chart(name: str, label: str, series: Series) -> Chart | None:
    """A line over time for a logged metric history (thinned when very long, as its caption says)."""
    if not series.points:
        return None
    drawn = thinned(series.points)
    values = [{"day": _day(p.timestamp_ms), "value": p.value} for p in drawn]
    spec = _spec(_line(values, label), 520, 200)
    first, last = series.points[0], series.points[-1]
    low = min(p.value for p in series.points)
    high = max(p.value for p in series.points)
    # Numbers as people write them ("155,000", never "1.55e+05"); "readings", since "points" may be the unit.
    alt_text = (f"Line chart of {in_sentence(label)}, {len(series.points):,} readings from "
                f"{format_date(first.timestamp_ms)} to {format_date(last.timestamp_ms)}; values range from "
                f"{amount_number(low)} to {amount_number(high)}, starting at {amount_number(first.value)} and ending "
                f"at {amount_number(last.value)}.")
    return Chart(name=name, spec=spec, alt=alt_text,
                 caption=f"{over_time(label)}.{_thinning_note(len(drawn), len(series.points))}")


def cost_chart(name: str, unit: str, per: int, thresholds: list[float], costs: list[float],
               best: float, current: float | None, *, best_text: str | None = None, best_cost: float | None = None,
               current_text: str | None = None, capacity: int | None = None) -> Chart:
    """Expected cost against the threshold, with the best and the current threshold marked.

    ``best`` is the threshold the story recommends (within ``capacity`` flagged per ``per``, when given) and
    ``best_cost`` its cost; the ``*_text`` values are the thresholds as the page prints them.
    """
    label = "lowest cost" if capacity is None else "lowest cost within the limit"
    curve = [{"threshold": t, "cost": c} for t, c in zip(thresholds, costs, strict=True)]
    marks: list[dict[str, Any]] = [{"threshold": best, "label": label}]
    if current is not None:
        marks.append({"threshold": current, "label": "in use now"})
    line = {"data": {"values": curve}, "mark": {"type": "line", "color": COLOUR},
            "encoding": {"x": _field("threshold", "quantitative", scale={"domain": [0, 1]},
                                     title="Threshold (score at or above which the model flags)"),
                         "y": _field("cost", "quantitative", title=f"Expected cost per {per:,} ({unit})")}}
    rules = {"data": {"values": marks}, "mark": {"type": "rule", "strokeDash": [4, 3], "strokeWidth": 2},
             "encoding": {"color": _field("label", "nominal", scale={"domain": [label, "in use now"],
                                                                      "range": ["#1b7a3a", "#a3441b"]},
                                          title=None),
                          "x": _field("threshold", "quantitative")}}
    spec = _spec({"layer": [line, rules]}, 520, 220)
    lowest = best_cost if best_cost is not None else (min(costs) if costs else 0.0)
    shown_best = best_text if best_text is not None else f"{best:.2f}"
    shown_current = current_text if current_text is not None else f"{current:.2f}" if current is not None else ""
    current_words = f"; the threshold in use now is {shown_current}" if current is not None else ""
    within = "" if capacity is None else f" among thresholds that flag at most {capacity:,} per {per:,}"
    alt_text = (f"Line chart of the expected cost per {per:,} in {unit} for every threshold from 0 to 1. "
                f"The cost is lowest{within}, {lowest:,.0f}, at threshold {shown_best}{current_words}.")
    which = "the lowest-cost threshold" if capacity is None else "the lowest-cost threshold within the limit"
    return Chart(name=name, spec=spec, alt=alt_text,
                 caption=f"Expected cost per {per:,} at each threshold. Dashed lines: {which} and the one in use now.")


ICON_CATEGORIES = ("found", "false alarm", "missed", "rightly left alone")
ICON_COLOURS = ("#1b7a3a", "#e0a100", "#b3261e", "#c9d3dc")


def _squares(name: str, counts: Sequence[tuple[str, int]], colours: Sequence[str], alt: str, caption: str,
             *, long_labels: bool = False) -> Chart:
    """One square per person (or forecast), coloured by what happens to them: ``counts`` in drawing order."""
    total = sum(count for _, count in counts)
    columns = max(10, math.ceil(math.sqrt(total * 1.6)))
    cells = [what for what, count in counts for _ in range(count)]
    values = [{"column": i % columns, "row": i // columns, "what": what} for i, what in enumerate(cells)]
    legend: dict[str, Any] = {"labelFontSize": 12, "orient": "bottom"}
    if long_labels:
        legend |= {"labelLimit": 400, "columns": 1}
    spec = _spec({"data": {"values": values}, "mark": {"type": "square", "size": 40},
                  "encoding": {"color": _field("what", "nominal", legend=legend, title=None,
                                               scale={"domain": [what for what, _ in counts],
                                                      "range": list(colours)[:len(counts)]}),
                               "x": _field("column", "ordinal", axis=None),
                               "y": _field("row", "ordinal", axis=None)}},
                 columns * 11, math.ceil(total / columns) * 11)
    parts = "; ".join(f"{count:,} {what}" for what, count in counts)
    return Chart(name=name, spec=spec, alt=f"{alt}, one square each: {parts}.", caption=caption)


def icon_array(name: str, unit: str, counts: dict[str, int], descriptions: dict[str, str]) -> Chart:
    """One square per person out of the population, coloured by what happens to them."""
    total = sum(counts.values())
    return _squares(name, [(descriptions.get(c, c), counts.get(c, 0)) for c in ICON_CATEGORIES], ICON_COLOURS,
                    f"Picture of {total:,} {unit}", f"What happens to {total:,} {unit}, one square each.")


def forecast_icon_array(name: str, within: int, too_high: int, too_low: int, tolerance: str) -> Chart:
    """Natural frequencies of a regression story's forecasts: one square per forecast out of ``within +
    too_high + too_low``, coloured by whether it landed within ``tolerance`` ("25 points") of what happened."""
    counts = [(f"within {tolerance}", within), (f"more than {tolerance} too high", too_high),
              (f"more than {tolerance} too low", too_low)]
    total = within + too_high + too_low
    return _squares(name, counts, ("#1b7a3a", "#e0a100", "#b3261e"), f"Picture of {total:,} forecasts",
                    f"Where {total:,} forecasts land, one square each.")


# Colours of a multiclass story's calls: the right call green, the wrong ones in order (then grey).
_CALL_COLOURS = ("#e0a100", "#b3261e", "#6a3d9a", "#1f78b4", "#c9d3dc")


def class_icon_arrays(name: str, unit: str, per: int, rows: Sequence[tuple[str, Sequence[int]]],
                      calls: Sequence[str]) -> list[Chart]:
    """A multiclass story's calls as icon arrays, one per true class: ``per`` of the ``unit`` who ``truth``, one
    square each, coloured by what the model says of them (the right call first, in green). ``rows`` as for
    :func:`class_calls_chart` (the true class in words, its counts per call in the order of ``calls``; the true
    class is ``calls[i]`` for row i of the story's classes, matched by words)."""
    charts = []
    for index, (truth, counts) in enumerate(rows):
        right = calls.index(truth) if truth in calls else -1
        order = ([right] if right >= 0 else []) + [c for c in range(len(calls)) if c != right]
        shown = [(("right: " if c == right else "") + f"the model says {calls[c]}", counts[c]) for c in order]
        colours = (["#1b7a3a"] if right >= 0 else []) + [
            _CALL_COLOURS[min(i, len(_CALL_COLOURS) - 1)] for i in range(len(calls))]
        charts.append(_squares(f"{name}-{index}", shown, colours, f"Picture of {per:,} {unit} who {truth}",
                               f"Of every {per:,} {unit} who {truth}: what the model says, one square each.",
                               long_labels=True))
    return charts


def guarded_series_chart(name: str, label: str, series: Series, lower: float | None, upper: float | None,
                         change_ms: int | None) -> Chart | None:
    """A production series with its guardrails (dashed) and the day it changed (a red rule); thinned when very
    long, as its caption says."""
    if not series.points:
        return None
    drawn = thinned(series.points)
    values = [{"day": _day(p.timestamp_ms), "value": p.value} for p in drawn]
    layers = [_line(values, label)]
    bounds = [b for b in (lower, upper) if b is not None]
    if bounds:
        layers.append({"data": {"values": [{"bound": b} for b in bounds]},
                       "mark": {"type": "rule", "color": "#555", "strokeDash": [6, 4]},
                       "encoding": {"y": _field("bound", "quantitative")}})
    if change_ms is not None:
        layers.append({"data": {"values": [{"day": _day(change_ms)}]},
                       "mark": {"type": "rule", "color": "#b3261e", "strokeWidth": 2},
                       "encoding": {"x": _field("day", "temporal")}})
    spec = _spec({"layer": layers}, 520, 200)
    first, last = series.points[0], series.points[-1]
    guard = " and ".join(f"{word} guardrail at {amount_number(bound)}"
                         for word, bound in (("a lower", lower), ("an upper", upper)) if bound is not None)
    change = f"; a red line marks the change on {format_date(change_ms)}" if change_ms is not None else ""
    alt_text = (f"Line chart of {in_sentence(label)} from {format_date(first.timestamp_ms)} to "
                f"{format_date(last.timestamp_ms)}, {len(series.points):,} readings, with {guard or 'no guardrail'} "
                f"shown as dashed lines{change}. It starts at {amount_number(first.value)} and ends at "
                f"{amount_number(last.value)}.")
    return Chart(name=name, spec=spec, alt=alt_text,
                 caption=f"{label}, with the guardrails the story declares (dashed) and any change found (red)."
                 f"{_thinning_note(len(drawn), len(series.points))}")


def reliability_chart(name: str, unit: str, bins: list[tuple[float, float, int]], *,
                      of_calls: bool = False) -> Chart | None:
    """Predicted chance against what happened, one dot per band of scores; the diagonal is perfect.

    ``of_calls``: the bands are of a multiclass model's chance of the class it calls (top-label calibration),
    so the axes, alt text and caption say how sure it is of its call against how often the call was right."""
    rows = [(score, observed, n) for score, observed, n in bins if n > 0]
    if not rows:
        return None
    diagonal = {"data": {"values": [{"x": 0, "y": 0}, {"x": 1, "y": 1}]},
                "mark": {"type": "line", "color": "#777", "strokeDash": [4, 4]},
                "encoding": {"x": _field("x", "quantitative"), "y": _field("y", "quantitative")}}
    percent_axis = {"format": "%"}
    x_title, y_title = (("How sure it is of its call (average in the band)", "How often the call was right")
                        if of_calls else ("Predicted chance (average in the band)", "How often it happened"))
    dots = {"data": {"values": [{"predicted": p, "observed": o, "n": n} for p, o, n in rows]},
            "mark": {"type": "point", "color": COLOUR, "filled": True},
            "encoding": {"size": _field("n", "quantitative", title=f"{unit.capitalize()} in band"),
                         "x": _field("predicted", "quantitative", axis=percent_axis, scale={"domain": [0, 1]},
                                     title=x_title),
                         "y": _field("observed", "quantitative", axis=percent_axis, scale={"domain": [0, 1]},
                                     title=y_title)}}
    spec = _spec({"layer": [diagonal, dots]}, 320, 320)
    if of_calls:
        parts = "; ".join(f"{format_percent(p)} sure, right {format_percent(o)} of the time ({n} {unit})"
                          for p, o, n in rows)
        return Chart(name=name, spec=spec,
                     alt=f"Chart of how sure the model is of the class it calls against how often that call was "
                         f"right, one dot per band of certainty: {parts}.",
                     caption="Dots on the dashed diagonal mean the model is right as often as it says it is sure "
                             "of its call.")
    parts = "; ".join(f"predicted {format_percent(p)}, happened {format_percent(o)} ({n} {unit})"
                      for p, o, n in rows)
    return Chart(name=name, spec=spec, alt=f"Calibration chart, one dot per band of scores: {parts}.",
                 caption="Dots on the dashed diagonal mean the predicted chances can be taken at face value.")


@dataclass(frozen=True)
class EstimatedWindow:
    """One production window on the estimate chart: the estimated share and its 95% range, and what the labels
    showed once in (None before)."""

    window: str
    estimate: float
    low: float
    high: float
    realised: float | None


def estimate_chart(name: str, label: str, windows: Sequence[EstimatedWindow], bounds: Sequence[float]) -> Chart | None:
    """Each production window's estimated share (a dot with its 95% range as a bar) and, where the labels are in,
    the share they show (a red diamond); the story's guardrails on the figure as dashed lines."""
    if not windows:
        return None
    order = [w.window for w in windows]
    x = _field("window", "ordinal", sort=order, title="Production window", axis={"labelAngle": -40})
    share = {"format": "%"}
    estimated = [{"window": w.window, "estimate": w.estimate, "low": w.low, "high": w.high} for w in windows]
    layers: list[dict[str, Any]] = [
        {"data": {"values": estimated}, "mark": {"type": "rule", "color": COLOUR, "strokeWidth": 2},
         "encoding": {"x": x, "y": _field("low", "quantitative", axis=share, scale={"domain": [0, 1]},
                                          title=label), "y2": {"field": "high"}}},
        {"data": {"values": estimated}, "mark": {"type": "point", "color": COLOUR, "filled": True, "size": 50},
         "encoding": {"x": x, "y": _field("estimate", "quantitative")}},
    ]
    realised = [{"window": w.window, "realised": w.realised} for w in windows if w.realised is not None]
    if realised:
        layers.append({"data": {"values": realised},
                       "mark": {"type": "point", "shape": "diamond", "color": "#b3261e", "filled": True, "size": 70},
                       "encoding": {"x": x, "y": _field("realised", "quantitative")}})
    if bounds:
        layers.append({"data": {"values": [{"bound": b} for b in bounds]},
                       "mark": {"type": "rule", "color": "#555", "strokeDash": [6, 4]},
                       "encoding": {"y": _field("bound", "quantitative")}})
    spec = _spec({"layer": layers}, 520, 220)
    parts = []
    for w in windows:
        told = f"{w.window}: estimated {format_percent(w.low)} to {format_percent(w.high)}"
        parts.append(told + (f", labels show {format_percent(w.realised)}" if w.realised is not None else ""))
    guard = (f" Dashed lines mark the story's guardrails at {', '.join(format_percent(b) for b in bounds)}."
             if bounds else "")
    alt_text = (f"Chart of {in_sentence(label)} in {len(windows):,} production windows, estimated from the scores "
                f"(a dot with its 95% range) and, where the labels are in, as they show it (a red diamond): "
                f"{'; '.join(parts)}.{guard}")
    caption = (f"{label}: estimated from the scores before the labels are in (blue, with its 95% range) and as "
               "the labels show it once they are in (red).")
    return Chart(name=name, spec=spec, alt=alt_text, caption=caption)


def error_histogram_chart(name: str, amount_unit: str, edges: Sequence[float], counts: Sequence[int],
                          too_high: int, too_low: int, beyond: int = 0) -> Chart | None:
    """How many forecasts missed by how much (forecast - what happened): bars right of 0 were too high."""
    if not counts or sum(counts) == 0:
        return None
    bars = [{"from": low, "to": high, "forecasts": count}
            for low, high, count in zip(edges[:-1], edges[1:], counts, strict=True)]
    zero = {"data": {"values": [{"x": 0}]}, "mark": {"type": "rule", "color": "#777", "strokeDash": [4, 4]},
            "encoding": {"x": _field("x", "quantitative")}}
    layer = {"data": {"values": bars}, "mark": {"type": "bar", "color": COLOUR},
             "encoding": {"x": _field("from", "quantitative", bin={"binned": True},
                                      title=f"Forecast minus what happened ({amount_unit})"),
                          "x2": {"field": "to"},
                          "y": _field("forecasts", "quantitative", title="Forecasts")}}
    spec = _spec({"layer": [layer, zero]}, 480, 220)
    total = sum(counts) + beyond
    peak = max(range(len(counts)), key=lambda i: counts[i])
    left_out = (f" The {beyond:,} largest misses, beyond {amount_number(edges[0])} to {amount_number(edges[-1])} "
                f"{amount_unit}, are left out of the bars." if beyond else "")
    scale = max(abs(edges[peak]), abs(edges[peak + 1]))

    def miss(edge: float) -> str:  # "8 points too low", never "-8.04 points"
        told = amount_number(abs(edge), scale)
        return "no miss" if told == "0" else f"{told} {amount_unit} too {'high' if edge > 0 else 'low'}"

    alt = (f"Bar chart of how far {total:,} forecasts landed from what happened: {too_high:,} were too high and "
           f"{too_low:,} too low; the tallest bar, {counts[peak]:,} forecasts, covers misses from "
           f"{miss(edges[peak])} to {miss(edges[peak + 1])}.{left_out}")
    return Chart(name=name, spec=spec, alt=alt,
                 caption="Right of the dashed line the forecast was too high; left of it, too low." + left_out)


def residuals_chart(name: str, amount_unit: str, points: Sequence[tuple[float, float]], total: int) -> Chart | None:
    """Each forecast against its miss (forecast - what happened): a pattern means the misses depend on the size
    of the forecast."""
    if not points:
        return None
    dots = {"data": {"values": [{"forecast": f, "miss": m} for f, m in points]},
            "mark": {"type": "point", "color": COLOUR, "opacity": 0.5, "size": 12},
            "encoding": {"x": _field("forecast", "quantitative", title=f"Forecast ({amount_unit})",
                                     scale={"zero": False}),
                         "y": _field("miss", "quantitative", title=f"Forecast minus what happened ({amount_unit})")}}
    zero = {"data": {"values": [{"y": 0}]}, "mark": {"type": "rule", "color": "#777", "strokeDash": [4, 4]},
            "encoding": {"y": _field("y", "quantitative")}}
    spec = _spec({"layer": [dots, zero]}, 480, 260)
    drawn = len(points)
    sample = "" if drawn == total else f" (a random sample of {drawn:,} of the {total:,} forecasts)"
    high = sum(1 for _, m in points if m > 0)
    return Chart(name=name, spec=spec,
                 alt=f"Scatter chart of {drawn:,} forecasts{sample} against how far each missed: {high:,} above "
                     f"the zero line (too high), {sum(1 for _, m in points if m < 0):,} below it (too low).",
                 caption="Dots above the dashed line were forecasts that were too high, below it too low" + sample
                         + ".")


def class_calls_chart(name: str, unit: str, per: int, rows: Sequence[tuple[str, Sequence[int]]],
                      calls: Sequence[str]) -> Chart | None:
    """A multiclass story's calls as natural frequencies: one bar per true class, of ``per`` of its ``unit``,
    split by what the model says of them (``rows``: the true class in words and its counts per call, in the order
    of ``calls``). Classes with too few rows to tell are left out by the caller (the caption says so)."""
    if not rows:
        return None
    values = [{"truth": truth, "call": calls[c], "count": count, "order": c}
              for truth, counts in rows for c, count in enumerate(counts) if count]
    spec = _spec({"data": {"values": values}, "mark": {"type": "bar"},
                  "encoding": {"y": _field("truth", "nominal", sort=None, title=f"{unit.capitalize()} who ..."),
                               "x": _field("count", "quantitative", stack="zero",
                                           title=f"What the model says, of every {per:,}"),
                               "color": _field("call", "nominal", sort=list(calls), title="The model says",
                                               scale={"domain": list(calls)},
                                               legend={"orient": "bottom", "labelLimit": 400, "columns": 1}),
                               "order": _field("order", "quantitative")}},
                 480, max(60, 40 * len(rows)))
    parts = "; ".join(f"of every {per:,} {unit} who {truth}: " + ", ".join(
        f"{count:,} {calls[c]}" for c, count in enumerate(counts)) for truth, counts in rows)
    return Chart(name=name, spec=spec, alt=f"Bar chart of what the model says of {unit} of each kind, {parts}.",
                 caption=f"One bar per kind of {unit}: how the model's calls split, of every {per:,} of them.")


# -- drawing, with a cache of SVGs by spec ----------------------------------------------------------------------

# Characters the chart engine cannot draw: a control character in a label made vl-convert abort the whole
# process. Line breaks and tabs become spaces; the others (and bidi overrides, which reorder text) are dropped.


def drawable(value: Any) -> Any:
    """The spec (or any value in it) with every string safe for the chart engine and every number finite:
    values come from MLflow and story files, and are untrusted. A NaN or infinite number becomes null, which
    Vega-Lite leaves out of the drawing."""
    if isinstance(value, str):
        return UNDRAWABLE.sub("", BREAKS.sub(" ", value))
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {drawable(key): drawable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [drawable(item) for item in value]
    return value


_svg_cache: dict[str, Path | None] = {"directory": None}


def use_svg_cache(directory: Path | None) -> None:
    """Keep drawn SVGs in ``directory`` (one file per spec hash), or none when ``directory`` is None."""
    _svg_cache["directory"] = directory


def spec_hash(spec: dict[str, Any]) -> str:
    """A stable hash of a spec and the vl-convert that draws it."""
    text = json.dumps(drawable(spec), sort_keys=True, separators=(",", ":"), allow_nan=False)
    # With this user's cache key (storybook.files.cache_secret): an SVG put in the cache elsewhere is never found.
    return hashlib.sha256(f"vl-convert {_engine_version()}\nmachine {cache_secret()}\n{text}".encode()).hexdigest()


@functools.cache
def _engine_version() -> str:
    """vl-convert's version, looked up once per process (the package metadata lookup costs about 0.3 ms)."""
    from importlib.metadata import version

    return version("vl-convert-python")


def _looks_whole(svg: str) -> bool:
    stripped = svg.strip()
    return stripped.startswith("<svg") and stripped.endswith("</svg>")


def to_svg(chart: Chart) -> str:
    """The chart drawn as SVG, from the cache when the same spec was drawn before (a bad entry is redrawn)."""
    directory = _svg_cache["directory"]
    path = None
    if directory is not None:
        path = directory / f"{spec_hash(chart.spec)}.svg"
        try:
            cached = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            cached = None
        if cached is not None and _looks_whole(cached):
            return cached
    import vl_convert

    svg: str = vl_convert.vegalite_to_svg(drawable(chart.spec), allowed_base_urls=[])
    if path is not None:
        _write_quietly(path, svg)
    return svg


def warm_up() -> None:
    """Start the chart engine (its first chart costs about 0.3 s more than the next ones)."""
    import vl_convert

    vl_convert.vegalite_to_svg({"mark": "point", "data": {"values": [{"x": 1}]},
                                "encoding": {"x": {"field": "x", "type": "quantitative"}}}, allowed_base_urls=[])


def _write_quietly(path: Path, text: str) -> None:
    """Write atomically (temp file + rename); a cache that cannot be written is only a slower next build."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temp = tempfile.mkstemp(prefix=".svg-", suffix=".tmp", dir=path.parent)
    except OSError:
        return
    try:
        os.fchmod(handle, file_mode())  # not mkstemp's private 0600: like any file the user writes
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.replace(temp, path)
    except OSError:
        Path(temp).unlink(missing_ok=True)
