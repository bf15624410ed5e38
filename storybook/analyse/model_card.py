"""The model card of a story (Mitchell et al. 2019): its figures, slices and caveats, as plain data.

The card only; :mod:`storybook.analyse.story` composes a story's whole analysis around it.
"""

from __future__ import annotations

import math

from storybook.analyse.aggregate_words import drivers_left_out_sentence
from storybook.analyse.card import MetricLine, ModelCard, SliceAnalysis
from storybook.analyse.classification import (
    PROPORTION_KINDS,
    Confusion,
    Estimate,
    SliceRow,
    disaggregate,
    rate,
)
from storybook.analyse.multiclass import AVERAGED_OVER_CLASSES, averaged_over_too_few
from storybook.analyse.plain import (
    DEFAULT_RULES,
    Vocabulary,
    WordingRules,
    certainty,
    definition,
    in_sentence,
    metric_sentence,
    mismatch_sentence,
    nothing_to_count_sentence,
    share_phrase,
    slice_wording,
)
from storybook.analyse.reconcile import TOLERANCE, Mismatch, likely_cause, measured_on, recompute
from storybook.errors import Location, SourceError
from storybook.resolve.resolved import Figure, ResolvedStory, story_task_set
from storybook.resolve.scored import AnyScoredSet, ScoredSet, ranks_cases, threshold_of
from storybook.resolve.scored_multiclass import MulticlassSet
from storybook.sources.loader import StorySource
from storybook.sources.schema import MetricSpec, ProjectConfig

__all__ = ["MetricLine", "ModelCard", "SliceAnalysis", "analyse_model_card", "vocabulary", "wording_rules"]

# MLflow dataset contexts (mlflow.log_input(context=...), autolog's "train" / "eval") by what they hold.
TRAINING_CONTEXTS = ("train", "training")
EVALUATION_CONTEXTS = ("eval", "evaluation", "validation", "test", "testing")


def wording_rules(project: ProjectConfig | None) -> WordingRules:
    """The project's ``wording:`` rules (storybook's defaults without a project)."""
    if project is None:
        return DEFAULT_RULES
    return WordingRules(tight_width=project.wording.tight_width, min_count=project.wording.min_count)


def vocabulary(story: StorySource) -> Vocabulary:
    evaluation = story.config.evaluation
    if evaluation is None:
        return Vocabulary()
    if evaluation.positive_means is None or evaluation.negative_means is None:  # a multiclass or regression story
        return Vocabulary(unit=evaluation.unit, amount_unit=evaluation.amount_unit or "")
    return Vocabulary(unit=evaluation.unit, positive=evaluation.positive_means,
                      negative=evaluation.negative_means, flagged=evaluation.flagged_means)


def analyse_model_card(story: StorySource, resolved: ResolvedStory, rules: WordingRules = DEFAULT_RULES, *,
                       scored: AnyScoredSet | None = None) -> ModelCard:
    """The model card; ``scored`` is the story's checked scored set when the caller built it already. For a
    multiclass or regression story the card holds the figures; the task's own analysis tells its slices."""
    config = story.config
    words = vocabulary(story)
    if scored is None:
        scored = story_task_set(story, resolved)
    binary = scored if isinstance(scored, ScoredSet) else None
    threshold: float | None
    if binary is not None:
        threshold, threshold_source = binary.threshold, binary.threshold_source  # read once, with the scored set
    elif config.task == "binary":
        threshold, threshold_source = _threshold(story, resolved)
    else:
        threshold, threshold_source = None, ""
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
    if binary is not None:
        assert config.evaluation is not None
        frame = binary.frame
        for index, spec in enumerate(config.slices):
            if spec.column not in frame.columns:
                raise SourceError(
                    f"the evaluation set has no column {spec.column!r} to slice by",
                    location=story.yaml.location(("slices", index, "column")),
                    hint=f"columns: {', '.join(map(str, frame.columns[:20]))}",
                )
        overall, tables = disaggregate(binary.labels, binary.scores, frame[[s.column for s in config.slices]],
                                       binary.threshold, weights=binary.weights, ranked=ranks_cases(binary))
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
        caveats=tuple(_caveats(config.min_slice_size, slices, metrics, words, rules)) + _counted_caveats(story, binary),
        rules=rules, counted=binary.counted if binary is not None else None,
    )


def _counted_caveats(story: StorySource, binary: ScoredSet | None) -> tuple[str, ...]:
    """A story told from counts with drivers from the model but no row-level sample: why they are left out."""
    drivers = story.config.drivers
    if binary is None or binary.counted is None or drivers is None or drivers.source != "model" \
            or binary.counted.sample_rows:
        return ()
    return (drivers_left_out_sentence(vocabulary(story).unit),)


def _metric_line(spec: MetricSpec, figure: Figure, overall: SliceRow | None, scored: AnyScoredSet | None,
                 positive_value: str, words: Vocabulary, rules: WordingRules) -> MetricLine:
    """One figure, told only from what it really measured (the rule is in storybook.analyse.reconcile)."""
    where = measured_on(spec)
    told = definition(spec.kind, words)
    if where != "evaluation":
        return MetricLine(spec=spec, figure=figure, definition=told, estimate=None, measured_on=where,
                          sentence=metric_sentence(spec.kind, figure.value, None, words, rules, measured_on=where))
    recomputed = recompute(spec.kind, overall, scored)
    if recomputed is not None and recomputed.value is None:  # a share with nothing to count among
        return MetricLine(spec=spec, figure=figure, definition=told, estimate=None, recomputed=recomputed,
                          sentence=nothing_to_count_sentence(spec.kind, figure.value, words))
    if recomputed is None or recomputed.value is None:
        return MetricLine(spec=spec, figure=figure, definition=told, estimate=None, recomputed=recomputed,
                          sentence=metric_sentence(spec.kind, figure.value, None, words, rules))
    too_few = (averaged_over_too_few(scored, words.unit, rules)
               if spec.kind in AVERAGED_OVER_CLASSES and isinstance(scored, MulticlassSet) else None)
    if too_few is not None:  # as the multiclass section says it
        return MetricLine(spec=spec, figure=figure, definition=told, estimate=None, recomputed=recomputed,
                          sentence=f"This figure cannot be told with confidence: {too_few}.")
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


def _caveats(min_size: int, slices: list[SliceAnalysis], metrics: list[MetricLine],
             words: Vocabulary, rules: WordingRules) -> list[str]:
    caveats = []
    for analysis in slices:
        for row in analysis.table.rows:
            if row.n < min_size:
                caveats.append(
                    f"Only {row.n} {words.unit} in the evaluation have {in_sentence(analysis.spec.label)} "
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
