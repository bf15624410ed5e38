"""The model's history: each registered version, which alias it held and when, and what each one changed.

MLflow records when a version was registered and where each alias points now, not when an alias moved.
The dates of alias moves come only from records a promotion step wrote (:mod:`storybook.promote`); where
there is none, or the record disagrees with the registry, the report says so instead of guessing.

Figures get their 95% ranges from each version's scored evaluation set (or its logged confusion counts)
with the helpers of :mod:`storybook.analyse.classification`; a change between versions is called clear
only when the 95% interval of the difference leaves out zero (paired when both versions scored the same
cases, as in the decision grounds), worded by :func:`storybook.analyse.trust_checks.model.check_previous_version`.

Pure: plain data in, frozen dataclasses out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import pandas as pd

from storybook.analyse.classification import Confusion, Estimate
from storybook.analyse.comparison import Comparison, VersionRef, comparison_between
from storybook.analyse.decision_judge import Scored, difference, version_gap
from storybook.analyse.plain import Verdict, format_date
from storybook.analyse.reconcile import TOLERANCE, measured_on
from storybook.analyse.task_versions import TaskSet, TaskVersion, task_gap, told_range_of, told_value
from storybook.analyse.trust_checks.model import check_previous_version, gap_verdict
from storybook.analyse.trust_checks.task_model import check_task_previous_version
from storybook.metrics.kinds import kind_info
from storybook.metrics.multiclass import MulticlassScores
from storybook.metrics.regression import RegressionScores
from storybook.resolve.resolved import AliasEvent, HistoryVersion, ModelHistory
from storybook.resolve.scored_multiclass import MulticlassSet
from storybook.resolve.scored_regression import RegressionSet
from storybook.sources.schema import DEFAULT_IN_USE_ALIAS, MetricSpec, StoryConfig

__all__ = ["AliasSpan", "FigureStep", "HistoryReport", "SideBySide", "TimelineEvent", "TimelineRow",
           "alias_spans", "analyse_history"]

MAX_PARAM_CHANGES = 8


@dataclass(frozen=True)
class AliasSpan:
    """A stretch during which ``version`` carried ``alias``. None for a start or end means not known (start)
    or still carrying it (end, with ``current``)."""

    alias: str
    version: int
    start_ms: int | None
    end_ms: int | None
    current: bool

    def describe(self) -> str:
        since = f"from {format_date(self.start_ms)}" if self.start_ms is not None else "since a date not recorded"
        if self.current:
            return f"{self.alias} {since}, still now"
        return f"{self.alias} {since} to {format_date(self.end_ms)}"


@dataclass(frozen=True)
class FigureStep:
    """One headline figure of one version, and how it compares with the version before."""

    spec: MetricSpec
    value: float | None
    estimate: Estimate | None
    verdict: Verdict | None
    sentence: str


@dataclass(frozen=True)
class TimelineRow:
    version: int
    created_ms: int
    run_name: str
    run_id: str
    aliases_now: tuple[str, ...]
    spans: tuple[AliasSpan, ...]
    figures: tuple[FigureStep, ...]
    param_changes: tuple[str, ...]
    previous: int | None
    is_story_model: bool

    @property
    def clear_changes(self) -> tuple[FigureStep, ...]:
        return tuple(f for f in self.figures if f.verdict in ("better", "worse"))

    @property
    def run(self) -> str:
        """The run that trained this version, by name ("run bold-tiger"), by id when it has no name."""
        return f"run {self.run_name or self.run_id}"


@dataclass(frozen=True)
class TimelineEvent:
    at_ms: int
    version: int | None
    alias: str | None
    text: str

    @property
    def when(self) -> str:
        """The day and the UTC time of day: several events often fall on one day."""
        moment = datetime.fromtimestamp(self.at_ms / 1000, tz=UTC)
        return f"{format_date(self.at_ms)}, {moment:%H:%M} UTC"


@dataclass(frozen=True)
class SideBySide:
    left: TimelineRow
    right: TimelineRow
    rows: tuple[tuple[MetricSpec, FigureStep, FigureStep, Verdict | None, str], ...]


@dataclass(frozen=True)
class HistoryReport:
    name: str
    rows: tuple[TimelineRow, ...]
    events: tuple[TimelineEvent, ...]
    known: str
    not_known: tuple[str, ...]
    records: int
    side_by_side: SideBySide | None
    first_shown: int  # versions before this one are not shown (history.last)


def alias_spans(events: tuple[AliasEvent, ...], aliases_now: dict[str, int]) -> tuple[tuple[AliasSpan, ...],
                                                                                       tuple[str, ...]]:
    """Stretches each alias spent on each version, from the recorded moves and where aliases point now;
    and sentences for what the records cannot tell (no record, or a record the registry contradicts)."""
    spans: list[AliasSpan] = []
    problems: list[str] = []
    for alias in sorted({e.alias for e in events} | set(aliases_now)):
        moves = sorted((e for e in events if e.alias == alias), key=lambda e: e.at_ms)
        now = aliases_now.get(alias)
        for index, move in enumerate(moves):
            if move.version is None:
                continue
            end = moves[index + 1].at_ms if index + 1 < len(moves) else None
            last = end is None
            spans.append(AliasSpan(alias, move.version, move.at_ms, end, current=last and now == move.version))
        recorded = moves[-1].version if moves else None
        if now is None:
            if recorded is not None:
                problems.append(f"The record says {alias} moved to version {recorded} on "
                                f"{format_date(moves[-1].at_ms)}, but no version carries it now: it was removed "
                                "without a record, on a date not known.")
                spans[-1] = AliasSpan(alias, recorded, moves[-1].at_ms, None, current=False)
            continue
        if not moves:
            problems.append(f"No record says when {alias} moved to version {now}; it carries it now.")
            spans.append(AliasSpan(alias, now, None, None, current=True))
        elif recorded != now:
            was = f"version {recorded}" if recorded is not None else "nowhere (removed)"
            problems.append(f"The last record puts {alias} on {was} on {format_date(moves[-1].at_ms)}, but the "
                            f"registry now puts it on version {now}: it was moved later without a record, on a "
                            "date not known.")
            if recorded is not None:
                spans[-1] = AliasSpan(alias, recorded, moves[-1].at_ms, None, current=False)
            spans.append(AliasSpan(alias, now, None, None, current=True))
    return tuple(spans), tuple(problems)


def _estimate(spec: MetricSpec, version: HistoryVersion, scored: pd.DataFrame | None,
              config: StoryConfig) -> Estimate | None:
    """A version's interval for a figure, only when it belongs to the figure (storybook.analyse.reconcile):
    measured on the evaluation set, and reproduced by the version's own set within rounding."""
    if measured_on(spec) != "evaluation":
        return None
    estimate = _recomputed(spec, version, scored, config)
    logged = version.metrics.get(spec.key)
    if estimate is None or estimate.value is None or logged is None or abs(estimate.value - logged) > TOLERANCE:
        return None
    return estimate


def _task_set(version: HistoryVersion, scored: pd.DataFrame | None, config: StoryConfig) -> TaskSet | None:
    """A multiclass or regression version's scored set, rebuilt from the rows the history keeps of it."""
    evaluation = config.evaluation
    if scored is None or evaluation is None or config.task == "binary":
        return None
    rows = scored[scored["version"] == version.model.version]
    if not len(rows) or ("actual" not in rows.columns and "truth" not in rows.columns):
        return None
    if config.task == "regression":
        bounds = [rows[c].to_numpy(dtype=np.float64) if c in rows.columns and rows[c].notna().all() else None
                  for c in ("lower", "upper")]
        lower, upper = bounds if bounds[0] is not None and bounds[1] is not None else (None, None)
        scores = RegressionScores(actual=rows["actual"].to_numpy(dtype=np.float64),
                                  predicted=rows["predicted"].to_numpy(dtype=np.float64), lower=lower, upper=upper)
        return RegressionSet(scores=scores, frame=rows, interval_level=evaluation.interval_level)
    classes = tuple(evaluation.classes or ())
    chances = [f"chance_{i}" for i in range(len(classes))]
    probabilities = (rows[chances].to_numpy(dtype=np.float64)
                     if all(c in rows.columns for c in chances) and rows[chances].notna().all().all() else None)
    calls = MulticlassScores(classes=evaluation.class_values, truth=rows["truth"].to_numpy(dtype=np.intp),
                             predicted=rows["predicted"].to_numpy(dtype=np.intp), probabilities=probabilities)
    return MulticlassSet(scores=calls, classes=classes, frame=rows)


def _task_version(version: HistoryVersion, scored: pd.DataFrame | None, config: StoryConfig) -> TaskVersion | None:
    found = _task_set(version, scored, config)
    if found is None or scored is None:
        return None
    ids = None
    rows = scored[scored["version"] == version.model.version]
    if "case_id" in rows.columns:   # the story declares an id column; a set without it is never paired
        column = rows["case_id"]
        ids = np.array([], dtype=np.str_) if column.isna().any() else column.astype(str).to_numpy(dtype=np.str_)
    return TaskVersion(f"version {version.model.version}", found, "", ids=ids)


def _task_kind(spec: MetricSpec) -> bool:
    """A figure of a multiclass or regression kind, computed from that task's scored set."""
    info = kind_info(spec.kind)
    return info is not None and info.task != "binary" and info.from_set is not None


def _better_way(spec: MetricSpec) -> bool | None:
    """Which way is better for the figure: the kind's own direction where the table of kinds knows it (an
    average miss is better lower), else the story's ``higher_is_better``; None for a kind with no better way
    (the bias, the coverage of an interval: either way off its mark is worse)."""
    info = kind_info(spec.kind)
    if info is not None and info.task != "binary":
        return info.higher_is_better
    return spec.higher_is_better


def _recomputed(spec: MetricSpec, version: HistoryVersion, scored: pd.DataFrame | None,
                config: StoryConfig) -> Estimate | None:
    kind = spec.kind
    info = kind_info(kind)
    if info is None or info.interval == "none":
        return None
    if _task_kind(spec):
        found = _task_set(version, scored, config)
        return info.measure_set(found.scores) if found is not None else None
    if scored is not None and version.threshold is not None:
        rows = scored[scored["version"] == version.model.version]
        if len(rows):
            truth = rows["positive"].to_numpy(dtype=int) == 1
            scores = rows["score"].to_numpy(dtype=np.float64)
            return info.measure(truth, scores, version.threshold)
    counts = config.evaluation.counts if config.evaluation is not None else None
    if counts is not None and info.counts is not None:
        keys = [getattr(counts, n) for n in ("tp", "fp", "tn", "fn")]
        if all(k in version.metrics for k in keys):
            tp, fp, tn, fn = (int(version.metrics[k]) for k in keys)
            return info.from_confusion(Confusion(tp=tp, fp=fp, tn=tn, fn=fn))
    return None


def _scored_version(version: HistoryVersion, scored: pd.DataFrame | None) -> Scored | None:
    if scored is None or version.threshold is None:
        return None
    rows = scored[scored["version"] == version.model.version]
    if not len(rows):
        return None
    ids = None
    if "case_id" in rows.columns:   # the story declares an id column; a set without it is never paired
        column = rows["case_id"]
        ids = np.array([], dtype=np.str_) if column.isna().any() else column.astype(str).to_numpy(dtype=np.str_)
    return Scored(f"version {version.model.version}", rows["positive"].to_numpy(dtype=int) == 1,
                  rows["score"].to_numpy(dtype=np.float64), version.threshold, None, "", ids=ids)


def _gap(spec: MetricSpec, version: HistoryVersion, other: HistoryVersion, scored: pd.DataFrame | None,
         estimates: tuple[Estimate | None, Estimate | None], config: StoryConfig) -> tuple[Estimate, bool] | None:
    """``version`` minus ``other`` with its 95% interval, by the rule the decision grounds use
    (:func:`storybook.analyse.decision_judge.version_gap`, or for another task's figure
    :func:`storybook.analyse.task_versions.task_gap`: paired on the same cases); None without ranges."""
    mine, theirs = estimates
    if mine is None or theirs is None:
        return None
    if _task_kind(spec):
        mine_set, theirs_set = _task_version(version, scored, config), _task_version(other, scored, config)
        if mine_set is None or theirs_set is None:
            return difference(mine, theirs), False
        return task_gap(spec.kind, mine_set, theirs_set)
    first, second = _scored_version(version, scored), _scored_version(other, scored)
    if first is not None and second is not None:
        return version_gap(spec.kind, first, second)
    return difference(mine, theirs), False


def _what(spec: MetricSpec) -> str:
    """How a comparison sentence names the figure: "the figure 'Malignant tumours found' is 0.94"."""
    return f"figure '{spec.label}'"


def _compared(spec: MetricSpec, mine: Estimate, theirs: Estimate, found: tuple[Estimate, bool], *, this: str,
              other: str, unit: str | None) -> tuple[Verdict | None, str]:
    """The verdict and sentence comparing two versions' figures of a multiclass or regression kind."""
    gap, paired = found
    if _better_way(spec) is None:
        return None, (f"Compared with {other}, the {_what(spec)} of {this} is "
                      f"{told_value(spec.kind, mine.value, unit)} {told_range_of(spec.kind, mine, unit)}, against "
                      f"{told_value(spec.kind, theirs.value, unit)} {told_range_of(spec.kind, theirs, unit)}; "
                      "neither way is better in itself for this figure.")
    evidence = check_task_previous_version(mine, theirs, gap, kind=spec.kind, phrase=_what(spec), unit=unit,
                                           paired=paired, this=this, other=other, source="")
    told = evidence.figures.get("verdict")
    return (told if told in ("better", "worse", "no clear difference") else None), evidence.sentence  # type: ignore[return-value]


def _step(spec: MetricSpec, version: HistoryVersion, estimate: Estimate | None,
          previous: tuple[HistoryVersion, Estimate | None] | None, scored: pd.DataFrame | None,
          config: StoryConfig) -> FigureStep:
    value = version.metrics.get(spec.key)
    if previous is None:
        return FigureStep(spec, value, estimate, None, "")
    before, before_estimate = previous
    other = f"version {before.model.version}"
    found = _gap(spec, version, before, scored, (estimate, before_estimate), config)
    if estimate is not None and before_estimate is not None and found is not None and _task_kind(spec):
        verdict, sentence = _compared(spec, estimate, before_estimate, found, this=f"version {version.model.version}",
                                      other=other, unit=_unit(config))
        return FigureStep(spec, value, estimate, verdict, sentence)
    if estimate is not None and before_estimate is not None and found is not None:
        gap, paired = found
        evidence = check_previous_version(estimate, before_estimate, metric=_what(spec), source="",
                                          higher_is_better=spec.higher_is_better, other=other, gap=gap,
                                          paired=paired, this=f"version {version.model.version}")
        verdict = gap_verdict(gap, higher_is_better=spec.higher_is_better)
        return FigureStep(spec, value, estimate, verdict, evidence.sentence)
    old = before.metrics.get(spec.key)
    if value is None or old is None:
        return FigureStep(spec, value, estimate, None, f"The {_what(spec)} was not logged for both versions.")
    return FigureStep(spec, value, estimate, None,
                      f"Compared with {other}, the {_what(spec)} of version {version.model.version} went from "
                      f"{old:.3g} to {value:.3g}; there is no "
                      "range to tell whether that is more than chance.")


def _param_changes(version: HistoryVersion, before: HistoryVersion) -> tuple[str, ...]:
    changes = []
    for key in sorted(set(version.params) | set(before.params)):
        old, new = before.params.get(key, "(not set)"), version.params.get(key, "(not set)")
        if old != new:
            changes.append(f"{key}: {old} → {new}")
    if len(changes) > MAX_PARAM_CHANGES:
        changes = [*changes[:MAX_PARAM_CHANGES], f"and {len(changes) - MAX_PARAM_CHANGES} more settings"]
    return tuple(changes)


def analyse_history(history: ModelHistory, config: StoryConfig, story_version: int | None, *,
                    comparison: Comparison | None = None, in_use: str = DEFAULT_IN_USE_ALIAS) -> HistoryReport:
    """The history report. The versions set side by side are named with their roles: from ``comparison`` when
    it is the same pair, else from where the alias ``in_use`` (the one marking the version in use) is."""
    spec = config.history
    assert spec is not None
    by_key = {m.key: m for m in config.metrics}
    metrics = [by_key[k] for k in (spec.metrics or list(by_key)) if k in by_key]
    spans, problems = alias_spans(history.events, history.aliases)
    versions = sorted(history.versions, key=lambda v: v.model.version)
    created = {v.model.version: v.model.created_ms for v in versions}
    for event in history.events:
        registered = created.get(event.version) if event.version is not None else None
        if registered is not None and event.at_ms < registered:
            problems += (f"The record says {event.alias} moved to version {event.version} on "
                         f"{format_date(event.at_ms)}, before that version was registered "
                         f"({format_date(registered)}): that record's date cannot be right.",)
    estimates = {v.model.version: {m.key: _estimate(m, v, history.scored, config) for m in metrics} for v in versions}
    rows = []
    for index, version in enumerate(versions):
        before = versions[index - 1] if index else None
        number = version.model.version
        figures = tuple(_step(m, version, estimates[number][m.key],
                              (before, estimates[before.model.version][m.key]) if before is not None else None,
                              history.scored, config) for m in metrics)
        rows.append(TimelineRow(
            version=number, created_ms=version.model.created_ms, run_name=version.run_name,
            run_id=version.model.run_id, aliases_now=version.model.aliases,
            spans=tuple(s for s in spans if s.version == number), figures=figures,
            param_changes=_param_changes(version, before) if before is not None else (),
            previous=before.model.version if before is not None else None, is_story_model=number == story_version))
    events = [TimelineEvent(v.model.created_ms, v.model.version, None,
                            f"Version {v.model.version} registered (run {v.run_name or v.model.run_id})")
              for v in versions]
    events += [TimelineEvent(e.at_ms, e.version, e.alias,
                             f"{e.alias} moved to version {e.version}" if e.version is not None
                             else f"{e.alias} removed") for e in history.events]
    events.sort(key=lambda e: (e.at_ms, e.alias is not None, e.version or 0))
    records = len(history.events)
    known = ("MLflow records when each version was registered and where each alias points now, but not when an "
             "alias moved. ")
    if records:
        known += (f"The dates of alias moves here come from {records} record{'s' if records != 1 else ''} that the "
                  "promotion step wrote as tags on the registered model (storybook.alias.<alias>.<time>).")
    else:
        known += ("No promotion step recorded when the aliases moved, so only where they point now is known.")
    compare = spec.compare_with or (config.trust.model.compare_with if config.trust is not None else None)
    side = _side_by_side(rows, history.aliases, story_version, compare, comparison,
                         {v.model.version: v for v in versions}, history.scored, in_use, config)
    return HistoryReport(name=history.name, rows=tuple(rows), events=tuple(events), known=known,
                         not_known=problems, records=records, side_by_side=side,
                         first_shown=min((v.model.version for v in versions), default=0))


def _side_by_side(rows: list[TimelineRow], aliases: dict[str, int], story_version: int | None,
                  compare: str | None, comparison: Comparison | None,
                  versions: dict[int, HistoryVersion], scored: pd.DataFrame | None,
                  in_use: str, config: StoryConfig) -> SideBySide | None:
    """The story's version (left) beside the version ``compare`` names (right); each row's sentence tells the
    story's version against the other one, naming both, so it never reads as a version compared with itself."""
    if compare is None or story_version is None or aliases.get(compare) in (None, story_version):
        return None
    by_version = {r.version: r for r in rows}
    left, right = by_version.get(story_version), by_version.get(aliases[compare])
    if left is None or right is None:
        return None
    lines = []
    if comparison is None or comparison.compared_version.version != right.version:
        comparison = comparison_between(_ref(left), _ref(right), in_use, aliases)
    this, other = comparison.named("story"), comparison.named("compared")
    for left_step, right_step in zip(left.figures, right.figures, strict=True):
        spec = left_step.spec
        found = _gap(spec, versions[left.version], versions[right.version], scored,
                     (left_step.estimate, right_step.estimate), config)
        if (left_step.estimate is not None and right_step.estimate is not None and found is not None
                and _task_kind(spec)):
            verdict, sentence = _compared(spec, left_step.estimate, right_step.estimate, found, this=this,
                                          other=other, unit=_unit(config))
        elif left_step.estimate is not None and right_step.estimate is not None and found is not None:
            gap, paired = found
            verdict = gap_verdict(gap, higher_is_better=spec.higher_is_better)
            sentence = check_previous_version(left_step.estimate, right_step.estimate, metric=_what(spec), source="",
                                              higher_is_better=spec.higher_is_better, other=other,
                                              this=this, gap=gap, paired=paired).sentence
        else:
            verdict = None
            sentence = "No range to compare by." if left_step.value is not None and right_step.value is not None \
                else "Not logged for both versions."
        lines.append((spec, left_step, right_step, verdict, sentence))
    return SideBySide(left=left, right=right, rows=tuple(lines))


def _unit(config: StoryConfig) -> str | None:
    return config.evaluation.amount_unit if config.evaluation is not None else None


def _ref(row: TimelineRow) -> VersionRef:
    return VersionRef(row.version, row.aliases_now, row.run_id)
