"""Charts of what drives the model and of its history, as Vega-Lite specs drawn by :mod:`storybook.render.charts`.

Each chart carries alt text that states every figure it draws.
"""

from __future__ import annotations

from typing import Any

from storybook.analyse.drivers import DriversReport, figure_and_range
from storybook.analyse.history import HistoryReport
from storybook.render.charts import COLOUR, Chart, _field, _spec

__all__ = ["importance_chart", "timeline_chart"]

ALIAS_COLOURS = ("#1f5f8b", "#c26d00", "#1b7a3a", "#7a3a9a", "#a3441b", "#555555")


def importance_chart(name: str, report: DriversReport) -> Chart | None:
    """One row per feature shown: the mean drop (dot) and its 95% interval (bar), a line at no effect."""
    items = [i for i in report.shown if i.mean == i.mean]
    if not items:
        return None
    scale = report.scale
    values = [{"feature": i.label, "mean": i.mean * scale,
               "low": (i.low if i.low is not None else i.mean) * scale,
               "high": (i.high if i.high is not None else i.mean) * scale} for i in items]
    unit = report.loss_unit
    y = _field("feature", "nominal", sort=None, title=None, axis={"labelLimit": 260})
    bars = {"mark": {"type": "rule", "color": "#8fb3cc", "strokeWidth": 4},
            "encoding": {"x": _field("low", "quantitative", title=f"When shuffled: {unit}"), "x2": {"field": "high"},
                         "y": y}}
    dots = {"mark": {"type": "point", "color": COLOUR, "filled": True, "size": 90},
            "encoding": {"x": _field("mean", "quantitative"), "y": y}}
    zero = {"data": {"values": [{"x": 0}]}, "mark": {"type": "rule", "color": "#555", "strokeDash": [4, 3]},
            "encoding": {"x": _field("x", "quantitative")}}
    spec = _spec({"data": {"values": values}, "layer": [bars, dots, zero]}, 380, max(60, 30 * len(items)))
    parts = "; ".join(f"{i.label}: {''.join(figure_and_range(i, report.metric))}" for i in items)
    alt = (f"Chart of how much {report.metric_name} the model loses when each measurement is shuffled, in "
           f"{unit}, with 95% ranges over {report.repeats} shuffles: {parts}.")
    caption = (f"What shuffling each measurement costs in {report.metric_name}. Dots: the average over "
               f"{report.repeats} shuffles; bars: the 95% range; dashed line: no effect.")
    return Chart(name=name, spec=spec, alt=alt, caption=caption)


def timeline_chart(name: str, report: HistoryReport) -> Chart | None:
    """Versions down the side, events in order along the bottom; a bar for each stretch an alias was held."""
    if not report.events:
        return None
    order = {id(e): n for n, e in enumerate(report.events, start=1)}
    last = len(report.events)
    registered = {e.version: order[id(e)] for e in report.events if e.alias is None and e.version is not None}

    def index_at(at_ms: int | None, alias: str, version: int, *, start: bool) -> float:
        for event in report.events:
            if event.at_ms == at_ms and event.alias == alias and (not start or event.version == version):
                return float(order[id(event)])
        if at_ms is None:
            return float(registered.get(version, 1)) if start else last + 0.5
        return float(next((order[id(e)] for e in report.events if e.at_ms >= at_ms), last))

    spans: list[dict[str, Any]] = []
    for row in report.rows:
        for span in row.spans:
            spans.append({"version": f"Version {row.version}", "alias": span.alias,
                          "start": index_at(span.start_ms, span.alias, span.version, start=True),
                          "end": last + 0.5 if span.current else index_at(span.end_ms, span.alias, span.version,
                                                                          start=False),
                          "recorded": "recorded" if span.start_ms is not None else "start not recorded"})
    marks = [{"version": f"Version {v}", "event": n} for v, n in registered.items()]
    aliases = sorted({s["alias"] for s in spans})
    y = _field("version", "nominal", title=None, sort=[f"Version {r.version}" for r in report.rows])
    x_scale = {"domain": [0.5, last + 0.5]}
    layers: list[dict[str, Any]] = []
    if spans:
        layers.append({"data": {"values": spans}, "mark": {"type": "bar", "height": 12},
                       "encoding": {"x": _field("start", "quantitative", scale=x_scale,
                                                axis={"values": list(range(1, last + 1)), "format": "d"},
                                                title="Events in order (numbered as in the list below)"),
                                    "x2": {"field": "end"}, "y": y, "yOffset": _field("alias", "nominal"),
                                    "color": _field("alias", "nominal", title="Alias",
                                                    scale={"domain": aliases,
                                                           "range": list(ALIAS_COLOURS[:len(aliases)])}),
                                    "opacity": _field("recorded", "nominal", title=None,
                                                      scale={"domain": ["recorded", "start not recorded"],
                                                             "range": [1.0, 0.35]})}})
    layers.append({"data": {"values": marks}, "mark": {"type": "point", "shape": "diamond", "filled": True,
                                                        "color": "#222", "size": 80},
                   "encoding": {"x": _field("event", "quantitative", scale=x_scale,
                                            axis={"values": list(range(1, last + 1)), "format": "d"}), "y": y}})
    spec = _spec({"layer": layers}, 480, max(60, 40 * len(report.rows)))
    steps = "; ".join(f"{n}. {e.when}: {e.text}" for n, e in enumerate(report.events, start=1))
    held = "; ".join(f"version {r.version}: {', '.join(s.describe() for s in r.spans) or 'no alias'}"
                     for r in report.rows)
    alt = f"Timeline of model {report.name}. Events in order: {steps}. Aliases held: {held}."
    caption = ("Each row is a version; a diamond marks when it was registered and a bar each stretch it carried "
               "an alias. Faint bars: the start of the stretch was not recorded.")
    return Chart(name=name, spec=spec, alt=alt, caption=caption)
