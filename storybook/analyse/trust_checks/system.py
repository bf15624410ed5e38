"""Trust in the **system**: guardrails on a production series, a change in that series against its own
history, guardrails on performance in production (estimated before the labels are in, or shown by them), and the
deployment history of the registered model.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from storybook.analyse.plain import capitalise, format_date
from storybook.analyse.trust_checks.evidence import Evidence, FigureValue
from storybook.analyse.trust_checks.statistics import MAX_CHANGE_READINGS, change_in
from storybook.analyse.trust_checks.words import listing, number
from storybook.sources.schema import DEFAULT_IN_USE_ALIAS

if TYPE_CHECKING:  # label_free reads trust_checks' EPS
    from storybook.analyse.label_free import LabelFreeReport


class Point(NamedTuple):
    """One reading of a production series (an MLflow metric history entry)."""

    step: int
    timestamp_ms: int
    value: float


def _ordered(series: Sequence[tuple[int, int, float]]) -> list[Point]:
    """Readings in time order (timestamp, then step)."""
    return sorted((Point(int(s), int(t), float(v)) for s, t, v in series), key=lambda p: (p.timestamp_ms, p.step))


def _bounds(lower: float | None, upper: float | None) -> str:
    if lower is not None and upper is not None:
        return f"{number(lower)} to {number(upper)}"
    return f"at least {number(lower)}" if lower is not None else f"at most {number(upper or 0.0)}"


def check_guardrails(series: Sequence[tuple[int, int, float]], *, lower: float | None = None,
                     upper: float | None = None, name: str, source: str) -> Evidence:
    """Declared guardrails on a production series: passes when every reading lies within [lower, upper].

    A reading that is not a finite number counts as outside. The sentence names the first date a guardrail
    broke (dates in UTC). ``name`` reads inside a sentence, e.g. "the mean prediction".
    """
    if lower is None and upper is None:
        raise ValueError("a guardrail needs a lower bound, an upper bound or both")
    points = _ordered(series)
    figures: dict[str, FigureValue] = {"readings": len(points), "lower": lower, "upper": upper}
    if not points:
        return Evidence("system", "system.guardrails", f"There are no production readings of {name} yet.", None,
                        figures, source)

    values = np.fromiter((p.value for p in points), dtype=np.float64, count=len(points))
    with np.errstate(invalid="ignore"):
        out = ~np.isfinite(values)
        if lower is not None:
            out |= values < lower
        if upper is not None:
            out |= values > upper
    broken = [points[int(i)] for i in np.flatnonzero(out)[:1]]
    figures["outside"] = int(out.sum())
    if not broken:
        sentence = (f"{capitalise(name)} stayed within its guardrails ({_bounds(lower, upper)}) in all {len(points):,} "
                    f"readings from {format_date(points[0].timestamp_ms)} to {format_date(points[-1].timestamp_ms)}.")
        return Evidence("system", "system.guardrails", sentence, True, figures, source)
    first = broken[0]
    figures.update({"first_break_ms": first.timestamp_ms, "first_break_step": first.step})
    value = number(first.value) if math.isfinite(first.value) else "not a number"
    sentence = (f"{capitalise(name)} first broke its guardrails ({_bounds(lower, upper)}) on "
                f"{format_date(first.timestamp_ms)}, reading {value}; {int(out.sum()):,} of {len(points):,} readings "
                "were outside.")
    return Evidence("system", "system.guardrails", sentence, False, figures, source)


def check_change(series: Sequence[tuple[int, int, float]], *, name: str, source: str, min_segment: int = 5,
                 alpha: float = 0.01, rounds: int = 999, seed: int = 0) -> Evidence:
    """A change in a production series against its own history (see :func:`detect_change`): passes when no
    change stands out."""
    points = _ordered(series)
    values = np.fromiter((p.value for p in points), dtype=np.float64, count=len(points))
    result, binned = change_in(values, min_segment=min_segment, alpha=alpha, rounds=rounds, seed=seed)
    figures: dict[str, FigureValue] = {"readings": result.n, "p_value": result.p_value,
                                       "before_mean": result.before_mean, "after_mean": result.after_mean}
    judged_on = (f" (judged on {MAX_CHANGE_READINGS:,} averages of about {round(len(points) / MAX_CHANGE_READINGS):,} "
                 "consecutive readings each") if binned else ""
    steady_note = f"{judged_on})" if binned else ""
    changed_note = f"{judged_on}, so the date is that of the average where it changed)" if binned else ""
    if not result.judged:
        return Evidence("system", "system.change",
                        f"Only {result.n} readings of {name} so far: too few to tell a change from ordinary "
                        f"variation (at least {2 * min_segment} are needed).", None, figures, source)
    if not result.changed or result.index is None:
        sentence = (f"{capitalise(name)} has held steady over {result.n:,} readings from "
                    f"{format_date(points[0].timestamp_ms)} to {format_date(points[-1].timestamp_ms)}: no change "
                    f"stands out from ordinary variation{steady_note}.")
        return Evidence("system", "system.change", sentence, True, figures, source)
    at = points[result.index]
    figures.update({"index": result.index, "step": at.step, "timestamp_ms": at.timestamp_ms})
    chance = f"{math.ceil((result.p_value or 0.0) * 1000) / 10:g}"
    sentence = (f"{capitalise(name)} changed on {format_date(at.timestamp_ms)}: about "
                f"{number(result.before_mean or 0.0)} on average before, about {number(result.after_mean or 0.0)} "
                f"after ({result.n:,} readings; a change this clear would turn up by chance in no more than {chance} "
                f"in 100 steady series){changed_note}.")
    return Evidence("system", "system.change", sentence, False, figures, source)


def check_estimate_guardrails(report: LabelFreeReport | None, told: Sequence[str], *, refused: str | None,
                              source: str) -> Evidence:
    """The story's guardrails on each production window's estimated or realised key figure
    (``trust.estimate.guardrails``, judged by :mod:`storybook.analyse.label_free`): passes when no judged window
    broke a bound or may have (an estimate's 95% range reaching past it); cannot run (None) while no window can be
    judged. ``told`` are the guardrails' sentences, ``refused`` why storybook does not estimate (None when it does).
    """
    outcomes = [o.status for w in (report.windows if report is not None else ()) for o in w.guards]
    judged = [status for status in outcomes if status != "not known"]
    broken, possibly = judged.count("broken"), judged.count("may be broken")
    figures: dict[str, FigureValue] = {"windows": len(report.windows) if report is not None else 0,
                                       "judged": len(judged), "broken": broken, "possibly_broken": possibly,
                                       "kept": judged.count("holds")}
    why_not = (f"The guardrail on the estimate is not judged, because {refused[0].lower()}{refused[1:]}"
               if refused else None)
    sentence = " ".join(s for s in (*told, why_not) if s)
    if not judged:
        return Evidence("system", "system.estimate_guardrails",
                        sentence or "No production window can be judged against its guardrails yet.", None,
                        figures, source)
    return Evidence("system", "system.estimate_guardrails", sentence, broken == 0 and possibly == 0, figures, source)


@dataclass(frozen=True)
class ModelVersion:
    """One registered version of the model, with the aliases it carries now."""

    version: int
    created_ms: int
    aliases: tuple[str, ...] = ()


def check_deployments(versions: Sequence[ModelVersion], *, in_use: str = DEFAULT_IN_USE_ALIAS,
                      source: str) -> Evidence:
    """Deployment history: passes when one version carries the alias ``in_use`` that marks the version in use
    (``in_use_alias``: the story's, the project's, else ``champion``).

    The registry records when a version was registered, not when an alias moved, so the sentence gives the
    registration date of the version in use. When no version carries the alias the check does not pass, and
    the sentence names the aliases there are, so a reader (or author) sees which one may have been meant.
    """
    ordered = sorted(versions, key=lambda v: (v.version, v.created_ms))
    holders = [v for v in ordered if in_use in v.aliases]
    if len(holders) > 1:
        raise ValueError(f"the alias {in_use!r} is on more than one version: "
                         f"{', '.join(str(v.version) for v in holders)}")
    figures: dict[str, FigureValue] = {"versions": len(ordered)}
    if not ordered:
        return Evidence("system", "system.deployments", "No version of the model is registered yet.", None, figures,
                        source)
    count = f"{len(ordered)} version{'s' if len(ordered) != 1 else ''}"
    since = format_date(min(v.created_ms for v in ordered))
    if not holders:
        there = [f"\"{alias}\" on version {v.version}" for v in ordered for alias in v.aliases]
        aliases = f"the aliases there are: {listing(there)}" if there else "no version carries any alias"
        sentence = (f"{count} registered since {since}, but none carries the alias \"{in_use}\" that marks the "
                    f"version in use ({aliases}), so the story cannot tell which one serves. If another alias "
                    "marks it, say so with model.in_use_alias in story.yaml or in_use_alias in storybook.yaml.")
        return Evidence("system", "system.deployments", sentence, False, figures, source)
    current = holders[0]
    figures.update({"in_use_version": current.version, "in_use_created_ms": current.created_ms})
    sentence = (f"{count} registered since {since}; the version in use (it carries the alias \"{in_use}\") is "
                f"version {current.version}, registered on {format_date(current.created_ms)}.")
    newer = [v.version for v in ordered if v.version > current.version]
    if newer:
        sentence += (f" {len(newer)} newer version{'s' if len(newer) != 1 else ''} "
                     f"({', '.join(str(v) for v in newer)}) {'do' if len(newer) != 1 else 'does'} not carry it.")
    return Evidence("system", "system.deployments", sentence, True, figures, source)
