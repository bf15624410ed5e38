"""The one composer of a story's analysis: the model card, cost of error, trust, claims, decision, drivers,
history and glossary, each from the same checked scored set.

This is the only module that assembles a :class:`StoryAnalysis`. Each version's scored evaluation set
(:class:`storybook.resolve.scored.ScoredSet`) is built and checked here once, and the same object is handed to
every analysis that reads it, so no part rebuilds labels, scores or the threshold on its own.
"""

from __future__ import annotations

from dataclasses import dataclass

from storybook.analyse.aggregate_words import drivers_sample_phrase
from storybook.analyse.card import ModelCard
from storybook.analyse.claims import ClaimResult, check_claims
from storybook.analyse.classification import Estimate
from storybook.analyse.comparison import compare_versions, in_use_alias
from storybook.analyse.cost_story import CostStory, analyse_cost_at_counts, analyse_cost_story, counted_costs
from storybook.analyse.decision import DecisionBrief, analyse_decision
from storybook.analyse.drivers import DriversReport, analyse_drivers
from storybook.analyse.glossary import Term, story_glossary
from storybook.analyse.history import HistoryReport, analyse_history
from storybook.analyse.label_free_multiclass_story import analyse_label_free_multiclass
from storybook.analyse.label_free_story import EstimatedPerformance, analyse_label_free
from storybook.analyse.model_card import analyse_model_card, wording_rules
from storybook.analyse.multiclass import MulticlassStory, analyse_multiclass
from storybook.analyse.regression import RegressionPerformance, analyse_regression
from storybook.analyse.regression_cost import RegressionCost, analyse_regression_cost
from storybook.analyse.trust_story import TrustReport, analyse_trust
from storybook.analyse.weak_groups_story import WeakGroups, analyse_weak_groups
from storybook.errors import SourceError
from storybook.resolve.resolved import ResolvedStory, compared_task_set, story_task_set
from storybook.resolve.scored import ScoredSet
from storybook.resolve.scored_multiclass import MulticlassSet
from storybook.resolve.scored_regression import RegressionSet
from storybook.sources.loader import StorySource
from storybook.sources.schema import ProjectConfig

__all__ = ["StoryAnalysis", "analyse_story"]


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
    multiclass: MulticlassStory | None = None  # a multiclass story's performance and cost of error
    regression: RegressionPerformance | None = None  # a regression story's performance section
    regression_cost: RegressionCost | None = None  # a regression story's cost of error
    weak_groups: WeakGroups | None = None  # groups nobody asked about (story.yaml scan:)
    estimate: EstimatedPerformance | None = None  # performance before the labels are in (trust.production_scores)


def analyse_story(story: StorySource, resolved: ResolvedStory, project: ProjectConfig | None = None,
                  ) -> StoryAnalysis:
    project = project if project is not None else story.project
    config = story.config
    task_set = story_task_set(story, resolved)  # built and checked once, read by every analysis below
    scored = task_set if isinstance(task_set, ScoredSet) else None  # a binary story's set
    compared_set = None
    if config.trust is not None or config.decision is not None:
        compared_set = compared_task_set(story, resolved)  # checked once, read by trust and the decision
    card = analyse_model_card(story, resolved, wording_rules(project), scored=task_set)
    comparison = compare_versions(config, resolved, project)  # which way every comparison of versions runs
    cost = None
    if config.cost_of_error is not None and card.threshold is not None and config.task == "binary":
        if scored is not None:
            cost = analyse_cost_story(config.cost_of_error, scored.labels, scored.scores, card.threshold,
                                      scored.frame[[s.column for s in config.slices]], config.slices,
                                      config.min_slice_size, counted=counted_costs(scored))
        elif card.overall is not None:
            cost = analyse_cost_at_counts(config.cost_of_error, card.overall.confusion, card.threshold,
                                          config.min_slice_size)
    weak_groups = analyse_weak_groups(story, task_set)
    estimate = (analyse_label_free_multiclass(config, resolved, task_set, card.words, card.rules)
                if isinstance(task_set, MulticlassSet) else
                analyse_label_free(config, resolved, scored, card.threshold, card.words, card.rules))
    trust = None
    if config.trust is not None:
        trust = analyse_trust(config, resolved, card, task_set, comparison=comparison, compared_set=compared_set,
                              in_use=in_use_alias(config, project), weak_groups=weak_groups, estimate=estimate)
    regression, regression_cost = _regression(story, task_set, card)
    multiclass = (analyse_multiclass(story, task_set, card.words, card.rules)
                  if isinstance(task_set, MulticlassSet) else None)
    claims = check_claims(
        story, resolved, _slice_figures(card, regression, multiclass),
        {line.spec.key: line.estimate for line in card.metrics if line.estimate is not None})
    decision = None
    if config.decision is not None:
        decision = analyse_decision(config, resolved, card, cost, trust, task_set, comparison=comparison,
                                    compared_set=compared_set,
                                    task_slices=dict(_slice_figures(card, regression, multiclass)))
    drivers = None
    if config.drivers is not None and resolved.drivers is not None:
        drivers = analyse_drivers(resolved.drivers, config.drivers, words=card.words, slices=config.slices,
                                  evaluation=resolved.evaluation, min_slice_size=config.min_slice_size,
                                  amount_unit=config.evaluation.amount_unit if config.evaluation else None,
                                  rows_told=_sample_told(scored, resolved.drivers.rows, card.words.unit))
    history = None
    if config.history is not None and resolved.history is not None:
        history = analyse_history(resolved.history, config, resolved.model.version if resolved.model else None,
                                  comparison=comparison, in_use=in_use_alias(config, project))
    return StoryAnalysis(card=card, cost=cost, trust=trust, claims=claims, decision=decision,
                         glossary=story_glossary(config, project, card.words), drivers=drivers, history=history,
                         regression=regression, regression_cost=regression_cost, multiclass=multiclass,
                         weak_groups=weak_groups,
                         estimate=estimate)


def _sample_told(scored: ScoredSet | None, rows: int, unit: str) -> str | None:
    """For a story told from an aggregate: the drivers were measured on the sample logged beside it."""
    if scored is None or scored.counted is None or not rows:
        return None
    return drivers_sample_phrase(scored.counted, rows, unit)


def _slice_figures(card: ModelCard, regression: RegressionPerformance | None, multiclass: MulticlassStory | None,
                   ) -> list[tuple[str, list[tuple[str, dict[str, Estimate]]]]]:
    """Each slice's groups with the figures a slice claim may compare, by kind name: a binary story's shares, a
    regression story's average miss ("mae"), a multiclass story's share of right calls ("multiclass_accuracy")."""
    if regression is not None:
        return [(s.spec.column, [(g.value, {"mae": g.mae}) for g in s.groups]) for s in regression.slices]
    if multiclass is not None:
        return [(s.spec.column, [(g.value, {"multiclass_accuracy": g.accuracy}) for g in s.rows])
                for s in multiclass.performance.slices]
    return [(s.spec.column, [(row.value, dict(row.rates)) for row in s.table.rows]) for s in card.slices]


def _regression(story: StorySource, task_set: object, card: ModelCard,
                ) -> tuple[RegressionPerformance | None, RegressionCost | None]:
    """A regression story's performance and cost of error, from its checked scored set."""
    if not isinstance(task_set, RegressionSet):
        return None, None
    config = story.config
    assert config.evaluation is not None
    for index, spec in enumerate(config.slices):
        if spec.column not in task_set.frame.columns:
            raise SourceError(f"the evaluation set has no column {spec.column!r} to slice by",
                              location=story.yaml.location(("slices", index, "column")),
                              hint=f"columns: {', '.join(map(str, task_set.frame.columns[:20]))}")
    performance = analyse_regression(task_set, config.slices, card.words, card.rules,
                                     target_means=config.evaluation.target_means or "",
                                     min_slice_size=config.min_slice_size)
    costs = config.cost_of_error
    cost = None
    if costs is not None and costs.shape == "regression":
        if not costs.over_forecast and not costs.under_forecast:
            raise SourceError("both over_forecast and under_forecast are 0: no forecast costs anything, so there is "
                              "no cost of error to tell", location=story.yaml.location(("cost_of_error",
                                                                                        "over_forecast")),
                              hint="state what each unit too high and too low costs, at least one above 0")
        cost = analyse_regression_cost(costs, task_set, config.slices, card.words, card.rules)
    return performance, cost
