"""The six kinds of ground a decision can rest on, each judged on evidence the rest of the analysis computed.

- ``cost_saving``: the saving of moving to the cheapest threshold (the cost-of-error bootstrap), or of
  switching to the compared version (a bootstrap of both versions' costs), against a declared minimum;
- ``trust_level``: the level the trust report gave the model, the data or the system;
- ``slice_gap``: the gap in a share between the groups of a slice, within a tolerance, allowing for chance;
- ``guardrail``: a guardrail of the trust report held at every reading of its production series;
- ``metric``: a metric of this version (or of the compared one) at least or at most a bound;
- ``version_comparison``: the compared version no worse than this one by more than a margin.

How each outcome is decided, and the interval of a difference, are in :mod:`storybook.analyse.decision_judge`.
Pure: reads only the analysis it is given.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from storybook.analyse.classification import Estimate
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
)
from storybook.analyse.plain import Vocabulary, kind_phrase
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
    from storybook.analyse.cost_story import CostStory
    from storybook.analyse.model_card import ModelCard
    from storybook.analyse.trust_story import TrustReport

__all__ = ["GroundInputs", "evaluate"]

LOWER_IS_BETTER = ("false_positive_rate", "false_negative_rate")


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

    @property
    def words(self) -> Vocabulary:
        return self.card.words


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


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _result(criterion: Criterion, default_label: str, outcome: Outcome, estimate: Estimate | None, bound: str,
            sentence: str, section: str, source: str) -> GroundResult:
    return GroundResult(
        id=criterion.id, kind=criterion.kind, label=criterion.label or default_label, required=criterion.required,
        condition=criterion.condition, outcome=outcome, value=estimate.value if estimate else None,
        low=estimate.low if estimate else None, high=estimate.high if estimate else None, bound=bound,
        sentence=sentence, section=section, source=source)


def _cost_saving(criterion: Criterion, ground: CostSavingGround, inputs: GroundInputs) -> GroundResult:
    cost = inputs.cost
    words = inputs.words
    unit = cost.spec.unit if cost is not None else "cost"
    per = cost.per if cost is not None else 1000
    units = f"{unit} for every {per:,} {words.unit}"
    bound = f"a saving of at least {ground.at_least:,.0f} {units}"
    switching = ground.versus == "compared_version"
    label = (f"Switching to {inputs.compared_name or 'the compared version'} saves {unit}" if switching
             else f"A better threshold saves {unit}")
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
        what = (f"Moving the threshold from {cost.current_threshold:.2f} to {cost.comparison.best.threshold:.2f} "
                f"would mean {told_amount(estimate.value or 0.0)} {units}")
        rounds = cost.uncertainty.rounds if cost.uncertainty is not None else 0
        source = "the cost of error: both thresholds on the same resampled cases"
    else:
        if inputs.current is None or inputs.compared is None:
            return _result(criterion, label, "cannot tell", None, bound, "Comparing costs needs both versions' "
                           f"scored evaluation sets, and {'this' if inputs.current is None else 'the compared'} "
                           "version has none.", "cost-of-error", "cost of error")
        estimate, paired = cost_difference(cost.costs, inputs.current, inputs.compared,
                                           rounds=cost.spec.bootstrap_rounds, seed=cost.spec.seed, per=per)
        what = (f"Switching from {inputs.current.name} to {inputs.compared.name}, each at its own threshold, would "
                f"mean {told_amount(estimate.value or 0.0)} {units}")
        rounds = cost.spec.bootstrap_rounds
        source = (f"the cost of error of {inputs.current.source} and {inputs.compared.source}"
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
    of_compared = ground.version == "compared"
    name = (inputs.compared_name or "the compared version") if of_compared else inputs.current_name
    label = f"{_cap(name)} does about as well for each {spec.label.lower()} group"
    tolerance = f"{ground.tolerance * 100:g} points out of 100"
    bound = f"a gap of at most {tolerance}"
    section = "trust" if of_compared else "quantitative-analyses"
    if of_compared:
        table = slice_table(inputs.compared, ground.slice) if inputs.compared is not None else None
    else:
        table = next((s.table for s in inputs.card.slices if s.spec.column == ground.slice), None)
    if table is None:
        return _result(criterion, label, "cannot tell", None, bound, f"There are no results per {spec.label.lower()} "
                       f"group for {name}.", section, "evaluation set")
    minimum = inputs.config.min_slice_size
    among = counted_among(ground.metric, words)
    rates = [(row.value, row.rates[ground.metric]) for row in table.rows]
    judged = [(value, e) for value, e in rates if e.value is not None and e.n >= minimum]
    small = [f"{value} ({e.n:,})" for value, e in rates if e.value is None or e.n < minimum]
    too_small = (f" Too few {among} to judge (fewer than {minimum:,}): {', '.join(small)}." if small else "")
    if len(judged) < 2:
        return _result(criterion, label, "cannot tell", None, bound,
                       f"Fewer than 2 {spec.label.lower()} groups have at least {minimum:,} {among}, so the gap "
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
                   f"results per {spec.label.lower()} group of {version.source if version else 'the evaluation set'}")


def _guardrail(criterion: Criterion, ground: GuardrailGround, inputs: GroundInputs) -> GroundResult:
    trust = inputs.trust
    guarded = next((g for g in trust.guarded if g.guardrail.series == ground.series), None) if trust else None
    if guarded is None:
        return _result(criterion, f"The guardrail on {ground.series} held", "cannot tell", None, "every reading "
                       "within its guardrails", "There is no trust report with this guardrail.", "trust",
                       "trust report")
    rail = guarded.guardrail
    label = f"{_cap(rail.name)} stayed within its guardrails"
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
    spec = next(m for m in inputs.config.metrics if m.key == ground.key)
    of_compared = ground.version == "compared"
    name = (inputs.compared_name if of_compared else inputs.current_name) or "the compared version"
    at_least = ground.at_least is not None
    limit = ground.at_least if ground.at_least is not None else ground.at_most
    assert limit is not None
    bound = f"{'at least' if at_least else 'at most'} {told_share(limit)}"
    label = f"{_cap(name)}: {spec.label.lower()} {bound}"
    section = "trust" if of_compared else "metrics"
    estimate: Estimate | None
    if of_compared:
        estimate = estimate_for(spec.kind, inputs.compared) if inputs.compared is not None else None
        source = inputs.compared.source if inputs.compared is not None else "compared version"
    else:
        estimate = next((line.estimate for line in inputs.card.metrics if line.spec.key == ground.key), None)
        source = inputs.current.source if inputs.current is not None else f"metric {ground.key}"
    if estimate is None or estimate.value is None:
        return _result(criterion, label, "cannot tell", None, bound, f"There is no evaluation set to measure "
                       f"{spec.label.lower()} of {name} on, so it has no range.", section, source)
    outcome = judge(estimate.low, estimate.high, at_least=ground.at_least, at_most=ground.at_most)
    sentence = (f"For {name}, {spec.label.lower()} (the {kind_phrase(spec.kind, inputs.words)}) is "
                f"{told_share(estimate.value)} {told_range(estimate)}, measured on {estimate.n:,} "
                f"{counted_among(spec.kind, inputs.words)}. The story asks for {bound}: {verdict_words(outcome)}.")
    return _result(criterion, label, outcome, estimate, bound, sentence, section, source)


def _version_comparison(criterion: Criterion, ground: VersionComparisonGround, inputs: GroundInputs,
                        ) -> GroundResult:
    words = inputs.words
    other = inputs.compared_name or "the compared version"
    margin = f"{ground.margin * 100:g} points out of 100"
    bound = f"no worse than {inputs.current_name} by more than {margin}"
    label = f"{_cap(other)} is no worse at the {kind_phrase(ground.metric, words)}"
    if inputs.current is None or inputs.compared is None:
        return _result(criterion, label, "cannot tell", None, bound, "Comparing the versions needs both scored "
                       "evaluation sets.", "trust", "evaluation sets")
    mine = estimate_for(ground.metric, inputs.current)
    theirs = estimate_for(ground.metric, inputs.compared)
    better = ground.metric not in LOWER_IS_BETTER
    gain = difference(theirs, mine) if better else difference(mine, theirs)  # positive: the compared is better
    outcome = judge(gain.low, gain.high, at_least=-ground.margin)
    if gain.value is None:
        return _result(criterion, label, "cannot tell", None, bound, "One of the versions has no cases to measure "
                       "this on.", "trust", "evaluation sets")
    if gain.low is None or gain.high is None:
        ranged = "(with no range, so how sure this is cannot be said)"
    else:
        ranged = (f"(allowing for chance, anywhere from {told_points(gain.low, up='better', down='worse')} to "
                  f"{told_points(gain.high, up='better', down='worse')})")
    change = told_points(gain.value, up="better", down="worse")
    sentence = (f"The {kind_phrase(ground.metric, words)} is {told_share(theirs.value)} for {other}, measured on "
                f"{theirs.n:,} {counted_among(ground.metric, words)}, and {told_share(mine.value)} for "
                f"{inputs.current_name}, measured on {mine.n:,}: {other} is {change} {ranged}. The story accepts "
                f"{other} being worse by at most {margin}: {verdict_words(outcome)}.")
    return _result(criterion, label, outcome, gain, bound, sentence, "trust",
                   f"{inputs.current.source} and {inputs.compared.source}")
