"""The model card of a story (Mitchell et al. 2019): its figures, slices and caveats, as plain data."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from storybook.analyse.claims import ClaimResult, check_claims
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
from storybook.analyse.decision import DecisionBrief, analyse_decision
from storybook.analyse.drivers import DriversReport, analyse_drivers
from storybook.analyse.glossary import Term, story_glossary
from storybook.analyse.history import HistoryReport, analyse_history
from storybook.analyse.plain import (
    DEFAULT_RULES,
    GroupWording,
    Vocabulary,
    WordingRules,
    certainty,
    definition,
    metric_sentence,
    share_phrase,
    slice_wording,
)
from storybook.analyse.trust_story import TrustReport, analyse_trust
from storybook.errors import Location, SourceError
from storybook.resolve.resolved import DatasetRecord, Figure, ResolvedStory
from storybook.sources.loader import StorySource
from storybook.sources.schema import MetricSpec, ProjectConfig, SliceSpec

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
    told: dict[str, GroupWording] | None = None  # group value -> its shares and sentence, by the wording rules


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
    rules: WordingRules = DEFAULT_RULES


@dataclass(frozen=True)
class StoryAnalysis:
    """Everything analysed for one story: its model card and, when asked for, its cost of error."""

    card: ModelCard
    cost: CostStory | None
    trust: TrustReport | None = None
    claims: tuple[ClaimResult, ...] = ()
    glossary: tuple[Term, ...] = ()
    decision: DecisionBrief | None = None
    drivers: DriversReport | None = None
    history: HistoryReport | None = None


def wording_rules(project: ProjectConfig | None) -> WordingRules:
    """The project's ``wording:`` rules (storybook's defaults without a project)."""
    if project is None:
        return DEFAULT_RULES
    return WordingRules(tight_width=project.wording.tight_width, min_count=project.wording.min_count)


def analyse_story(story: StorySource, resolved: ResolvedStory, project: ProjectConfig | None = None,
                  ) -> StoryAnalysis:
    project = project if project is not None else story.project
    card = analyse_model_card(story, resolved, wording_rules(project))
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
    claims = check_claims(
        story, resolved,
        [(s.spec.column, [(row.value, row.rates) for row in s.table.rows]) for s in card.slices],
        {line.spec.key: line.estimate for line in card.metrics if line.estimate is not None})
    decision = None
    if config.decision is not None:
        scored = None
        if resolved.evaluation is not None and config.evaluation is not None:
            scored = labels_and_scores(story, resolved)
        decision = analyse_decision(config, resolved, card, cost, trust, *(scored or (None, None)))
    drivers = None
    if config.drivers is not None and resolved.drivers is not None:
        drivers = analyse_drivers(resolved.drivers, config.drivers, words=card.words, slices=config.slices,
                                  evaluation=resolved.evaluation, min_slice_size=config.min_slice_size)
    history = None
    if config.history is not None and resolved.history is not None:
        history = analyse_history(resolved.history, config, resolved.model.version if resolved.model else None)
    return StoryAnalysis(card=card, cost=cost, trust=trust, claims=claims, decision=decision,
                         glossary=story_glossary(config, project, card.words), drivers=drivers, history=history)


def vocabulary(story: StorySource) -> Vocabulary:
    evaluation = story.config.evaluation
    if evaluation is None:
        return Vocabulary()
    return Vocabulary(unit=evaluation.unit, positive=evaluation.positive_means,
                      negative=evaluation.negative_means, flagged=evaluation.flagged_means)


def analyse_model_card(story: StorySource, resolved: ResolvedStory, rules: WordingRules = DEFAULT_RULES,
                       ) -> ModelCard:
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
        headline = next((m.kind for m in config.metrics if m.kind in PROPORTION_KINDS), "recall")
        for spec, table in zip(config.slices, tables, strict=True):
            small = tuple(row.value for row in table.rows if row.n < config.min_slice_size)
            told = slice_wording(table.rows, overall, headline, spec.label, words, rules)
            slices.append(SliceAnalysis(spec=spec, table=table, small=small, told=told))

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
            sentence=metric_sentence(metric_spec.kind, figure.value, estimate, words, rules), estimate=estimate,
        ))
    datasets = resolved.run.datasets
    return ModelCard(
        words=words, threshold=threshold, threshold_source=threshold_source, metrics=tuple(metrics),
        overall=overall, slices=tuple(slices),
        training_data=tuple(d for d in datasets if d.context == "training"),
        evaluation_data=tuple(d for d in datasets if d.context in ("evaluation", "testing", "test")),
        caveats=tuple(_caveats(config.min_slice_size, slices, metrics, words, rules)),
        rules=rules,
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
             words: Vocabulary, rules: WordingRules) -> list[str]:
    caveats = []
    for analysis in slices:
        for row in analysis.table.rows:
            if row.n < min_size:
                caveats.append(
                    f"Only {row.n} {words.unit} in the evaluation have {analysis.spec.label.lower()} "
                    f"'{row.value}'; that is too few to judge the model for this group with confidence.")
    for line in metrics:
        estimate = line.estimate
        told = certainty(estimate, rules)
        if estimate is not None and told == "wide" and line.spec.kind in PROPORTION_KINDS:
            caveats.append(f"'{line.spec.label}' is uncertain: the evaluation supports anything "
                           f"{share_phrase(estimate, rules)}, from {estimate.n:,} cases.")
        elif estimate is not None and told == "too few":
            caveats.append(f"'{line.spec.label}' rests on too few cases to say ({estimate.n:,}; the project asks "
                           f"for at least {rules.min_count:,}).")
    return caveats
