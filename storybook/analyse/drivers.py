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
from storybook.analyse.plain import Vocabulary, in_sentence
from storybook.metrics.kinds import KINDS, kind_info
from storybook.resolve.resolved import ResolvedDrivers
from storybook.sources.schema import DriversSpec, SliceSpec

__all__ = ["DRIVER_METRIC_NAMES", "DriverSlice", "DriversReport", "analyse_drivers", "bound", "points"]

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
    scale: float = 100.0  # a drop times this is the figure shown (points out of 100 for a share)
    loss_unit: str = ""  # what a shown drop counts: "points of accuracy lost (of 100)", "points added to ..."
    reliance: str = ""  # "The more accuracy it loses, the more it relies on that measurement."
    table_caption: str = ""
    baseline_sentence: str = ""  # the figure before shuffling, in words ("" without one)


def _way(metric: str) -> str:
    """How a drop in ``metric`` is told: "share" (points out of 100), "score" (the figure's own units, lower
    is better: the Brier score, the log loss) or "amount" (the story's amount unit: a regression's misses)."""
    info = kind_info(metric)
    if info is not None and info.task == "regression":
        return "amount"
    if info is not None and info.higher_is_better is False:
        return "score"
    return "share"


def _number(shown: float, digits: int | None = None) -> str:
    if digits is not None:
        return f"{shown:.{digits}f}"
    return f"{shown:.0f}" if shown >= 10 else f"{shown:.1f}" if shown >= 1 else f"{shown:.2g}"


def points(value: float, metric: str) -> str:
    """A drop as the reader sees it, without its sign: points out of 100 (one decimal below 10) for a share,
    three decimals for a score (the Brier score, the log loss), two significant figures below 1 for an amount."""
    way = _way(metric)
    if way == "score":
        return f"{abs(value):.3f}"
    if way == "amount":
        text = _number(abs(value))
        return "0" if float(text) == 0 else text
    shown = abs(value) * 100
    text = f"{shown:.1f}" if shown < 10 else f"{shown:.0f}"
    return "0" if text in ("0.0", "0") else text


def bound(value: float, metric: str) -> str:
    """One end of a range of drops as the reader sees it, with its sign (see :func:`points`)."""
    way = _way(metric)
    if way == "score":
        return f"{value:.3f}"
    if way == "amount":  # one decimal, as the drops are told, unless the amount is smaller than that
        return f"{value:.2g}" if 0 < abs(value) < 0.1 else f"{value:.1f}"
    return f"{value * 100:.1f}"


def _decimals(metric: str, *values: float) -> int:
    """One precision for a figure and its range, so that they are told alike ("12.5 (between 11.5 and 13.5)",
    never "13 (between 11.5 and 13.5)"): three decimals for a score, one for points out of 100 and for an
    amount, two significant figures of the largest when every amount is below 0.1."""
    way = _way(metric)
    if way == "score":
        return 3
    largest = max((abs(v) for v in values), default=0.0)
    if way == "amount" and 0 < largest < 0.1:
        return 1 - math.floor(math.log10(largest))
    return 1


def _at(value: float, metric: str, decimals: int) -> str:
    """``value`` as the reader sees it (points out of 100 for a share) with ``decimals`` decimals."""
    text = f"{value * (100 if _way(metric) == 'share' else 1):.{decimals}f}"
    return "0" if float(text) == 0 else text


def figure_and_range(item: Importance, metric: str) -> tuple[str, str]:
    """The drop (without its sign) and " (between low and high)", at one precision; no range without ends."""
    if item.low is None or item.high is None:
        return points(item.mean, metric), ""
    decimals = _decimals(metric, item.mean, item.low, item.high)
    return (_at(abs(item.mean), metric, decimals),
            f" (between {_at(item.low, metric, decimals)} and {_at(item.high, metric, decimals)})")


def _cost(item: Importance, metric: str, words: Vocabulary, unit: str) -> str:
    """'costs 2.1 points of accuracy out of 100 (between 1.2 and 2.9): about 2.1 more wrong calls ...'."""
    name = DRIVER_METRIC_NAMES[metric]
    way = _way(metric)
    figure, ranged = figure_and_range(item, metric)
    if way == "score":
        return f"raises the {name} by {figure}{ranged}; 0 is perfect"
    if way == "amount":
        return f"raises the {name} by {figure} {unit}{ranged}"
    amount = f"costs {figure} points of {name} out of 100{ranged}"
    if metric in ("accuracy", "multiclass_accuracy"):
        amount += f": about {figure} more wrong calls in every 100 {words.unit}"
    return amount


def _change(value: float, metric: str, unit: str, shown: str | None = None) -> str:
    """A signed change in words: 'costs 4.8 points of accuracy', 'improves accuracy by 1.5 points'; ``shown``
    is the size as already told (at its range's precision), by default :func:`points`."""
    shown = points(value, metric) if shown is None else shown
    name = DRIVER_METRIC_NAMES[metric]
    if shown == "0" or value == 0:
        return f"makes no difference to {name}"
    way = _way(metric)
    if way in ("score", "amount"):
        told = shown if way == "score" else f"{shown} {unit}"
        return f"raises the {name} by {told}" if value > 0 else f"lowers the {name} by {told}"
    return f"costs {shown} points of {name}" if value > 0 else f"improves {name} by {shown} points"


def _effect(metric: str, unit: str) -> str:
    """The unit of a range of effects: 'points' (of 100), the amount unit, or nothing for a score."""
    way = _way(metric)
    return " points" if way == "share" else f" {unit}" if way == "amount" else ""


def _line(item: Importance, metric: str, words: Vocabulary, unit: str) -> str:
    name = DRIVER_METRIC_NAMES[metric]
    if item.low is None or item.high is None:
        return (f"Shuffling {item.label} changed {name} by {points(item.mean, metric)}{_effect(metric, unit)} in "
                "a single shuffle; one shuffle cannot show how sure that is.")
    if item.clear and item.mean > 0:
        return f"Shuffling {item.label} {_cost(item, metric, words, unit)}."
    if item.clear:
        share = _way(metric) == "share"
        decimals = _decimals(metric, item.mean, item.low, item.high)
        gain = _at(abs(item.mean), metric, decimals)
        better = f"{gain} points of {name}" if share else f"it {_change(item.mean, metric, unit, gain)}"
        after = "" if share or _way(metric) == "score" else _effect(metric, unit)
        return (f"Shuffling {item.label} makes the model slightly better ({better}, between "
                f"{_at(abs(item.high), metric, decimals)} and {_at(abs(item.low), metric, decimals)}{after}): on "
                "this evaluation set the model does not gain from it, and may be picking up noise.")
    decimals = _decimals(metric, item.low, item.high)
    return (f"Shuffling {item.label} makes no clear difference: its effect on {name} is between "
            f"{_at(item.low, metric, decimals)} and {_at(item.high, metric, decimals)}{_effect(metric, unit)}, "
            "which includes "
            "no effect at all.")


def _told_scale(metric: str, unit: str, words: Vocabulary, baseline: float | None,
                ) -> tuple[float, str, str, str, str]:
    """The scale of the table and chart, what a shown drop counts, the reliance sentence, the table's caption
    and the figure before shuffling, for a drop measured in ``metric``."""
    name = DRIVER_METRIC_NAMES[metric]
    way = _way(metric)
    if way == "share":
        before = "" if baseline is None else (f"Before shuffling, the {name} on these {words.unit} is "
                                              f"{baseline * 100:.1f} out of 100.")
        return (100.0, f"points of {name} lost (of 100)",
                f"The more {name} it loses, the more it relies on that measurement.",
                f"Loss of {name} when each measurement is shuffled (out of 100)", before)
    figure = -baseline if baseline is not None else None  # a lower-is-better figure is scored negated
    if way == "score":
        before = "" if figure is None else (f"Before shuffling, the {name} on these {words.unit} is "
                                            f"{figure:.3f} (lower is better).")
        return (1.0, f"{name} added", f"The more its {name} rises, the more it relies on that measurement.",
                f"Rise of the {name} when each measurement is shuffled (lower is better; 0 is perfect)", before)
    before = "" if figure is None else (f"Before shuffling, the {name} on these {words.unit} is "
                                        f"{_number(figure, 2 if figure < 10 else 1)} {unit}.")
    return (1.0, f"{unit} added to the {name}", f"The more its {name} grows, the more it relies on that "
            "measurement.", f"Rise of the {name} when each measurement is shuffled (in {unit})", before)


def _lead(ranked: tuple[Importance, ...], metric: str, words: Vocabulary, unit: str) -> str:
    top = next((i for i in ranked if i.clear and i.mean > 0), None)
    name = DRIVER_METRIC_NAMES[metric]
    if top is None:
        return (f"No single measurement clearly drives the model: shuffling any one of them changes {name} by "
                "less than the shuffles themselves vary.")
    return f"The model leans most on {top.label}: shuffling it {_cost(top, metric, words, unit)}."


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
            words: Vocabulary, unit: str) -> tuple[tuple[DriverSlice, ...], str]:
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
            small.add(f"{in_sentence(slice_label)} '{difference.group}'")
            continue
        sentence = (f"For {in_sentence(slice_label)} '{difference.group}' ({n:,} {words.unit}), the model leans "
                    f"clearly {difference.direction} on {difference.label}: shuffling it "
                    f"{_change(difference.within.mean, resolved.metric, unit)} there; over all {words.unit} it "
                    f"{_change(difference.overall.mean, resolved.metric, unit)}.")
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
                    evaluation: pd.DataFrame | None, min_slice_size: int,
                    amount_unit: str | None = None, rows_told: str | None = None) -> DriversReport:
    """What drives the predictions; ``amount_unit`` names a regression story's amounts ("points", "beds");
    ``rows_told``: which rows were scored, when not the whole evaluation set (e.g. "a sample of 5,000 of the
    12,400,000 cases", for a story told from an aggregate)."""
    unit = amount_unit or "units"
    table = resolved.table
    overall = table[table["slice"].astype(str) == ALL_ROWS] if "slice" in table.columns else table
    ranked = rank_importances(overall, dict(spec.names), default_repeats=resolved.repeats)
    shown = ranked[:spec.show]
    sliced, note = _slices(resolved, ranked, shown, spec, slices, evaluation, min_slice_size, words, unit)
    repeats = max((i.repeats for i in ranked), default=resolved.repeats)
    scale, loss_unit, reliance, caption, before = _told_scale(resolved.metric, unit, words, resolved.baseline)
    if resolved.origin == "model":
        source = (f"Worked out when the story was read from MLflow: storybook loaded the logged model "
                  f"({resolved.provenance.key}), scored "
                  f"{rows_told or f'the {resolved.rows:,} {words.unit} of the evaluation set'}, "
                  f"then shuffled one measurement at a time, {repeats} times each (seed {resolved.seed}), and "
                  "scored them again.")
    else:
        source = (f"Read from {resolved.provenance.key}, which run {resolved.provenance.run_id} logged; storybook "
                  "did not check how it was computed.")
    return DriversReport(
        metric=resolved.metric, metric_name=DRIVER_METRIC_NAMES[resolved.metric], ranked=ranked, shown=shown,
        lead=_lead(ranked, resolved.metric, words, unit),
        lines=tuple((i, _line(i, resolved.metric, words, unit)) for i in shown),
        no_clear=tuple(i for i in ranked if not i.clear), together=_together(evaluation, shown), slices=sliced,
        slices_note=note, source=source, rows=resolved.rows, repeats=repeats, baseline=resolved.baseline,
        scale=scale, loss_unit=loss_unit, reliance=reliance, table_caption=caption, baseline_sentence=before)
