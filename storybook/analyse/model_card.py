"""The model card of a story (Mitchell et al. 2019): its figures, slices and caveats, as plain data."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from storybook.analyse.classification import (
    PROPORTION_KINDS,
    Confusion,
    Estimate,
    SliceRow,
    SliceTable,
    auc_estimate,
    disaggregate,
    rate,
)
from storybook.analyse.cost_story import CostStory, analyse_cost_at_counts, analyse_cost_story
from storybook.analyse.plain import Vocabulary, definition, format_percent, metric_sentence
from storybook.analyse.trust_story import TrustReport, analyse_trust
from storybook.errors import Location, SourceError
from storybook.resolve.resolved import DatasetRecord, Figure, ResolvedStory
from storybook.sources.loader import StorySource
from storybook.sources.schema import MetricSpec, SliceSpec

__all__ = [
    "MetricLine", "ModelCard", "SliceAnalysis", "StoryAnalysis", "analyse_model_card", "analyse_story",
    "labels_and_scores", "vocabulary",
]


@dataclass(frozen=True)
class MetricLine:
    spec: MetricSpec
    figure: Figure
    definition: str
    sentence: str
    estimate: Estimate | None


@dataclass(frozen=True)
class SliceAnalysis:
    spec: SliceSpec
    table: SliceTable
    small: tuple[str, ...]


@dataclass(frozen=True)
class ModelCard:
    words: Vocabulary
    threshold: float | None
    threshold_source: str
    metrics: tuple[MetricLine, ...]
    overall: SliceRow | None
    slices: tuple[SliceAnalysis, ...]
    training_data: tuple[DatasetRecord, ...]
    evaluation_data: tuple[DatasetRecord, ...]
    caveats: tuple[str, ...]


@dataclass(frozen=True)
class StoryAnalysis:
    """Everything analysed for one story: its model card and, when asked for, its cost of error."""

    card: ModelCard
    cost: CostStory | None
    trust: TrustReport | None = None


def analyse_story(story: StorySource, resolved: ResolvedStory) -> StoryAnalysis:
    card = analyse_model_card(story, resolved)
    config = story.config
    cost = None
    if config.cost_of_error is not None and card.threshold is not None:
        if resolved.evaluation is not None:
            labels, scores = labels_and_scores(story, resolved)
            cost = analyse_cost_story(config.cost_of_error, labels, scores, card.threshold,
                                      resolved.evaluation[[s.column for s in config.slices]], config.slices,
                                      config.min_slice_size)
        elif card.overall is not None:
            cost = analyse_cost_at_counts(config.cost_of_error, card.overall.confusion, card.threshold,
                                          config.min_slice_size)
    trust = None
    if config.trust is not None:
        scored = None
        if resolved.evaluation is not None and config.evaluation is not None:
            scored = labels_and_scores(story, resolved)
        trust = analyse_trust(config, resolved, card, *(scored or (None, None)))
    return StoryAnalysis(card=card, cost=cost, trust=trust)


def vocabulary(story: StorySource) -> Vocabulary:
    evaluation = story.config.evaluation
    if evaluation is None:
        return Vocabulary()
    return Vocabulary(unit=evaluation.unit, positive=evaluation.positive_means,
                      negative=evaluation.negative_means, flagged=evaluation.flagged_means)


def analyse_model_card(story: StorySource, resolved: ResolvedStory) -> ModelCard:
    config = story.config
    words = vocabulary(story)
    threshold, threshold_source = _threshold(story, resolved)
    overall: SliceRow | None = None
    slices: list[SliceAnalysis] = []
    labels = scores = None
    if config.evaluation is not None and config.evaluation.counts is not None:
        counts = config.evaluation.counts
        logged = resolved.run.metrics
        where = story.yaml.location(("evaluation", "counts"))
        confusion = Confusion(tp=_count(logged[counts.tp].value, where), fp=_count(logged[counts.fp].value, where),
                              tn=_count(logged[counts.tn].value, where), fn=_count(logged[counts.fn].value, where))
        overall = SliceRow(value="all", n=confusion.n, positives=confusion.positives, confusion=confusion,
                           rates={kind: rate(kind, confusion) for kind in PROPORTION_KINDS},
                           auc=Estimate(None, None, None, confusion.n))
    if config.evaluation is not None and resolved.evaluation is not None:
        labels, scores = labels_and_scores(story, resolved)
        frame = resolved.evaluation
        for index, spec in enumerate(config.slices):
            if spec.column not in frame.columns:
                raise SourceError(
                    f"the evaluation set has no column {spec.column!r} to slice by",
                    location=story.yaml.location(("slices", index, "column")),
                    hint=f"columns: {', '.join(map(str, frame.columns[:20]))}",
                )
        assert threshold is not None
        overall, tables = disaggregate(labels, scores, frame[[s.column for s in config.slices]], threshold)
        for spec, table in zip(config.slices, tables, strict=True):
            small = tuple(row.value for row in table.rows if row.n < config.min_slice_size)
            slices.append(SliceAnalysis(spec=spec, table=table, small=small))

    metrics = []
    for metric_spec in config.metrics:
        figure = resolved.run.metrics[metric_spec.key]
        estimate = None
        if overall is not None and metric_spec.kind in PROPORTION_KINDS:
            estimate = overall.rates[metric_spec.kind]
        elif overall is not None and metric_spec.kind == "roc_auc" and labels is not None and scores is not None:
            estimate = auc_estimate(labels, scores)
        metrics.append(MetricLine(
            spec=metric_spec, figure=figure, definition=definition(metric_spec.kind, words),
            sentence=metric_sentence(metric_spec.kind, figure.value, estimate, words), estimate=estimate,
        ))
    datasets = resolved.run.datasets
    return ModelCard(
        words=words, threshold=threshold, threshold_source=threshold_source, metrics=tuple(metrics),
        overall=overall, slices=tuple(slices),
        training_data=tuple(d for d in datasets if d.context == "training"),
        evaluation_data=tuple(d for d in datasets if d.context in ("evaluation", "testing", "test")),
        caveats=tuple(_caveats(config.min_slice_size, slices, metrics, words)),
    )


def _count(value: float, location: Location) -> int:
    if not math.isfinite(value) or value < 0 or value != int(value):
        raise SourceError(f"a confusion count must be a whole number of cases, not {value}", location=location,
                          hint="point counts at the metrics that hold the tp, fp, tn and fn counts")
    return int(value)


def _threshold(story: StorySource, resolved: ResolvedStory) -> tuple[float | None, str]:
    evaluation = story.config.evaluation
    if evaluation is None:
        return None, ""
    if evaluation.threshold is not None:
        return evaluation.threshold, "set in the story"
    key = str(evaluation.threshold_param)
    raw = resolved.run.params.get(key)
    location = story.yaml.location(("evaluation", "threshold_param"))
    if raw is None:
        raise SourceError(f"run {resolved.run.run_id} has no param {key!r} holding the threshold",
                          location=location, hint="log the threshold as a param, or set evaluation.threshold")
    try:
        value = float(raw)
    except ValueError:
        raise SourceError(f"param {key!r} is {raw!r}, not a number between 0 and 1", location=location) from None
    if not 0 <= value <= 1:
        raise SourceError(f"param {key!r} is {value}, not between 0 and 1", location=location)
    return value, f"the run's param {key!r}"


def labels_and_scores(story: StorySource, resolved: ResolvedStory) -> tuple[np.ndarray, np.ndarray]:
    evaluation = story.config.evaluation
    frame = resolved.evaluation
    assert evaluation is not None and frame is not None
    for key, column in (("label_column", evaluation.label_column), ("score_column", evaluation.score_column)):
        if column not in frame.columns:
            raise SourceError(
                f"the evaluation set {evaluation.artifact!r} has no column {column!r}",
                location=story.yaml.location(("evaluation", key)),
                hint=f"columns: {', '.join(map(str, frame.columns[:20]))}",
            )
    labels = frame[evaluation.label_column].astype("string").to_numpy() == evaluation.positive_value
    try:
        scores = frame[evaluation.score_column].astype(float).to_numpy()
    except (TypeError, ValueError):
        raise SourceError(f"column {evaluation.score_column!r} holds values that are not numbers",
                          location=story.yaml.location(("evaluation", "score_column"))) from None
    if np.isnan(scores).any():
        raise SourceError(f"column {evaluation.score_column!r} has empty scores",
                          location=story.yaml.location(("evaluation", "score_column")),
                          hint="score every row of the evaluation set")
    return labels, scores


def _caveats(min_size: int, slices: list[SliceAnalysis], metrics: list[MetricLine],
             words: Vocabulary) -> list[str]:
    caveats = []
    for analysis in slices:
        for row in analysis.table.rows:
            if row.n < min_size:
                caveats.append(
                    f"Only {row.n} {words.unit} in the evaluation have {analysis.spec.label.lower()} "
                    f"'{row.value}'; that is too few to judge the model for this group with confidence.")
    for line in metrics:
        estimate = line.estimate
        if estimate is not None and estimate.width is not None and estimate.width > 0.2:
            caveats.append(
                f"'{line.spec.label}' is uncertain: the evaluation supports anything from "
                f"{format_percent(estimate.low)} to {format_percent(estimate.high)}.")
    return caveats
