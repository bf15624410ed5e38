"""The six kinds of ground a decision can rest on, each judged on evidence the rest of the analysis computed.

- ``cost_saving``: the saving of moving to the cheapest threshold (the cost-of-error bootstrap), or of
  switching from the version in use to the proposed one (a bootstrap of both versions' costs), against a
  declared minimum;
- ``trust_level``: the level the trust report gave the model, the data or the system;
- ``slice_gap``: the gap in a share between the groups of a slice, within a tolerance, allowing for chance;
- ``guardrail``: a guardrail of the trust report held at every reading of its production series;
- ``metric``: a metric of this version (or of the compared one) at least or at most a bound;
- ``version_comparison``: the proposed version no worse than the one in use by more than a margin.

Which way a comparison runs comes from :class:`storybook.analyse.comparison.Comparison`: the version in use
is the one carrying the in-use alias, whichever of the two the story is about; when neither carries it, the
grounds that need a direction cannot be told, and say why.

How each outcome is decided, and the interval of a difference, are in :mod:`storybook.analyse.decision_judge`.
Pure: reads only the analysis it is given.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from storybook.analyse.classification import OTHER_GROUPS, Estimate
from storybook.analyse.comparison import Comparison
from storybook.analyse.decision_judge import (
    GroundResult,
    Outcome,
    Scored,
    cost_difference,
    counted_among,
    difference,
    estimate_for,
    guardrail_outcome,
    judge,
    judge_within,
    level_outcome,
    points_of,
    slice_table,
    told_amount,
    told_points,
    told_range,
    told_share,
    verdict_words,
    version_gap,
)
from storybook.analyse.plain import Vocabulary, capitalise, in_sentence, kind_phrase
from storybook.analyse.task_versions import (
    TaskVersion,
    as_subject,
    cost_gap,
    figure_of,
    higher_is_better,
    rule_saving,
    task_gap,
    told_difference,
    told_range_of,
    told_value,
)
from storybook.metrics.kinds import kinds_where
from storybook.sources.schema import (
    CostSavingGround,
    Criterion,
    GuardrailGround,
    MetricGround,
    SliceGapGround,
    StoryConfig,
    TrustLevelGround,
    VersionComparisonGround,
)

if TYPE_CHECKING:
    from storybook.analyse.card import MetricLine, ModelCard
    from storybook.analyse.cost_story import CostStory
    from storybook.analyse.trust_story import TrustReport

__all__ = ["GroundInputs", "evaluate"]

LOWER_IS_BETTER = kinds_where(lambda k: k.higher_is_better is False)  # from the table of kinds


@dataclass(frozen=True, eq=False)
class GroundInputs:
    """What the grounds are judged on: the story's analysis and both versions' scored evaluation sets."""

    config: StoryConfig
    card: ModelCard
    cost: CostStory | None
    trust: TrustReport | None
    current_name: str
    current: Scored | None
    compared_name: str | None
    compared: Scored | None
    comparison: Comparison | None = None
    current_task: TaskVersion | None = None  # a multiclass or regression story's versions (current, compared)
    compared_task: TaskVersion | None = None
    # a multiclass or regression story's results per group: slice column -> (group, its figures by kind)
    task_slices: Mapping[str, Sequence[tuple[str, Mapping[str, Estimate]]]] = field(default_factory=dict)
    counted: bool = False  # this story's figures come from counts (evaluation.aggregate), not one row per case

    @property
    def task(self) -> bool:
        """Whether the story is a multiclass or regression one (its grounds read the task's figures)."""
        return self.config.task != "binary"

    @property
    def unit(self) -> str | None:
        """What a regression story's amounts are counted in."""
        return self.config.evaluation.amount_unit if self.config.evaluation is not None else None

    def task_switch(self) -> tuple[TaskVersion, TaskVersion] | str:
        """A multiclass or regression story's versions as (in use, proposed), or why that cannot be said."""
        if self.current_task is None or self.compared_task is None:
            which = "this story's" if self.current_task is None else "the compared"
            return f"Comparing the versions needs both versions' scored evaluation sets, and {which} version has none."
        comparison = self.comparison
        if self.itself is not None:
            return self.itself
        if comparison is None or comparison.in_use is None:
            return comparison.no_direction if comparison is not None else "Which version is in use is not known."
        if comparison.in_use == "story":
            return self.current_task, self.compared_task
        return self.compared_task, self.current_task

    @property
    def words(self) -> Vocabulary:
        return self.card.words

    @property
    def itself(self) -> str | None:
        """Why there is no other version to judge, when compare_with names the story's own version."""
        return self.comparison.itself if self.comparison is not None and self.comparison.same_version else None

    def switch(self) -> tuple[Scored, Scored] | str:
        """Both versions' scored sets as (in use, proposed), or why that cannot be said."""
        if self.current is None and self.counted:
            return ("Comparing the versions needs both versions' scored evaluation sets case by case, and this "
                    "story's figures come from counts of cases in score bins.")
        if self.current is None or self.compared is None:
            which = "this story's" if self.current is None else "the compared"
            return f"Comparing the versions needs both versions' scored evaluation sets, and {which} version has none."
        comparison = self.comparison
        if self.itself is not None:
            return self.itself
        if comparison is None or comparison.in_use is None:
            return comparison.no_direction if comparison is not None else "Which version is in use is not known."
        return (self.current, self.compared) if comparison.in_use == "story" else (self.compared, self.current)

    def named(self, compared: bool) -> str:
        """The version a ground judges, with its role: "version 2 (challenger), the version compared with, ..."."""
        if self.comparison is not None:
            return self.comparison.named("compared" if compared else "story")
        return (self.compared_name or "the compared version") if compared else self.current_name


def evaluate(criterion: Criterion, inputs: GroundInputs) -> GroundResult:
    """Judge one criterion (see the module docstring for what each kind of ground reads)."""
    ground = criterion.ground
    if isinstance(ground, CostSavingGround):
        return _cost_saving(criterion, ground, inputs)
    if isinstance(ground, TrustLevelGround):
        return _trust_level(criterion, ground, inputs)
    if isinstance(ground, SliceGapGround):
        return _slice_gap(criterion, ground, inputs)
    if isinstance(ground, GuardrailGround):
        return _guardrail(criterion, ground, inputs)
    if isinstance(ground, MetricGround):
        return _metric(criterion, ground, inputs)
    return _version_comparison(criterion, ground, inputs)


def _result(criterion: Criterion, default_label: str, outcome: Outcome, estimate: Estimate | None, bound: str,
            sentence: str, section: str, source: str) -> GroundResult:
    return GroundResult(
        id=criterion.id, kind=criterion.kind, label=criterion.label or default_label, required=criterion.required,
        condition=criterion.condition, outcome=outcome, value=estimate.value if estimate else None,
        low=estimate.low if estimate else None, high=estimate.high if estimate else None, bound=bound,
        sentence=sentence, section=section, source=source)


def _cost_saving(criterion: Criterion, ground: CostSavingGround, inputs: GroundInputs) -> GroundResult:
    if inputs.task:
        return _task_cost_saving(criterion, ground, inputs)
    cost = inputs.cost
    words = inputs.words
    unit = cost.spec.unit if cost is not None else "cost"
    per = cost.per if cost is not None else 1000
    units = f"{unit} for every {per:,} {words.unit}"
    bound = f"a saving of at least {ground.at_least:,.0f} {units}"
    switching = ground.versus == "compared_version"
    proposed = inputs.comparison.proposed_version if inputs.comparison is not None else None
    label = (f"Switching to {proposed.name} saves {unit}" if switching and proposed is not None
             else f"Switching versions saves {unit}" if switching else f"A better threshold saves {unit}")
    estimate: Estimate | None = None
    if cost is None:
        return _result(criterion, label, "cannot tell", None, bound, "There is no cost-of-error analysis to judge "
                       "this on (it needs the threshold in use).", "cost-of-error", "cost of error")
    if not switching:
        if cost.comparison is None:
            return _result(criterion, label, "cannot tell", None, bound, "Finding a cheaper threshold needs the "
                           f"model's score for each of the {words.unit}; the run logged only counts.",
                           "cost-of-error", "cost of error")
        saving = cost.uncertainty.saving if cost.uncertainty is not None else None
        estimate = saving or Estimate(cost.comparison.saving_per, None, None, cost.n)
        what = (f"Moving the threshold from {cost.current_threshold_text} to {cost.best_threshold_text} "
                f"would mean {told_amount(estimate.value or 0.0)} {units}")
        rounds = cost.uncertainty.rounds if cost.uncertainty is not None else 0
        source = "the cost of error: both thresholds on the same resampled cases"
    else:
        versions = inputs.switch()
        if isinstance(versions, str):
            return _result(criterion, label, "cannot tell", None, bound, versions, "cost-of-error", "cost of error")
        in_use, proposed_set = versions
        estimate, paired = cost_difference(cost.costs, in_use, proposed_set,
                                           rounds=cost.spec.bootstrap_rounds, seed=cost.spec.seed, per=per)
        what = (f"Switching from {in_use.name}, the version in use, to {proposed_set.name}, each at its own "
                f"threshold, would mean {told_amount(estimate.value or 0.0)} {units}")
        rounds = cost.spec.bootstrap_rounds
        source = (f"the cost of error of {in_use.source} and {proposed_set.source}"
                  + ("; the same resampled cases for both" if paired else "; each set resampled on its own"))
    outcome = judge(estimate.low, estimate.high, at_least=ground.at_least)
    if estimate.low is None or estimate.high is None:
        told = " (no range: set cost_of_error.bootstrap_rounds above 0 to allow for chance)"
    else:
        told = (f" (allowing for chance, over {rounds:,} resamples of the {estimate.n:,} {words.unit}: anywhere "
                f"from {told_amount(estimate.low)} to {told_amount(estimate.high)})")
    sentence = f"{what}{told}. The story asks for {bound}: {verdict_words(outcome)}."
    return _result(criterion, label, outcome, estimate, bound, sentence, "cost-of-error", source)


def _task_cost_saving(criterion: Criterion, ground: CostSavingGround, inputs: GroundInputs) -> GroundResult:
    """cost_saving of a multiclass or regression story: the task's cost rule against the calls as logged
    (versus best_threshold), or switching versions, each version's calls priced alike (versus compared_version)."""
    spec, evaluation, words = inputs.config.cost_of_error, inputs.config.evaluation, inputs.words
    assert spec is not None and evaluation is not None   # the schema asks for both
    units = f"{spec.unit} for every {spec.population:,} {words.unit}"
    bound = f"a saving of at least {ground.at_least:,.0f} {units}"
    switching = ground.versus == "compared_version"
    proposed = inputs.comparison.proposed_version if inputs.comparison is not None else None
    rule_name = "adjusting the forecasts" if inputs.config.task == "regression" else "the cost rule"
    label = (f"Switching to {proposed.name} saves {spec.unit}" if switching and proposed is not None
             else f"Switching versions saves {spec.unit}" if switching
             else f"{capitalise(rule_name)} saves {spec.unit}")
    rounds = spec.bootstrap_rounds
    if not switching:
        current = inputs.current_task
        if current is None:
            return _result(criterion, label, "cannot tell", None, bound, "There is no scored evaluation set to "
                           "judge this on.", "cost-of-error", "cost of error")
        found = rule_saving(spec, current.set, evaluation)
        if isinstance(found, str):
            return _result(criterion, label, "cannot tell", None, bound, found, "cost-of-error", "cost of error")
        estimate = found.saving
        what = (f"For {inputs.named(False)}, {found.rule}, against {found.against}, would mean "
                f"{told_amount(estimate.value or 0.0)} {units}")
        source = f"the cost of error of {current.source}: both ways on the same resampled cases"
    else:
        versions = inputs.task_switch()
        if isinstance(versions, str):
            return _result(criterion, label, "cannot tell", None, bound, versions, "cost-of-error", "cost of error")
        in_use, proposed_set = versions
        estimate, paired = cost_gap(spec, in_use, proposed_set)
        what = (f"Switching from {in_use.name}, the version in use, to {proposed_set.name}, each version's calls "
                f"as logged, would mean {told_amount(estimate.value or 0.0)} {units}")
        source = (f"the cost of error of {in_use.source} and {proposed_set.source}"
                  + ("; the same resampled cases for both" if paired else "; each set resampled on its own"))
    outcome = judge(estimate.low, estimate.high, at_least=ground.at_least)
    if estimate.low is None or estimate.high is None:
        told = " (no range: set cost_of_error.bootstrap_rounds above 0 to allow for chance)"
    else:
        told = (f" (allowing for chance, over {rounds:,} resamples of the {estimate.n:,} {words.unit}: anywhere "
                f"from {told_amount(estimate.low)} to {told_amount(estimate.high)})")
    sentence = f"{what}{told}. The story asks for {bound}: {verdict_words(outcome)}."
    return _result(criterion, label, outcome, estimate, bound, sentence, "cost-of-error", source)


def _trust_level(criterion: Criterion, ground: TrustLevelGround, inputs: GroundInputs) -> GroundResult:
    label = f"Trust in the {ground.area} is at least {ground.at_least}"
    bound = f"at least {ground.at_least}"
    trust = inputs.trust
    level = next((result for result in trust.levels if result.area == ground.area), None) if trust else None
    if level is None:
        return _result(criterion, label, "cannot tell", None, bound, "There is no trust report to judge this on.",
                       "trust", "trust report")
    outcome = level_outcome(level.level, ground.at_least)
    signed = {0: "no signed statement covers it", 1: "1 signed statement covers it"}.get(
        level.attested, f"{level.attested} signed statements cover it")
    sentence = (f"Trust in the {ground.area} is {level.level.label}: {level.checks_passed} of the "
                f"{level.checks_ran} different checks that ran passed, and {signed}. The story asks for {bound}, so "
                f"this ground {outcome}.")
    return _result(criterion, label, outcome, Estimate(float(level.level), None, None, level.checks_ran), bound,
                   sentence, "trust", f"trust report, {ground.area} level")


def _slice_gap(criterion: Criterion, ground: SliceGapGround, inputs: GroundInputs) -> GroundResult:
    words = inputs.words
    spec = next(s for s in inputs.config.slices if s.column == ground.slice)
    if inputs.task:
        return _task_slice_gap(criterion, ground, inputs)
    of_compared = ground.version == "compared"
    short = (inputs.compared_name or "the compared version") if of_compared else inputs.current_name
    name = inputs.named(of_compared)
    label = f"{capitalise(short)} does about as well for each {in_sentence(spec.label)} group"
    tolerance = f"{ground.tolerance * 100:g} points out of 100"
    bound = f"a gap of at most {tolerance}"
    section = "trust" if of_compared else "quantitative-analyses"
    if of_compared and inputs.itself is not None:
        return _result(criterion, label, "cannot tell", None, bound, inputs.itself, section, "evaluation set")
    if of_compared:
        table = slice_table(inputs.compared, ground.slice) if inputs.compared is not None else None
    else:
        table = next((s.table for s in inputs.card.slices if s.spec.column == ground.slice), None)
    if table is None:
        return _result(criterion, label, "cannot tell", None, bound,
                       f"There are no results per {in_sentence(spec.label)} "
                       f"group for {name}.", section, "evaluation set")
    minimum = inputs.config.min_slice_size
    among = counted_among(ground.metric, words)
    # A row that counts many small groups together (the largest are shown one by one) is not one group.
    merged = [row.value for row in table.rows if OTHER_GROUPS.fullmatch(row.value)]
    rates = [(row.value, row.rates[ground.metric]) for row in table.rows if row.value not in merged]
    judged = [(value, e) for value, e in rates if e.value is not None and e.n >= minimum]
    small = [f"{value} ({e.n:,})" for value, e in rates if e.value is None or e.n < minimum]
    too_small = (f" Too few {among} to judge (fewer than {minimum:,}): {', '.join(small)}." if small else "")
    if merged:
        too_small += f" Only the groups shown one by one are compared; {merged[0][1:-1]} are counted together."
    if len(judged) < 2:
        return _result(criterion, label, "cannot tell", None, bound,
                       f"Fewer than 2 {in_sentence(spec.label)} groups have at least {minimum:,} {among}, so the gap "
                       f"cannot be judged.{too_small}", section, "evaluation set")
    pairs = []
    for i, (first, a) in enumerate(judged):
        for second, b in judged[i + 1:]:
            high, low = ((first, a), (second, b)) if (a.value or 0.0) >= (b.value or 0.0) else ((second, b), (first, a))
            gap = difference(high[1], low[1])
            pairs.append((judge_within(gap.low, gap.high, ground.tolerance), gap, high, low))
    outcomes = {outcome for outcome, *_ in pairs}
    outcome: Outcome = "fails" if "fails" in outcomes else "holds" if outcomes == {"holds"} else "cannot tell"
    if outcome == "fails":
        shown = max((p for p in pairs if p[0] == "fails"), key=lambda p: p[1].low or 0.0)
    else:
        shown = max(pairs, key=lambda p: p[1].high or 0.0)
    _, gap, (top, top_e), (bottom, bottom_e) = shown
    low_points = points_of(gap.low or 0.0)
    low_told = f"{-low_points} points the other way" if low_points < 0 else f"{low_points} points"
    every = f" Every pair of the {len(judged)} groups was judged; this is the widest." if len(judged) > 2 else ""
    sentence = (f"For {name}, the {kind_phrase(ground.metric, words)} is {told_share(top_e.value)} for {top}, "
                f"out of {top_e.n:,} {among}, and {told_share(bottom_e.value)} for {bottom}, out of {bottom_e.n:,}: "
                "a gap of "
                f"{points_of(gap.value or 0.0):d} points out of 100 (allowing for chance, anywhere from "
                f"{low_told} to {points_of(gap.high or 0.0):d} points). The story allows {bound}: "
                f"{verdict_words(outcome)}.{every}{too_small}")
    version = inputs.compared if of_compared else inputs.current
    return _result(criterion, label, outcome, gap, bound, sentence, section,
                   f"results per {in_sentence(spec.label)} group of "
                   f"{version.source if version else 'the evaluation set'}")


def _task_slice_gap(criterion: Criterion, ground: SliceGapGround, inputs: GroundInputs) -> GroundResult:
    """slice_gap of a multiclass or regression story: the gap in the figure its page tells per group (the average
    miss, or the share of right calls) between every two groups large enough to judge, each gap with the MOVER
    interval of the two groups' intervals (the groups hold different cases)."""
    words, unit, kind = inputs.words, inputs.unit, ground.metric
    spec = next(s for s in inputs.config.slices if s.column == ground.slice)
    name = inputs.named(False)
    label = f"{capitalise(inputs.current_name)} does about as well for each {in_sentence(spec.label)} group"
    tolerance = told_value(kind, ground.tolerance, unit).replace(" in 100", " points out of 100")
    bound = f"a gap of at most {tolerance}"
    section = "quantitative-analyses"
    rows = inputs.task_slices.get(ground.slice)
    if rows is None:
        return _result(criterion, label, "cannot tell", None, bound,
                       f"There are no results per {in_sentence(spec.label)} "
                       f"group for {name}.", section, "evaluation set")
    minimum = inputs.config.min_slice_size
    merged = [value for value, _ in rows if OTHER_GROUPS.fullmatch(value)]
    figures = [(value, found[kind]) for value, found in rows if value not in merged and kind in found]
    judged = [(value, e) for value, e in figures if e.value is not None and e.n >= minimum]
    small = [f"{value} ({e.n:,})" for value, e in figures if e.value is None or e.n < minimum]
    too_small = f" Too few {words.unit} to judge (fewer than {minimum:,}): {', '.join(small)}." if small else ""
    if merged:
        too_small += f" Only the groups shown one by one are compared; {merged[0][1:-1]} are counted together."
    if len(judged) < 2:
        return _result(criterion, label, "cannot tell", None, bound,
                       f"Fewer than 2 {in_sentence(spec.label)} groups have "
                       f"at least {minimum:,} {words.unit}, so the gap cannot be judged.{too_small}", section,
                       "evaluation set")
    pairs = []
    for i, (first, a) in enumerate(judged):
        for second, b in judged[i + 1:]:
            high, low = ((first, a), (second, b)) if (a.value or 0.0) >= (b.value or 0.0) else ((second, b), (first, a))
            gap = difference(high[1], low[1])
            pairs.append((judge_within(gap.low, gap.high, ground.tolerance), gap, high, low))
    outcomes = {outcome for outcome, *_ in pairs}
    outcome: Outcome = "fails" if "fails" in outcomes else "holds" if outcomes == {"holds"} else "cannot tell"
    shown = (max((p for p in pairs if p[0] == "fails"), key=lambda p: p[1].low or 0.0) if outcome == "fails"
             else max(pairs, key=lambda p: p[1].high or 0.0))
    _, gap, (top, top_e), (bottom, bottom_e) = shown

    def amount(value: float | None) -> str:
        if value is not None and value < 0:   # the other group ahead
            return f"{amount(-value)} the other way"
        return told_value(kind, value, unit).replace(" in 100", " points out of 100")

    ranged = ("with no range" if gap.low is None or gap.high is None else
              f"allowing for chance, anywhere from {amount(gap.low)} to {amount(gap.high)}")
    every = f" Every pair of the {len(judged)} groups was judged; this is the widest." if len(judged) > 2 else ""
    sentence = (f"For {name}, the {as_subject(kind_phrase(kind, words))} is {told_value(kind, top_e.value, unit)} "
                f"for {top}, out of {top_e.n:,} {words.unit}, and {told_value(kind, bottom_e.value, unit)} for "
                f"{bottom}, out of {bottom_e.n:,}: a gap of {amount(gap.value)} ({ranged}). The story allows {bound}: "
                f"{verdict_words(outcome)}.{every}{too_small}")
    source = inputs.current_task.source if inputs.current_task is not None else "the evaluation set"
    return _result(criterion, label, outcome, gap, bound, sentence, section,
                   f"results per {in_sentence(spec.label)} group of {source}")


def _guardrail(criterion: Criterion, ground: GuardrailGround, inputs: GroundInputs) -> GroundResult:
    trust = inputs.trust
    guarded = next((g for g in trust.guarded if g.guardrail.series == ground.series), None) if trust else None
    if guarded is None:
        return _result(criterion, f"The guardrail on {ground.series} held", "cannot tell", None, "every reading "
                       "within its guardrails", "There is no trust report with this guardrail.", "trust",
                       "trust report")
    rail = guarded.guardrail
    label = f"{capitalise(rail.name)} stayed within its guardrails"
    points = [(p.step, p.timestamp_ms, p.value) for p in guarded.series.points]
    source = f"metric history {guarded.series.key} of run {guarded.series.provenance.run_id[:12]}"
    outcome, told, outside = guardrail_outcome(points, lower=rail.lower, upper=rail.upper, name=rail.name,
                                               source=source)
    ending = {"holds": "so this ground holds", "fails": "so this ground fails",
              "cannot tell": "so this cannot be told yet"}[outcome]
    figure = Estimate(float(outside) if outside is not None else None, None, None, len(points))
    return _result(criterion, label, outcome, figure, "every reading within its guardrails",
                   f"{told} The story asks for every reading within the guardrails, {ending}.", "trust", source)


def _metric(criterion: Criterion, ground: MetricGround, inputs: GroundInputs) -> GroundResult:
    if inputs.task:
        return _task_metric(criterion, ground, inputs)
    spec = next(m for m in inputs.config.metrics if m.key == ground.key)
    of_compared = ground.version == "compared"
    short = (inputs.compared_name if of_compared else inputs.current_name) or "the compared version"
    name = inputs.named(of_compared)
    at_least = ground.at_least is not None
    limit = ground.at_least if ground.at_least is not None else ground.at_most
    assert limit is not None
    bound = f"{'at least' if at_least else 'at most'} {told_share(limit)}"
    label = f"{capitalise(short)}: {in_sentence(spec.label)} {bound}"
    section = "trust" if of_compared else "metrics"
    if of_compared and inputs.itself is not None:
        return _result(criterion, label, "cannot tell", None, bound, inputs.itself, section, "compared version")
    estimate: Estimate | None
    if of_compared:
        estimate = estimate_for(spec.kind, inputs.compared) if inputs.compared is not None else None
        source = inputs.compared.source if inputs.compared is not None else "compared version"
    else:
        estimate = next((line.estimate for line in inputs.card.metrics if line.spec.key == ground.key), None)
        source = inputs.current.source if inputs.current is not None else f"metric {ground.key}"
    line = next((line for line in inputs.card.metrics if line.spec.key == ground.key), None)
    elsewhere = _not_from_the_evaluation_set(line)
    if elsewhere is not None:  # no interval of the evaluation set belongs to this figure (analyse/reconcile.py)
        return _result(criterion, label, "cannot tell", None, bound, f"{capitalise(spec.label)} {elsewhere}, so it has "
                       f"no range from the evaluation set to judge {name} on.", section, f"metric {ground.key}")
    if estimate is None or estimate.value is None:
        return _result(criterion, label, "cannot tell", None, bound, f"There is no evaluation set to measure "
                       f"{in_sentence(spec.label)} of {name} on, so it has no range.", section, source)
    outcome = judge(estimate.low, estimate.high, at_least=ground.at_least, at_most=ground.at_most)
    sentence = (f"For {name}, {in_sentence(spec.label)} (the {kind_phrase(spec.kind, inputs.words)}) is "
                f"{told_share(estimate.value)} {told_range(estimate)}, measured on {estimate.n:,} "
                f"{counted_among(spec.kind, inputs.words)}. The story asks for {bound}: {verdict_words(outcome)}.")
    return _result(criterion, label, outcome, estimate, bound, sentence, section, source)


def _task_metric(criterion: Criterion, ground: MetricGround, inputs: GroundInputs) -> GroundResult:
    """A metric ground of a multiclass or regression story: the figure in its own unit (so many in 100, an amount
    in the story's amount_unit, or R²) with its 95% interval."""
    spec = next(m for m in inputs.config.metrics if m.key == ground.key)
    of_compared = ground.version == "compared"
    short = (inputs.compared_name if of_compared else inputs.current_name) or "the compared version"
    name = inputs.named(of_compared)
    limit = ground.at_least if ground.at_least is not None else ground.at_most
    assert limit is not None
    unit = inputs.unit
    bound = f"{'at least' if ground.at_least is not None else 'at most'} {told_value(spec.kind, limit, unit)}"
    label = f"{capitalise(short)}: {in_sentence(spec.label)} {bound}"
    section = "trust" if of_compared else "metrics"
    if of_compared and inputs.itself is not None:
        return _result(criterion, label, "cannot tell", None, bound, inputs.itself, section, "compared version")
    version = inputs.compared_task if of_compared else inputs.current_task
    source = version.source if version is not None else f"metric {ground.key}"
    line = next((line for line in inputs.card.metrics if line.spec.key == ground.key), None)
    if of_compared:
        estimate = figure_of(spec.kind, version.set) if version is not None else None
    else:
        elsewhere = _not_from_the_evaluation_set(line)
        if elsewhere is not None:
            return _result(criterion, label, "cannot tell", None, bound, f"{capitalise(spec.label)} {elsewhere}, so "
                           f"it has no range from the evaluation set to judge {name} on.", section,
                           f"metric {ground.key}")
        estimate = line.estimate if line is not None else None
    if estimate is None or estimate.value is None:
        return _result(criterion, label, "cannot tell", None, bound, f"There is no evaluation set to measure "
                       f"{in_sentence(spec.label)} of {name} on, so it has no range.", section, source)
    outcome = judge(estimate.low, estimate.high, at_least=ground.at_least, at_most=ground.at_most)
    sentence = (f"For {name}, {in_sentence(spec.label)} (the {kind_phrase(spec.kind, inputs.words)}) is "
                f"{told_value(spec.kind, estimate.value, unit)} {told_range_of(spec.kind, estimate, unit)}, measured "
                f"on {estimate.n:,} {inputs.words.unit}. The story asks for {bound}: {verdict_words(outcome)}.")
    return _result(criterion, label, outcome, estimate, bound, sentence, section, source)


def _not_from_the_evaluation_set(line: MetricLine | None) -> str | None:
    """Why a reported figure has no interval of the evaluation set (measured elsewhere, or not reproduced by
    it), in words that follow its label; None when it is the evaluation set's figure."""
    if line is None:
        return None
    if line.measured_on != "evaluation":
        where = {"training": "the training data", "cross_validation": "cross-validation"}.get(
            line.measured_on, "data storybook cannot tell")
        return f"was measured on {where}, not on the evaluation set"
    if line.mismatch is not None:
        return (f"was logged as {line.mismatch.logged:.4f}, which the evaluation set does not reproduce "
                f"({line.mismatch.recomputed:.4f})")
    return None


def _version_comparison(criterion: Criterion, ground: VersionComparisonGround, inputs: GroundInputs,
                        ) -> GroundResult:
    if inputs.task:
        return _task_version_comparison(criterion, ground, inputs)
    words = inputs.words
    comparison = inputs.comparison
    in_use_ref = comparison.in_use_version if comparison is not None else None
    proposed_ref = comparison.proposed_version if comparison is not None else None
    old = in_use_ref.name if in_use_ref is not None else "the version in use"
    new = proposed_ref.name if proposed_ref is not None else "the version that would replace it"
    margin = f"{ground.margin * 100:g} points out of 100"
    bound = f"no worse than {old} by more than {margin}"
    label = f"{capitalise(new)} is no worse at the {kind_phrase(ground.metric, words)} than {old}"
    versions = inputs.switch()
    if isinstance(versions, str):
        return _result(criterion, label, "cannot tell", None, bound, versions, "trust", "evaluation sets")
    in_use, proposed = versions
    mine = estimate_for(ground.metric, in_use)
    theirs = estimate_for(ground.metric, proposed)
    better = ground.metric not in LOWER_IS_BETTER
    gap, paired = version_gap(ground.metric, proposed, in_use)   # paired when both scored the same cases
    gain = gap if better else Estimate(-gap.value if gap.value is not None else None,   # positive: proposed better
                                       -gap.high if gap.high is not None else None,
                                       -gap.low if gap.low is not None else None, gap.n)
    outcome = judge(gain.low, gain.high, at_least=-ground.margin)
    if gain.value is None:
        return _result(criterion, label, "cannot tell", None, bound, "One of the versions has no cases to measure "
                       "this on.", "trust", "evaluation sets")
    among = counted_among(ground.metric, words)
    if gain.low is None or gain.high is None:
        ranged = "(with no range, so how sure this is cannot be said)"
    else:
        how = (f"both versions on the same {proposed.labels.size:,} {words.unit}, resampled together"
               if paired else "each version on its own set of cases, so each has its own range")
        ranged = (f"(allowing for chance, {how}: anywhere from "
                  f"{told_points(gain.low, up='better', down='worse', noun=True)} "
                  f"to {told_points(gain.high, up='better', down='worse', noun=True)})")
    change = told_points(gain.value, up="better", down="worse")
    same = paired and ground.metric != "precision"   # who is flagged differs between versions
    measured = f"measured on the same {mine.n:,}" if same else f"measured on {mine.n:,}"
    sentence = (f"The {kind_phrase(ground.metric, words)} is {told_share(theirs.value)} for {new}, measured on "
                f"{theirs.n:,} {among}, and {told_share(mine.value)} for {old}, the version in use, {measured}: "
                f"{new} is {change} {ranged}. The story accepts {new} being worse than {old} by at most {margin}: "
                f"{verdict_words(outcome)}.")
    pairing = "; the same cases for both, resampled together" if paired else "; two different sets of cases"
    return _result(criterion, label, outcome, gain, bound, sentence, "trust",
                   f"{in_use.source} and {proposed.source}{pairing}")


def _task_version_comparison(criterion: Criterion, ground: VersionComparisonGround, inputs: GroundInputs,
                             ) -> GroundResult:
    """version_comparison of a multiclass or regression story: the difference in the task's figure, paired on
    the same cases (:func:`storybook.analyse.task_versions.task_gap`, the interval trust uses too)."""
    words, unit, kind = inputs.words, inputs.unit, ground.metric
    comparison = inputs.comparison
    in_use_ref = comparison.in_use_version if comparison is not None else None
    proposed_ref = comparison.proposed_version if comparison is not None else None
    old = in_use_ref.name if in_use_ref is not None else "the version in use"
    new = proposed_ref.name if proposed_ref is not None else "the version that would replace it"
    margin = told_value(kind, ground.margin, unit).replace(" in 100", " points out of 100")
    bound = f"no worse than {old} by more than {margin}"
    label = f"{capitalise(new)} is no worse at the {kind_phrase(kind, words)} than {old}"
    versions = inputs.task_switch()
    if isinstance(versions, str):
        return _result(criterion, label, "cannot tell", None, bound, versions, "trust", "evaluation sets")
    in_use, proposed = versions
    mine, theirs = figure_of(kind, in_use.set), figure_of(kind, proposed.set)
    gap, paired = task_gap(kind, proposed, in_use)
    if gap.value is None:
        return _result(criterion, label, "cannot tell", None, bound, "One of the versions has no figure to compare.",
                       "trust", "evaluation sets")
    sign = -1.0 if higher_is_better(kind) is False else 1.0   # a gain above 0: the proposed version does better
    ends = None if gap.low is None or gap.high is None else sorted((sign * gap.low, sign * gap.high))
    gain = Estimate(sign * gap.value, ends[0] if ends else None, ends[1] if ends else None, gap.n)
    outcome = judge(gain.low, gain.high, at_least=-ground.margin)
    if gain.low is None or gain.high is None:
        ranged = "(with no range, so how sure this is cannot be said)"
    else:
        how = (f"both versions on the same {proposed.n:,} {words.unit}, resampled together"
               if paired else "each version on its own set of cases, so each has its own range")
        ranged = (f"(allowing for chance, {how}: anywhere from "
                  f"{told_difference(kind, gain.low, unit, noun=True)} to "
                  f"{told_difference(kind, gain.high, unit, noun=True)})")
    measured = f"measured on the same {mine.n:,}" if paired else f"measured on {mine.n:,}"
    sentence = (f"The {as_subject(kind_phrase(kind, words))} is {told_value(kind, theirs.value, unit)} for {new}, "
                f"measured on "
                f"{theirs.n:,} {words.unit}, and {told_value(kind, mine.value, unit)} for {old}, the version in use, "
                f"{measured}: {new} is {told_difference(kind, gain.value or 0.0, unit)} {ranged}. The story accepts "
                f"{new} being worse than {old} by at most {margin}: {verdict_words(outcome)}.")
    pairing = "; the same cases for both, resampled together" if paired else "; two different sets of cases"
    return _result(criterion, label, outcome, gain, bound, sentence, "trust",
                   f"{in_use.source} and {proposed.source}{pairing}")
