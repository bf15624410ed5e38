"""What drives the predictions, told in plain words: the story-level reading of permutation importance.

Takes the resolved drops (:class:`storybook.resolve.resolved.ResolvedDrivers`) and the story's declarations
and says which measurements the model leans on, by how much (a drop in the story's metric, with its 95%
interval over the shuffles, out of 100), which make no clear difference, which measurements move together
(so share the credit), and where a group of the story's slices differs beyond that uncertainty.

Pure: plain data in, sentences and frozen dataclasses out.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from storybook.analyse.importance import ALL_ROWS, Importance, rank_importances, slice_differences
from storybook.analyse.plain import Vocabulary
from storybook.metrics.kinds import KINDS
from storybook.resolve.resolved import ResolvedDrivers
from storybook.sources.schema import DriversSpec, SliceSpec

__all__ = ["DRIVER_METRIC_NAMES", "DriverSlice", "DriversReport", "analyse_drivers", "points"]

DRIVER_METRIC_NAMES = {k.name: k.words.short_name or k.name for k in KINDS if k.importance}  # the table of kinds
# Measurements this closely correlated on the evaluation set are named as sharing credit.
TOGETHER = 0.9
MAX_SLICE_LINES = 6


@dataclass(frozen=True)
class DriverSlice:
    """A group in which a shown feature matters clearly more or less than over all rows."""

    slice_label: str
    group: str
    n: int
    feature: str
    label: str
    direction: str
    within: Importance
    overall: Importance
    sentence: str


@dataclass(frozen=True)
class DriversReport:
    metric: str
    metric_name: str
    ranked: tuple[Importance, ...]
    shown: tuple[Importance, ...]
    lead: str
    lines: tuple[tuple[Importance, str], ...]
    no_clear: tuple[Importance, ...]
    together: tuple[tuple[str, str, float], ...]
    slices: tuple[DriverSlice, ...]
    slices_note: str
    source: str
    rows: int
    repeats: int
    baseline: float | None


def points(value: float, metric: str) -> str:
    """A drop as the reader sees it: points out of 100 (one decimal below 10), or Brier score units."""
    if metric == "brier":
        return f"{value:.3f}"
    shown = abs(value) * 100
    text = f"{shown:.1f}" if shown < 10 else f"{shown:.0f}"
    return "0" if text in ("0.0", "0") else text


def _range(item: Importance, metric: str) -> str:
    if item.low is None or item.high is None:
        return ""
    scale, digits = (1, 3) if metric == "brier" else (100, 1)
    return f" (between {item.low * scale:.{digits}f} and {item.high * scale:.{digits}f})"


def _cost(item: Importance, metric: str, words: Vocabulary) -> str:
    """'costs 2.1 points of accuracy out of 100 (between 1.2 and 2.9): about 2.1 more wrong calls ...'."""
    name = DRIVER_METRIC_NAMES[metric]
    if metric == "brier":
        return f"raises the Brier score by {points(item.mean, metric)}{_range(item, metric)}; 0 is perfect"
    amount = f"costs {points(item.mean, metric)} points of {name} out of 100{_range(item, metric)}"
    if metric == "accuracy":
        amount += f": about {points(item.mean, metric)} more wrong calls in every 100 {words.unit}"
    return amount


def _change(value: float, metric: str) -> str:
    """A signed change in words: 'costs 4.8 points of accuracy', 'improves accuracy by 1.5 points'."""
    shown = points(value, metric)
    name = DRIVER_METRIC_NAMES[metric]
    if shown == "0" or value == 0:
        return f"makes no difference to {name}"
    if metric == "brier":
        return f"raises the Brier score by {shown}" if value > 0 else f"lowers the Brier score by {shown}"
    return f"costs {shown} points of {name}" if value > 0 else f"improves {name} by {shown} points"


def _line(item: Importance, metric: str, words: Vocabulary) -> str:
    name = DRIVER_METRIC_NAMES[metric]
    if item.low is None or item.high is None:
        return (f"Shuffling {item.label} changed {name} by {points(item.mean, metric)} points in a single "
                "shuffle; one shuffle cannot show how sure that is.")
    if item.clear and item.mean > 0:
        return f"Shuffling {item.label} {_cost(item, metric, words)}."
    if item.clear:
        return (f"Shuffling {item.label} makes the model slightly better ({points(item.mean, metric)} points of "
                f"{name}, between {abs(item.high) * 100:.1f} and {abs(item.low) * 100:.1f}): on this evaluation "
                "set the model does not gain from it, and may be picking up noise.")
    return (f"Shuffling {item.label} makes no clear difference: its effect on {name} is between "
            f"{item.low * 100:.1f} and {item.high * 100:.1f} points, which includes no effect at all.")


def _lead(ranked: tuple[Importance, ...], metric: str, words: Vocabulary) -> str:
    top = next((i for i in ranked if i.clear and i.mean > 0), None)
    name = DRIVER_METRIC_NAMES[metric]
    if top is None:
        return (f"No single measurement clearly drives the model: shuffling any one of them changes {name} by "
                "less than the shuffles themselves vary.")
    return f"The model leans most on {top.label}: shuffling it {_cost(top, metric, words)}."


def _together(evaluation: pd.DataFrame | None, shown: tuple[Importance, ...]) -> tuple[tuple[str, str, float], ...]:
    if evaluation is None:
        return ()
    columns = [i.feature for i in shown if i.feature in evaluation.columns]
    numeric = evaluation[columns].apply(pd.to_numeric, errors="coerce")
    if numeric.shape[1] < 2:
        return ()
    corr = numeric.corr()
    labels = {i.feature: i.label for i in shown}
    pairs = []
    for a_index, a in enumerate(columns):
        for b in columns[a_index + 1:]:
            value = float(corr.loc[a, b])
            if math.isfinite(value) and abs(value) >= TOGETHER:
                pairs.append((labels[a], labels[b], value))
    return tuple(pairs)


def _slices(resolved: ResolvedDrivers, ranked: tuple[Importance, ...], shown: tuple[Importance, ...],
            spec: DriversSpec, slices: list[SliceSpec], evaluation: pd.DataFrame | None, min_size: int,
            words: Vocabulary) -> tuple[tuple[DriverSlice, ...], str]:
    if not spec.by_slice or "slice" not in resolved.table.columns:
        return (), ""
    table = resolved.table
    if not (table["slice"].astype(str) != ALL_ROWS).any():
        return (), ""
    labels = {s.column: s.label for s in slices}
    wanted = {i.feature for i in shown}
    sizes: dict[tuple[str, str], int] = {}
    if evaluation is not None:
        for column in labels:
            if column in evaluation.columns:
                counts = evaluation[column].astype("string").fillna("(missing)").value_counts()
                sizes.update({(column, str(group)): int(n) for group, n in counts.items()})
    found = []
    small: set[str] = set()
    for difference in slice_differences(table, ranked, dict(spec.names)):
        if difference.feature not in wanted:
            continue
        n = sizes.get((difference.slice_column, difference.group), 0)
        slice_label = labels.get(difference.slice_column, difference.slice_column)
        if n < min_size:
            small.add(f"{slice_label.lower()} '{difference.group}'")
            continue
        sentence = (f"For {slice_label.lower()} '{difference.group}' ({n:,} {words.unit}), the model leans "
                    f"clearly {difference.direction} on {difference.label}: shuffling it "
                    f"{_change(difference.within.mean, resolved.metric)} there; over all {words.unit} it "
                    f"{_change(difference.overall.mean, resolved.metric)}.")
        found.append(DriverSlice(slice_label=slice_label, group=difference.group, n=n, feature=difference.feature,
                                 label=difference.label, direction=difference.direction, within=difference.within,
                                 overall=difference.overall, sentence=sentence))
    found.sort(key=lambda d: (-abs(d.within.mean - d.overall.mean), d.slice_label, d.group, d.feature))
    note = ""
    if len(found) > MAX_SLICE_LINES:
        note = (f"{len(found) - MAX_SLICE_LINES} smaller differences between groups are left out.")
        found = found[:MAX_SLICE_LINES]
    if not found:
        note = (f"In every group of {min_size:,} {words.unit} or more, the measurements shown matter about as "
                "much as they do overall (within the shuffles' uncertainty).")
    if small:
        note += (f" Groups with fewer than {min_size:,} {words.unit} are not compared "
                 f"({', '.join(sorted(small))}).")
    return tuple(found), note.strip()


def analyse_drivers(resolved: ResolvedDrivers, spec: DriversSpec, *, words: Vocabulary, slices: list[SliceSpec],
                    evaluation: pd.DataFrame | None, min_slice_size: int) -> DriversReport:
    table = resolved.table
    overall = table[table["slice"].astype(str) == ALL_ROWS] if "slice" in table.columns else table
    ranked = rank_importances(overall, dict(spec.names), default_repeats=resolved.repeats)
    shown = ranked[:spec.show]
    sliced, note = _slices(resolved, ranked, shown, spec, slices, evaluation, min_slice_size, words)
    repeats = max((i.repeats for i in ranked), default=resolved.repeats)
    if resolved.origin == "model":
        source = (f"Worked out when the story was read from MLflow: storybook loaded the logged model "
                  f"({resolved.provenance.key}), scored the {resolved.rows:,} {words.unit} of the evaluation set, "
                  f"then shuffled one measurement at a time, {repeats} times each (seed {resolved.seed}), and "
                  "scored them again.")
    else:
        source = (f"Read from {resolved.provenance.key}, which run {resolved.provenance.run_id} logged; storybook "
                  "did not check how it was computed.")
    return DriversReport(
        metric=resolved.metric, metric_name=DRIVER_METRIC_NAMES[resolved.metric], ranked=ranked, shown=shown,
        lead=_lead(ranked, resolved.metric, words),
        lines=tuple((i, _line(i, resolved.metric, words)) for i in shown),
        no_clear=tuple(i for i in ranked if not i.clear), together=_together(evaluation, shown), slices=sliced,
        slices_note=note, source=source, rows=resolved.rows, repeats=repeats, baseline=resolved.baseline)
