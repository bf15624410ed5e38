"""The trust report of a story: evidence gathered from what was resolved, levels, rubric, and chart data.

Composes :mod:`storybook.analyse.trust_checks` and :mod:`storybook.analyse.trust` for one story. Pure: it
reads only the resolved data and the story's declarations.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
import pandas as pd

from storybook.analyse.classification import PROPORTION_KINDS, Estimate
from storybook.analyse.comparison import Comparison, compare_versions
from storybook.analyse.data_surprises import find_surprises
from storybook.analyse.decision_judge import Scored, case_ids, version_gap
from storybook.analyse.label_free_story import EstimatedPerformance
from storybook.analyse.plain import Vocabulary, in_sentence, kind_phrase
from storybook.analyse.task_versions import TaskSet, TaskVersion, figure_of, task_gap
from storybook.analyse.trust import Attestation, LevelResult, RubricScore, levels_for, score_rubric
from storybook.analyse.trust_checks.data import (
    check_class_balance,
    check_class_shares,
    check_duplicates,
    check_label_rates,
    check_missing,
    check_shift,
    check_small_slices,
)
from storybook.analyse.trust_checks.evidence import CHECK_TITLES, Area, Evidence
from storybook.analyse.trust_checks.model import (
    check_calibration,
    check_fold_stability,
    check_held_out,
    check_previous_version,
    check_slice_gaps,
)
from storybook.analyse.trust_checks.statistics import (
    ChangePoint,
    ReliabilityCurve,
    counted_curve,
    find_change,
    reliability_curve,
)
from storybook.analyse.trust_checks.surprises import check_conflicts, check_leaks, needs_rows, surprise_evidence
from storybook.analyse.trust_checks.system import (
    ModelVersion,
    check_change,
    check_deployments,
    check_estimate_guardrails,
    check_guardrails,
)
from storybook.analyse.trust_checks.task_model import (
    check_interval_coverage,
    check_task_held_out,
    check_task_previous_version,
    check_top_label_calibration,
    top_label_curve,
)
from storybook.analyse.trust_checks.weak_groups import check_weak_groups
from storybook.analyse.weak_groups_story import WeakGroups
from storybook.metrics.kinds import INTERVAL_KINDS, kind_info
from storybook.resolve.resolved import ResolvedStory, Series
from storybook.resolve.scored import AnyScoredSet, ScoredSet
from storybook.resolve.scored_multiclass import MulticlassSet
from storybook.resolve.scored_regression import RegressionSet
from storybook.sources.schema import DEFAULT_IN_USE_ALIAS, Guardrail, StoryConfig, TrustSpec

if TYPE_CHECKING:
    from storybook.analyse.card import ModelCard

__all__ = ["GuardedSeries", "TrustReport", "analyse_trust"]


@dataclass(frozen=True)
class GuardedSeries:
    """A production series with its guardrail and the change found in it, for the chart."""

    guardrail: Guardrail
    series: Series
    change: ChangePoint


@dataclass(frozen=True)
class TrustReport:
    spec: TrustSpec
    levels: tuple[LevelResult, ...]
    rubric: RubricScore
    reliability: ReliabilityCurve | None
    guarded: tuple[GuardedSeries, ...]
    attestations: tuple[Attestation, ...]


def _estimate(kind: str, labels: npt.NDArray[np.bool_], scores: npt.NDArray[np.float64], threshold: float,
              ) -> Estimate:
    info = kind_info(kind)
    if info is None or info.interval == "none":
        raise ValueError(f"no interval for metric kind {kind!r}")
    return info.measure(labels, scores, threshold)


# The checks a multiclass or regression story can have (a binary story can have every check): no outcome balance
# or outcome rates per group (a yes/no label's), no gaps between groups yet; calibration only with chances
# (multiclass) or prediction intervals (regression: their coverage against their stated level).
_TASK_DATA = ("data.missing", "data.duplicates", "data.small_slices", "data.shift", "data.leaks",
              "data.empty_columns", "data.group_coverage", "data.weak_groups")
# Performance before the labels are in is estimated for binary stories only (storybook.analyse.label_free_story).
_SYSTEM = tuple(check for check in CHECK_TITLES
                if check.startswith("system.") and check != "system.estimate_guardrails")
TASK_CHECKS: dict[str, dict[Area, tuple[str, ...]]] = {
    "regression": {"model": ("model.held_out", "model.fold_stability", "model.previous_version"),
                   "data": _TASK_DATA, "system": _SYSTEM},
    "regression with intervals": {"model": ("model.held_out", "model.fold_stability", "model.calibration",
                                            "model.previous_version"), "data": _TASK_DATA, "system": _SYSTEM},
    "multiclass": {"model": ("model.held_out", "model.fold_stability", "model.calibration",
                             "model.previous_version"),
                   "data": ("data.class_balance", *_TASK_DATA, "data.contradictions"), "system": _SYSTEM},
}


def analyse_trust(config: StoryConfig, resolved: ResolvedStory, card: ModelCard, scored: AnyScoredSet | None, *,
                  comparison: Comparison | None = None, in_use: str = DEFAULT_IN_USE_ALIAS,
                  compared_set: AnyScoredSet | None = None, weak_groups: WeakGroups | None = None,
                  estimate: EstimatedPerformance | None = None) -> TrustReport:
    """The story's trust report. ``scored`` and ``compared_set`` are the story's and the compared version's
    checked scored sets for its task (storybook.resolve.scored), built once by the composer; ``comparison``
    names the two versions and which is in use (by default with the alias ``in_use``); ``in_use`` is the alias
    that marks the version in use, for the deployment check. A multiclass or regression story's model is judged
    on its task's figures (:func:`_task_model`); the data and system checks read features and series alike for
    every task."""
    given, given_compared = scored, compared_set   # as given: the surprise checks read any task's rows
    task_set = scored if isinstance(scored, MulticlassSet | RegressionSet) else None
    task_compared = compared_set if isinstance(compared_set, MulticlassSet | RegressionSet) else None
    scored = scored if isinstance(scored, ScoredSet) else None
    compared_set = compared_set if isinstance(compared_set, ScoredSet) else None
    # A counted set (an aggregate) is judged from its counts (the card's figures, calibration from its sums);
    # the checks that read rows one by one leave it out.
    counted_set = scored if scored is not None and scored.weights is not None else None
    if counted_set is not None:
        scored = compared_set = None
    labels = scored.labels if scored is not None else None
    scores = scored.scores if scored is not None else None
    if comparison is None:
        comparison = compare_versions(config, resolved, None)
    spec = config.trust
    assert spec is not None
    run = resolved.run
    words = card.words
    evidence: list[Evidence] = []
    artifact = config.evaluation.artifact if config.evaluation is not None else None
    evaluation_source = f"evaluation set {artifact} of run {run.run_id}"
    model = spec.model
    reliability = None
    if counted_set is not None and counted_set.counted is not None:
        evaluation_source = f"aggregate {counted_set.counted.artifact} of run {run.run_id}"
        reliability = counted_curve(counted_set)

    # Model
    if labels is not None and scores is not None and card.threshold is not None:
        evidence.append(check_held_out(_estimate(model.metric, labels, scores, card.threshold), model.minimum,
                                       kind=model.metric, source=evaluation_source, words=words, rules=card.rules))
        evidence.append(check_calibration(labels, scores, tolerance=model.calibration_tolerance,
                                          source=evaluation_source))
        reliability = reliability_curve(labels, scores)
    elif card.overall is not None and model.metric in PROPORTION_KINDS:
        evidence.append(check_held_out(card.overall.rates[model.metric], model.minimum, kind=model.metric,
                                       source=evaluation_source if counted_set is not None
                                       else f"confusion counts of run {run.run_id}", words=words,
                                       rules=card.rules))
    if counted_set is not None and reliability is not None:
        evidence.append(check_calibration(counted_set.labels, counted_set.scores, tolerance=model.calibration_tolerance,
                                          source=evaluation_source, curve=reliability))
    if task_set is not None:
        found, reliability = _task_model(config, resolved, card, task_set, task_compared, comparison,
                                         evaluation_source)
        evidence.extend(found)
    if model.folds is not None and model.folds in resolved.series:
        folds = resolved.series[model.folds]
        declared = next((spec.label for spec in config.series if spec.key == model.folds), None)
        told = in_sentence(declared) if declared else f"figure logged as {model.folds}"  # never a bare key
        evidence.append(check_fold_stability([p.value for p in folds.points], model.fold_tolerance,
                                             metric=told, source=f"metric history {folds.key} of run "
                                             f"{run.run_id}"))
    if model.metric in PROPORTION_KINDS:
        for analysis in card.slices:
            rates = {row.value: row.rates[model.metric] for row in analysis.table.rows}
            evidence.append(check_slice_gaps(rates, model.slice_gap_tolerance, metric=model.metric,
                                             slice_name=in_sentence(analysis.spec.label),
                                             min_size=config.min_slice_size, source=evaluation_source,
                                             rules=card.rules))
    compared = resolved.compared
    evaluation_frame = resolved.evaluation
    itself = comparison is not None and comparison.same_version   # nothing to compare a version with
    if compared is not None and labels is not None and scores is not None and card.threshold is not None \
            and compared_set is not None and config.evaluation is not None and not itself:
        frame = compared_set.frame
        # The story's threshold when it sets one, else the compared run's own param (checked by scored_set).
        other_labels, other_scores = compared_set.labels, compared_set.scores
        other_threshold = compared_set.threshold
        id_column = config.evaluation.id_column
        mine = Scored("", labels, scores, card.threshold, None, "",
                      ids=case_ids(evaluation_frame, id_column) if evaluation_frame is not None else None)
        theirs = Scored("", other_labels, other_scores, other_threshold, None, "", ids=case_ids(frame, id_column))
        gap, paired = (version_gap(model.metric, mine, theirs)   # the interval the decision grounds use too
                       if model.metric in INTERVAL_KINDS else (None, False))
        evidence.append(check_previous_version(
            _estimate(model.metric, labels, scores, card.threshold),
            _estimate(model.metric, other_labels, other_scores, other_threshold),
            metric=model.metric, source=f"run {compared.run.run_id}", gap=gap, paired=paired,
            other=comparison.named("compared") if comparison is not None else
            f"version {compared.model.version} ({', '.join(compared.model.aliases) or 'no alias'})",
            this=comparison.named("story") if comparison is not None else None, rules=card.rules))

    # Data
    if counted_set is not None:  # counts of cases per outcome and group; the missing values need rows
        evidence.append(check_class_balance(counted_set.labels, source=evaluation_source, words=words,
                                            weights=counted_set.weights))
        for slice_spec in config.slices:
            groups = counted_set.frame[slice_spec.column].rename(in_sentence(slice_spec.label))
            evidence.append(check_label_rates(counted_set.labels, groups, min_size=config.min_slice_size,
                                              source=evaluation_source, words=words, weights=counted_set.weights))
            evidence.append(check_small_slices(groups, min_size=config.min_slice_size, source=evaluation_source,
                                               weights=counted_set.weights))
    evaluation = resolved.evaluation
    if (labels is not None or task_set is not None) and evaluation is not None:
        if labels is not None:  # outcome balance and rates are a binary story's (a yes/no label)
            evidence.append(check_class_balance(labels, source=evaluation_source, words=words))
        elif isinstance(task_set, MulticlassSet):  # a multiclass story's: how many of each class
            counted = np.bincount(task_set.scores.truth, minlength=task_set.scores.k)
            shares = [(spec.means, int(count)) for spec, count in zip(task_set.classes, counted, strict=True)]
            evidence.append(check_class_shares(shares, unit=words.unit, source=evaluation_source))
        for slice_spec in config.slices:
            groups = evaluation[slice_spec.column].rename(in_sentence(slice_spec.label))
            if labels is not None:
                evidence.append(check_label_rates(labels, groups, min_size=config.min_slice_size,
                                                  source=evaluation_source, words=words))
            evidence.append(check_small_slices(groups, min_size=config.min_slice_size, source=evaluation_source))
        first_slice = evaluation[config.slices[0].column] if config.slices else None
        evidence.append(check_missing(evaluation, first_slice, min_size=config.min_slice_size,
                                      source=evaluation_source))
    training = resolved.tables.get(spec.data.training_artifact or "")
    production = resolved.tables.get(spec.data.production_artifact or "")
    features = list(spec.data.features)
    if training is not None and evaluation is not None:
        columns = features or _shared_features(config, training, evaluation)
        evidence.append(check_duplicates(training, evaluation, columns,
                                         source=f"{spec.data.training_artifact} and {artifact} of run {run.run_id}"))
    if training is not None and production is not None:
        columns = features or _shared_features(config, training, production)
        evidence.append(check_shift(training[columns], production[columns], columns,
                                    source=f"{spec.data.training_artifact} and {spec.data.production_artifact} "
                                    f"of run {run.run_id}",
                                    labels=config.drivers.names if config.drivers is not None else None))

    evidence.extend(_surprises(config, resolved, words, given, given_compared, comparison, evaluation_source))

    if weak_groups is not None:  # the scan for weak groups (story.yaml scan:)
        evidence.append(check_weak_groups(weak_groups, unit=words.unit, source=evaluation_source))

    # System
    guarded = []
    for guardrail in spec.guardrails:
        series = resolved.series[guardrail.series]
        points = [(p.step, p.timestamp_ms, p.value) for p in series.points]
        source = f"metric history {series.key} of run {run.run_id}"
        evidence.append(check_guardrails(points, lower=guardrail.lower, upper=guardrail.upper,
                                         name=guardrail.name, source=source))
        evidence.append(check_change(points, name=guardrail.name, source=source))
        guarded.append(GuardedSeries(guardrail=guardrail, series=series,
                                     change=find_change([p.value for p in series.points])))
    if estimate is not None and spec.estimate is not None and spec.estimate.guardrails:
        refused = estimate.refused if any(g.figure == "estimated" for g in spec.estimate.guardrails) else None
        evidence.append(check_estimate_guardrails(estimate.report, estimate.guards, refused=refused,
                                                  source=estimate.source))
    if resolved.versions:
        evidence.append(check_deployments(
            [ModelVersion(v.version, v.created_ms, v.aliases) for v in resolved.versions], in_use=in_use,
            source=f"model registry, {resolved.versions[0].name}"))

    attestations = tuple(Attestation(who=a.who, role=a.role, when=a.when, statement=a.statement, check=a.check,
                                     automated=a.automated) for a in spec.attestations)
    kind_of_story = config.task + (" with intervals" if config.evaluation is not None
                                   and config.evaluation.interval_level is not None else "")
    return TrustReport(spec=spec, levels=levels_for(evidence, attestations, expected=TASK_CHECKS.get(kind_of_story)),
                       rubric=score_rubric(evidence, attestations), reliability=reliability,
                       guarded=tuple(guarded), attestations=attestations)


def _task_model(config: StoryConfig, resolved: ResolvedStory, card: ModelCard, task_set: TaskSet,
                compared_set: TaskSet | None, comparison: Comparison | None, source: str,
                ) -> tuple[list[Evidence], ReliabilityCurve | None]:
    """Trust in a multiclass or regression model: the held-out figure against the story's bound, top-label
    calibration (multiclass, with chances), and the comparison with the compared version (paired on the same
    cases)."""
    spec = config.trust
    evaluation = config.evaluation
    assert spec is not None and evaluation is not None
    model = spec.model
    kind, unit, words = model.metric, evaluation.amount_unit, card.words
    phrase = kind_phrase(kind, words)
    estimate = figure_of(kind, task_set)
    minimum = None if model.maximum is not None else model.minimum
    evidence = [check_task_held_out(estimate, kind, phrase, minimum=minimum, maximum=model.maximum, unit=unit,
                                    counted=words.unit, source=source)]
    reliability = None
    if isinstance(task_set, RegressionSet) and evaluation.interval_level is not None:
        covered = check_interval_coverage(task_set.scores, level=evaluation.interval_level,
                                          tolerance=model.calibration_tolerance, unit=words.unit, source=source)
        if covered is not None:
            evidence.append(covered)
    if isinstance(task_set, MulticlassSet):
        evidence.append(check_top_label_calibration(task_set.scores, tolerance=model.calibration_tolerance,
                                                    unit=words.unit, source=source))
        reliability = top_label_curve(task_set.scores)
    compared = resolved.compared
    itself = comparison is not None and comparison.same_version
    if compared is not None and compared_set is not None and not itself:
        mine = TaskVersion("", task_set, source, ids=case_ids(task_set.frame, evaluation.id_column))
        theirs = TaskVersion("", compared_set, "", ids=case_ids(compared_set.frame, evaluation.id_column))
        gap, paired = task_gap(kind, mine, theirs)   # the interval the decision grounds use too
        other = comparison.named("compared") if comparison is not None else \
            f"version {compared.model.version} ({', '.join(compared.model.aliases) or 'no alias'})"
        this = comparison.named("story") if comparison is not None else "this version"
        evidence.append(check_task_previous_version(
            estimate, figure_of(kind, compared_set), gap, kind=kind, phrase=phrase, unit=unit, paired=paired,
            this=this, other=other, source=f"run {compared.run.run_id}"))
    return evidence, reliability


def _not_inputs(config: StoryConfig, story_set: AnyScoredSet) -> set[str]:
    """The columns of a scored set that are not the model's inputs: the outcome, the model's answers (score,
    call, chances, forecast and its interval; a binary set's column equal to its flags), and the id column."""
    evaluation = config.evaluation
    assert evaluation is not None
    skip = {evaluation.label_column, evaluation.score_column, evaluation.actual_column}
    skip |= {c for c in (evaluation.prediction_column, evaluation.lower_column, evaluation.upper_column,
                         evaluation.id_column) if c is not None}
    skip |= {str(c.probability_column) for c in evaluation.classes or () if c.probability_column}
    if isinstance(story_set, ScoredSet):
        flags = story_set.scores >= story_set.threshold
        for column in story_set.frame.columns:
            values = story_set.frame[column]
            if column not in skip and pd.api.types.is_numeric_dtype(values) \
                    and np.array_equal(values.to_numpy(dtype=float), flags.astype(float)):
                skip.add(str(column))
    return skip


def _outcomes(story_set: AnyScoredSet) -> npt.NDArray[np.generic]:
    if isinstance(story_set, ScoredSet):
        return story_set.labels
    if isinstance(story_set, MulticlassSet):
        return story_set.scores.truth
    return story_set.scores.actual


def _surprises(config: StoryConfig, resolved: ResolvedStory, words: Vocabulary, story_set: AnyScoredSet | None,
               compared_set: AnyScoredSet | None, comparison: Comparison | None, source: str) -> list[Evidence]:
    """Leaks, contradicting outcomes, columns that tell nothing and groups on one side only, in the story's
    evaluation set (with the training table, when trust.data names one); in the compared version's set, told
    only when a leak or contradicting outcomes are found there."""
    spec = config.trust
    if config.evaluation is None or story_set is None or spec is None:
        return []
    if getattr(story_set, "weights", None) is not None:
        return [needs_rows("this evaluation set holds counts of cases in score bins, not one row per case",
                           source=source)]
    task = config.task
    skip = _not_inputs(config, story_set)
    training_artifact = spec.data.training_artifact
    training = resolved.tables.get(training_artifact or "")
    found = find_surprises(story_set.frame, _outcomes(story_set), task=task, skip=skip, training=training)
    classes = len(story_set.classes) if isinstance(story_set, MulticlassSet) else 2
    columns = sum(str(c) not in skip for c in story_set.frame.columns)
    evidence = surprise_evidence(found, task=task, words=words, columns=columns, source=source, classes=classes,
                                 training_source=f"{training_artifact} and {source}")
    compared = resolved.compared
    if compared_set is None or compared is None or getattr(compared_set, "weights", None) is not None \
            or (comparison is not None and comparison.same_version):
        return evidence
    other = find_surprises(compared_set.frame, _outcomes(compared_set), task=task,
                           skip=_not_inputs(config, compared_set))
    named = comparison.named("compared") if comparison is not None else "the compared version"
    which = f"the evaluation set of {named}"
    other_source = f"evaluation set {config.evaluation.artifact} of run {compared.run.run_id}"
    if other.leaks:
        evidence.append(check_leaks(other, task=task, words=words, source=other_source, classes=classes, which=which))
    conflicts = check_conflicts(other, unit=words.unit, source=other_source, which=which)
    if conflicts is not None and conflicts.passed is False:
        evidence.append(conflicts)
    return evidence


def _shared_features(config: StoryConfig, one: pd.DataFrame, other: pd.DataFrame) -> list[str]:
    """Columns both tables have, other than what the model was scored on (the label and score; a multiclass
    story's label, call and chance columns; a regression story's actual, forecast and interval columns) and the
    slice columns."""
    skip = {s.column for s in config.slices}
    if config.evaluation is not None:
        skip |= {config.evaluation.label_column, config.evaluation.score_column}
        if config.task != "binary":
            evaluation = config.evaluation
            skip |= {c for c in (evaluation.prediction_column, evaluation.actual_column, evaluation.lower_column,
                                 evaluation.upper_column) if c is not None}
            skip |= {str(c.probability_column) for c in evaluation.classes or () if c.probability_column}
    return [str(c) for c in one.columns if c in other.columns and c not in skip and c != "day"]
