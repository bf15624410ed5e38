"""Checked claims: sentences an author asserts, tested against the data at every build.

A claim is declared in story.yaml (``claims:``) and shown where the prose writes ``{{ claim("id") }}``. Each
build (and ``storybook check``) evaluates it against the resolved values, so a claim that stops being true is
caught instead of read. Three kinds, with these rules (bounds are inclusive):

- **series**: every reading of a metric history in the window (``since``/``until``, whole UTC days) is at or
  above ``stays_above`` and at or below ``stays_below``. A reading that is not a finite number breaks it.
  No reading in the window: the claim cannot be checked.
- **metric**: the run's logged value is at least ``at_least`` / at most ``at_most``. When the model card has
  an interval for the metric and the interval reaches past the bound, the evidence says the claim holds only
  narrowly: the claim checks the logged value, and a check that asks the whole interval (as the trust report's
  does) would not pass yet.
- **slice**: group ``group`` of a slice column does no worse than group ``no_worse_than`` on ``rate``. It fails
  only when ``group`` is *clearly* worse: its whole 95% interval lies on the worse side of the other group's
  interval. Overlapping intervals are "no clear difference", and the claim holds, saying it allows for chance
  (68% against 82% on few cases can hold). A group with no cases for the rate cannot be checked.

Each result's ``checked`` says what its mark rests on; the page shows it beside the mark.

Pure: resolved values and the analysed card in, results out.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Literal

from storybook.analyse.classification import MAX_GROUPS, OTHER_GROUPS, Estimate
from storybook.analyse.plain import (
    RATE_NAMES,
    format_date,
    format_number,
    format_percent,
    lower_first,
    verdict,
)
from storybook.errors import ReferenceNotFound, SourceError
from storybook.metrics.kinds import Task, kinds_where
from storybook.resolve.resolved import ResolvedStory, Series
from storybook.sources.loader import StorySource
from storybook.sources.schema import ClaimSpec

__all__ = ["ClaimResult", "ClaimStatus", "check_claims", "check_metric_claim", "check_series_claim",
           "check_slice_claim"]

ClaimStatus = Literal["holds", "fails", "unchecked"]
LOWER_IS_BETTER = kinds_where(lambda k: k.higher_is_better is False)  # from the table of kinds


@dataclass(frozen=True)
class ClaimResult:
    """A claim and what the data said about it. ``evidence`` is a plain sentence with the figures."""

    spec: ClaimSpec
    status: ClaimStatus
    evidence: str
    source: str  # what was checked, e.g. "metric history production_mean_score of run 3f2a…"
    # What the mark rests on, shown beside it, so a claim and a check that read the same figure another way
    # cannot look like a contradiction: "on the value the run logged", "allowing for chance: ...".
    checked: str = ""

    @property
    def holds(self) -> bool:
        return self.status == "holds"


def check_claims(story: StorySource, resolved: ResolvedStory,
                 slices: Sequence[tuple[str, Sequence[tuple[str, dict[str, Estimate]]]]],
                 intervals: dict[str, Estimate]) -> tuple[ClaimResult, ...]:
    """Every claim of the story. ``slices``: (column, [(group, figures)]), the figures by kind name as the
    story's task tells them per group (binary: its shares; regression: "mae"; multiclass: "multiclass_accuracy");
    ``intervals``: metric key -> interval.

    A claim that points at something the story does not have is a located SourceError, not a failed claim.
    """
    results = []
    run = resolved.run.run_id[:12]
    for index, spec in enumerate(story.config.claims):
        if spec.kind == "series":
            assert spec.series is not None
            series = resolved.series.get(spec.series)
            if series is None:
                raise SourceError(
                    f"claim {spec.id!r} checks the history {spec.series!r}, which this story does not read",
                    location=story.yaml.location(("claims", index, "series")),
                    hint=f"add it under series: (key: {spec.series}, label: …) so it is fetched and pinned")
            results.append(check_series_claim(spec, series))
        elif spec.kind == "metric":
            assert spec.metric is not None
            figure = resolved.run.metrics.get(spec.metric)
            if figure is None:
                known = ", ".join(sorted(resolved.run.metrics)[:15]) or "none"
                raise ReferenceNotFound(f"claim {spec.id!r} checks metric {spec.metric!r}, not logged on run {run}",
                                        location=story.yaml.location(("claims", index, "metric")),
                                        hint=f"metrics logged: {known}")
            results.append(check_metric_claim(spec, figure.value, intervals.get(spec.metric), run))
        else:
            results.append(_slice(story, index, spec, slices))
    return tuple(results)


def _slice(story: StorySource, index: int, spec: ClaimSpec,
           slices: Sequence[tuple[str, Sequence[tuple[str, dict[str, Estimate]]]]]) -> ClaimResult:
    columns = {column: dict(groups) for column, groups in slices}
    if spec.slice not in columns:
        raise SourceError(f"claim {spec.id!r} compares groups of {spec.slice!r}, which is not a slice of the story",
                          location=story.yaml.location(("claims", index, "slice")),
                          hint=f"slices: {', '.join(columns) or 'none'} (declare it under slices:)")
    groups = columns[spec.slice]
    for key in ("group", "no_worse_than"):
        value = getattr(spec, key)
        merged = [name for name in groups if OTHER_GROUPS.fullmatch(name)]
        if value not in groups and merged:
            raise SourceError(f"claim {spec.id!r}: group {value!r} is not among the {MAX_GROUPS} largest groups of "
                              f"{spec.slice!r} the story shows one by one ({merged[0]} are counted together), "
                              "so it cannot be checked on its own",
                              location=story.yaml.location(("claims", index, key)),
                              hint=f"name one of the groups shown: {', '.join(list(groups)[:12])}")
        if value not in groups:
            raise SourceError(f"claim {spec.id!r}: {spec.slice!r} has no group {value!r}",
                              location=story.yaml.location(("claims", index, key)),
                              hint=f"groups: {', '.join(groups)}")
    assert spec.group is not None and spec.no_worse_than is not None
    config = story.config
    rate = spec.rate_for(config.task)
    unit = config.evaluation.amount_unit if config.evaluation is not None else None
    missing = Estimate(None, None, None, 0)
    return check_slice_claim(spec, groups[spec.group].get(rate, missing), groups[spec.no_worse_than].get(rate, missing),
                             task=config.task, unit=unit)


def _day(timestamp_ms: int) -> date:
    return datetime.fromtimestamp(timestamp_ms / 1000, tz=UTC).date()


def check_series_claim(spec: ClaimSpec, series: Series) -> ClaimResult:
    since = date.fromisoformat(spec.since) if spec.since else None
    until = date.fromisoformat(spec.until) if spec.until else None
    points = [p for p in sorted(series.points, key=lambda p: (p.timestamp_ms, p.step))
              if (since is None or _day(p.timestamp_ms) >= since) and (until is None or _day(p.timestamp_ms) <= until)]
    source = f"metric history {series.key!r} of run {series.provenance.run_id[:12]}"
    if not points:
        return ClaimResult(spec, "unchecked", "There are no readings in the period the claim covers, so it "
                           "could not be checked.", source)

    def broken(value: float) -> bool:
        return (not math.isfinite(value) or (spec.stays_above is not None and value < spec.stays_above)
                or (spec.stays_below is not None and value > spec.stays_below))

    bad = [p for p in points if broken(p.value)]
    first_day, last_day = format_date(points[0].timestamp_ms), format_date(points[-1].timestamp_ms)
    span = (f"{len(points):,} readings, logged on {first_day}" if first_day == last_day
            else f"{len(points):,} readings from {first_day} to {last_day}")
    if not bad:
        finite = [p.value for p in points]
        return ClaimResult(spec, "holds", f"True for all {span}: the lowest was {format_number(min(finite))} and "
                           f"the highest {format_number(max(finite))}.", source)
    first = bad[0]
    if not math.isfinite(first.value):
        what = "there was no valid reading"
    elif spec.stays_above is not None and first.value < spec.stays_above:
        what = f"the reading was {format_number(first.value)}, below {format_number(spec.stays_above)}"
    else:
        what = f"the reading was {format_number(first.value)}, above {format_number(spec.stays_below)}"
    return ClaimResult(spec, "fails", f"No longer true: on {format_date(first.timestamp_ms)} {what}; "
                       f"{len(bad):,} of the {span} break the claim.", source)


def check_metric_claim(spec: ClaimSpec, value: float, interval: Estimate | None, run: str) -> ClaimResult:
    source = f"metric {spec.metric!r} of run {run}"
    bound_words = " and ".join(
        words for words in (f"at least {format_number(spec.at_least)}" if spec.at_least is not None else "",
                            f"at most {format_number(spec.at_most)}" if spec.at_most is not None else "") if words)
    if not math.isfinite(value):
        return ClaimResult(spec, "unchecked", f"The logged value is {value}, not a number, so the claim "
                           "could not be checked.", source)
    low_ok = spec.at_least is None or value >= spec.at_least
    high_ok = spec.at_most is None or value <= spec.at_most
    logged = f"The run logged {format_number(value, 3)} (the claim needs {bound_words})."
    on_logged = "on the value the run logged"
    if not (low_ok and high_ok):
        return ClaimResult(spec, "fails", f"No longer true: {lower_first(logged)}", source, on_logged)
    narrow = ""
    if interval is not None and interval.low is not None and interval.high is not None:
        reaches = ((spec.at_least is not None and interval.low < spec.at_least)
                   or (spec.at_most is not None and interval.high > spec.at_most))
        if reaches:
            narrow = (f" It holds only narrowly: the claim checks the logged value, but allowing for chance the "
                      f"value could be anywhere from {format_number(interval.low, 3)} to "
                      f"{format_number(interval.high, 3)}, so a check that asks the whole range to meet "
                      f"{bound_words} (as a trust check does) would not pass yet.")
            on_logged = "on the value the run logged; allowing for chance, not certain"
    return ClaimResult(spec, "holds", logged + narrow, source, on_logged)


# The names of what another task's slice claims compare (a binary share's name is in the table of kinds).
_TASK_RATE_NAMES = {"mae": "average miss", "multiclass_accuracy": "share of calls that are right"}


def _described(group: str, estimate: Estimate, rate: str, unit: str | None) -> str:
    assert estimate.value is not None and estimate.low is not None and estimate.high is not None
    if rate == "mae":
        told = [f"{format_number(v)} {unit or 'units'}" for v in (estimate.value, estimate.low, estimate.high)]
    else:
        told = [format_percent(v) for v in (estimate.value, estimate.low, estimate.high)]
    return f"{group}: {told[0]} (between {told[1]} and {told[2]}, from {estimate.n:,} cases)"


def check_slice_claim(spec: ClaimSpec, group: Estimate, other: Estimate, *, task: Task = "binary",
                      unit: str | None = None) -> ClaimResult:
    """Whether ``group`` does no worse than ``other`` on the claim's rate (for a regression story, the average
    miss in ``unit``; lower is better)."""
    rate = spec.rate_for(task)
    name = RATE_NAMES.get(rate) or _TASK_RATE_NAMES[rate]
    source = f"the {name} by {spec.slice!r} in the scored evaluation set"
    if group.value is None or other.value is None or group.low is None or other.high is None \
            or group.high is None or other.low is None:
        if group.value is None or other.value is None:
            empty = spec.group if group.value is None else spec.no_worse_than
            return ClaimResult(spec, "unchecked", f"The group {empty!r} has no cases for the {name}, so the claim "
                               "could not be checked.", source)
        bare = spec.group if group.low is None or group.high is None else spec.no_worse_than
        return ClaimResult(spec, "unchecked", f"The {name} of the group {bare!r} has no range, so whether it is "
                           "worse beyond chance cannot be said and the claim could not be checked.", source)
    judged = verdict(group, other, higher_is_better=rate not in LOWER_IS_BETTER)  # the one comparison rule
    clearly_worse, clearly_better = judged == "worse", judged == "better"
    figures = (f"{_described(str(spec.group), group, rate, unit)}; "
               f"{_described(str(spec.no_worse_than), other, rate, unit)}")
    if clearly_worse:
        return ClaimResult(spec, "fails", f"No longer true: the {name} is clearly worse for "
                           f"{spec.group!r}, beyond the uncertainty. {figures}.", source,
                           "clearly worse, beyond chance")
    if clearly_better:
        return ClaimResult(spec, "holds", f"True: clearly better, beyond the uncertainty. {figures}.", source,
                           "clearly, beyond chance")
    return ClaimResult(spec, "holds", "True, allowing for chance: no clear difference given the number of cases (the "
                       f"ranges overlap), which the claim accepts even where the figures differ. {figures}.", source,
                       "allowing for chance: no clear difference given the number of cases")
