"""The model card of a story (Mitchell et al. 2019): its figures, slices and caveats, as plain data."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from storybook.analyse.card import MetricLine, ModelCard, SliceAnalysis
from storybook.analyse.claims import ClaimResult, check_claims
from storybook.analyse.classification import (
    PROPORTION_KINDS,
    Confusion,
    Estimate,
    SliceRow,
    disaggregate,
    rate,
)
from storybook.analyse.comparison import compare_versions, in_use_alias
from storybook.analyse.cost_story import CostStory, analyse_cost_at_counts, analyse_cost_story
from storybook.analyse.decision import DecisionBrief, analyse_decision
from storybook.analyse.drivers import DriversReport, analyse_drivers
from storybook.analyse.glossary import Term, story_glossary
from storybook.analyse.history import HistoryReport, analyse_history
from storybook.analyse.plain import (
    DEFAULT_RULES,
    Vocabulary,
    WordingRules,
    certainty,
    definition,
    metric_sentence,
    mismatch_sentence,
    share_phrase,
    slice_wording,
)
from storybook.analyse.reconcile import TOLERANCE, Mismatch, likely_cause, measured_on, recompute
from storybook.analyse.trust_story import TrustReport, analyse_trust
from storybook.errors import Location, SourceError
from storybook.resolve.resolved import Figure, ResolvedStory
from storybook.resolve.scored import ScoredSet, scored_set, threshold_of
from storybook.sources.loader import StorySource
from storybook.sources.schema import MetricSpec, ProjectConfig

__all__ = [
    "MetricLine", "ModelCard", "SliceAnalysis", "StoryAnalysis", "analyse_model_card", "analyse_story",
    "compared_scored_set", "labels_and_scores", "story_scored_set", "vocabulary",
]

# MLflow dataset contexts (mlflow.log_input(context=...), autolog's "train" / "eval") by what they hold.
TRAINING_CONTEXTS = ("train", "training")
EVALUATION_CONTEXTS = ("eval", "evaluation", "validation", "test", "testing")


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
    scored = story_scored_set(story, resolved)
    card = analyse_model_card(story, resolved, wording_rules(project), scored=scored)
    config = story.config
    compared_set = None
    if config.trust is not None or config.decision is not None:
        compared_set = compared_scored_set(story, resolved)  # checked once, read by trust and the decision
    comparison = compare_versions(config, resolved, project)  # which way every comparison of versions runs
    labels = scored.labels if scored is not None else None
    scores = scored.scores if scored is not None else None
    cost = None
    if config.cost_of_error is not None and card.threshold is not None:
        if scored is not None:
            cost = analyse_cost_story(config.cost_of_error, scored.labels, scored.scores, card.threshold,
                                      scored.frame[[s.column for s in config.slices]], config.slices,
                                      config.min_slice_size)
        elif card.overall is not None:
            cost = analyse_cost_at_counts(config.cost_of_error, card.overall.confusion, card.threshold,
                                          config.min_slice_size)
    trust = None
    if config.trust is not None:
        trust = analyse_trust(config, resolved, card, labels, scores, comparison=comparison, compared_set=compared_set,
                              in_use=in_use_alias(config, project))
    claims = check_claims(
        story, resolved,
        [(s.spec.column, [(row.value, row.rates) for row in s.table.rows]) for s in card.slices],
        {line.spec.key: line.estimate for line in card.metrics if line.estimate is not None})
    decision = None
    if config.decision is not None:
        decision = analyse_decision(config, resolved, card, cost, trust, labels, scores, comparison=comparison,
                                    compared_set=compared_set)
    drivers = None
    if config.drivers is not None and resolved.drivers is not None:
        drivers = analyse_drivers(resolved.drivers, config.drivers, words=card.words, slices=config.slices,
                                  evaluation=resolved.evaluation, min_slice_size=config.min_slice_size)
    history = None
    if config.history is not None and resolved.history is not None:
        history = analyse_history(resolved.history, config, resolved.model.version if resolved.model else None,
                                  comparison=comparison, in_use=in_use_alias(config, project))
    return StoryAnalysis(card=card, cost=cost, trust=trust, claims=claims, decision=decision,
                         glossary=story_glossary(config, project, card.words), drivers=drivers, history=history)


def vocabulary(story: StorySource) -> Vocabulary:
    evaluation = story.config.evaluation
    if evaluation is None:
        return Vocabulary()
    return Vocabulary(unit=evaluation.unit, positive=evaluation.positive_means,
                      negative=evaluation.negative_means, flagged=evaluation.flagged_means)


def analyse_model_card(story: StorySource, resolved: ResolvedStory, rules: WordingRules = DEFAULT_RULES, *,
                       scored: ScoredSet | None = None) -> ModelCard:
    """The model card; ``scored`` is the story's checked scored set when the caller built it already."""
    config = story.config
    words = vocabulary(story)
    if scored is None:
        scored = story_scored_set(story, resolved)
    threshold, threshold_source = _threshold(story, resolved)
    overall: SliceRow | None = None
    slices: list[SliceAnalysis] = []
    if config.evaluation is not None and config.evaluation.counts is not None:
        counts = config.evaluation.counts
        logged = resolved.run.metrics
        where = story.yaml.location(("evaluation", "counts"))
        confusion = Confusion(tp=_count(logged[counts.tp].value, where), fp=_count(logged[counts.fp].value, where),
                              tn=_count(logged[counts.tn].value, where), fn=_count(logged[counts.fn].value, where))
        overall = SliceRow(value="all", n=confusion.n, positives=confusion.positives, confusion=confusion,
                           rates={kind: rate(kind, confusion) for kind in PROPORTION_KINDS},
                           auc=Estimate(None, None, None, confusion.n))
    if scored is not None:
        assert config.evaluation is not None
        frame = scored.frame
        for index, spec in enumerate(config.slices):
            if spec.column not in frame.columns:
                raise SourceError(
                    f"the evaluation set has no column {spec.column!r} to slice by",
                    location=story.yaml.location(("slices", index, "column")),
                    hint=f"columns: {', '.join(map(str, frame.columns[:20]))}",
                )
        overall, tables = disaggregate(scored.labels, scored.scores, frame[[s.column for s in config.slices]],
                                       scored.threshold)
        headline = next((m.kind for m in config.metrics if m.kind in PROPORTION_KINDS), "recall")
        for spec, table in zip(config.slices, tables, strict=True):
            small = tuple(row.value for row in table.rows if row.n < config.min_slice_size)
            told = slice_wording(table.rows, overall, headline, spec.label, words, rules)
            slices.append(SliceAnalysis(spec=spec, table=table, small=small, told=told))

    positive = config.evaluation.positive_value if config.evaluation is not None else ""
    metrics = [_metric_line(spec, resolved.run.metrics[spec.key], overall, scored, positive, words, rules)
               for spec in config.metrics]
    datasets = resolved.run.datasets
    return ModelCard(
        words=words, threshold=threshold, threshold_source=threshold_source, metrics=tuple(metrics),
        overall=overall, slices=tuple(slices),
        training_data=tuple(d for d in datasets if d.context.lower() in TRAINING_CONTEXTS),
        evaluation_data=tuple(d for d in datasets if d.context.lower() in EVALUATION_CONTEXTS),
        caveats=tuple(_caveats(config.min_slice_size, slices, metrics, words, rules)),
        rules=rules,
    )


def _metric_line(spec: MetricSpec, figure: Figure, overall: SliceRow | None, scored: ScoredSet | None,
                 positive_value: str, words: Vocabulary, rules: WordingRules) -> MetricLine:
    """One figure, told only from what it really measured (the rule is in storybook.analyse.reconcile)."""
    where = measured_on(spec)
    told = definition(spec.kind, words)
    if where != "evaluation":
        return MetricLine(spec=spec, figure=figure, definition=told, estimate=None, measured_on=where,
                          sentence=metric_sentence(spec.kind, figure.value, None, words, rules, measured_on=where))
    recomputed = recompute(spec.kind, overall, scored)
    if recomputed is None or recomputed.value is None:
        return MetricLine(spec=spec, figure=figure, definition=told, estimate=None, recomputed=recomputed,
                          sentence=metric_sentence(spec.kind, figure.value, None, words, rules))
    if abs(recomputed.value - figure.value) <= TOLERANCE:
        estimate = recomputed if recomputed.low is not None else None
        return MetricLine(spec=spec, figure=figure, definition=told, estimate=estimate, recomputed=recomputed,
                          sentence=metric_sentence(spec.kind, figure.value, estimate, words, rules))
    mismatch = Mismatch(key=spec.key, kind=spec.kind, logged=figure.value, recomputed=recomputed.value,
                        cause=likely_cause(spec.kind, figure.value, recomputed.value, scored, positive_value))
    interval = recomputed if recomputed.low is not None else None
    sentence = metric_sentence(spec.kind, recomputed.value, interval, words, rules)
    return MetricLine(spec=spec, figure=figure, definition=told, estimate=None, recomputed=recomputed,
                      mismatch=mismatch,
                      sentence=f"{sentence} {mismatch_sentence(figure.value, recomputed.value, mismatch.cause)}")


def _count(value: float, location: Location) -> int:
    if not math.isfinite(value) or value < 0 or value != int(value):
        raise SourceError(f"a confusion count must be a whole number of cases, not {value}", location=location,
                          hint="point counts at the metrics that hold the tp, fp, tn and fn counts")
    return int(value)


def _threshold(story: StorySource, resolved: ResolvedStory) -> tuple[float | None, str]:
    if story.config.evaluation is None:
        return None, ""
    return threshold_of(story, resolved.run.params, resolved.run.run_id)


def story_scored_set(story: StorySource, resolved: ResolvedStory) -> ScoredSet | None:
    """The story's version's checked scored set (storybook.resolve.scored), or None when it has none."""
    if story.config.evaluation is None or resolved.evaluation is None:
        return None
    return scored_set(story, resolved.evaluation, resolved.run.params, resolved.run.run_id)


def compared_scored_set(story: StorySource, resolved: ResolvedStory) -> ScoredSet | None:
    """The compared version's checked scored set (the same premises as the story's own), or None."""
    compared = resolved.compared
    if story.config.evaluation is None or compared is None or compared.evaluation is None:
        return None
    return scored_set(story, compared.evaluation, compared.run.params, compared.run.run_id,
                      which=f"version {compared.model.version}, the compared version")


def labels_and_scores(story: StorySource, resolved: ResolvedStory,
                      ) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.float64]]:
    """Which rows are positive, and their scores, from the story's checked scored set."""
    scored = story_scored_set(story, resolved)
    assert scored is not None
    return scored.labels, scored.scores


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
