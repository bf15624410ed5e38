"""The cost-of-error story in words, built once for every audience version.

The full page, the compliance PDF and the one-page summary lay out these same sentences; no template
composes a cost sentence of its own. So each version carries the same constraints: with a capacity, every
version recommends only a threshold that keeps within it, and says when the capacity binds. The summary's
sentences (:attr:`CostWording.summary`) are a subset of the page's.

Every threshold printed here is one of :class:`~storybook.analyse.cost_story.CostStory`'s ``*_text`` values,
so flagging the cases that score at or above it gives exactly the counts and cost told beside it. Counts out
of ``per`` come from :func:`~storybook.analyse.costs.natural_frequencies`, so one section has one number of
cases who are positive.
"""

from __future__ import annotations

from dataclasses import dataclass

from storybook.analyse.cost_story import CostStory
from storybook.analyse.costs import NaturalFrequencies
from storybook.analyse.plain import Vocabulary, full_stop

__all__ = ["CostSliceWording", "CostWording", "cost_wording"]


@dataclass(frozen=True)
class CostWording:
    """Each paragraph of the cost-of-error section as a tuple of whole sentences (empty when not told)."""

    prices: tuple[str, ...]
    current_heading: str
    current: tuple[str, ...]
    current_cost: str
    best_heading: str
    choice: tuple[str, ...]
    best: tuple[str, ...]
    threshold_uncertainty: tuple[str, ...]
    slices_lead: str
    few_cases: str | None
    summary: tuple[str, ...]
    slices: tuple[CostSliceWording, ...] = ()  # one table per slice, in the order of ``CostStory.slices``


@dataclass(frozen=True)
class CostSliceWording:
    """One slice's table of mistakes: its caption, and per group (in row order) its share of the mistakes."""

    caption: str
    cost_heading: str
    missed: tuple[str, ...]  # "3 of the 12 missed", or "none missed" when nobody in the evaluation was missed
    false_alarms: tuple[str, ...]


def _cost(value: float) -> str:
    return f"{value:,.0f}"


def _difference(value: float) -> str:
    """A cost difference: "a saving of 1,880" or "an extra 300"."""
    return f"a saving of {value:,.0f}" if value >= 0 else f"an extra {-value:,.0f}"


def _counts(table: NaturalFrequencies, words: Vocabulary, *, would: bool) -> tuple[str, str]:
    u, pos, flag = words.unit, words.positive, words.flagged
    verb = "would then be" if would else "are"
    missed = ("would be missed" if would else ("is missed" if table.fn == 1 else "are missed"))
    return (f"Out of {table.per:,} {u}, {table.flagged:,} {verb} {flag}: {table.tp:,} of them {pos} and "
            f"{table.fp:,} do not.",
            f"Of the {table.positives:,} who {pos}, {table.fn:,} {missed}.")


def _prices(cost: CostStory, words: Vocabulary) -> tuple[str, ...]:
    spec, model = cost.spec, cost.costs
    u, pos, neg, flag = words.unit, words.positive, words.negative, words.flagged
    false_alarm = spec.false_positive_means or f"one of the {u} who {neg} is {flag}"
    missed = spec.false_negative_means or f"one of the {u} who {pos} is not {flag}"
    told = [f"{spec.owner} has put a price on each kind of mistake, in {spec.unit}.",
            f"A false alarm ({false_alarm}) costs {model.cost_fp:,.1f}.",
            f"A missed case ({missed}) costs {model.cost_fn:,.1f}."]
    if model.cost_tp:
        told.append(f"Each case found costs {model.cost_tp:,.1f}.")
    if model.cost_tn:
        told.append(f"Each case rightly left alone costs {model.cost_tn:,.1f}.")
    if spec.ratio:
        told.append(f"Only the ratio matters here: a missed case counts as {spec.ratio:,.1f} false alarms.")
    return tuple(told)


def _capacity(cost: CostStory, words: Vocabulary) -> tuple[str, ...]:
    """The limit, whether the threshold in use keeps to it, and what the limit costs when it binds."""
    capacity, per = cost.spec.capacity, cost.per
    if capacity is None:
        return ()
    told = [f"There is room for at most {capacity:,} out of every {per:,} {words.unit}."]
    counts = cost.current_counts
    if counts.n and counts.flagged * per > capacity * counts.n:
        if cost.current.flagged > capacity:
            told.append(f"With the threshold in use now, {cost.current.flagged:,} are {words.flagged}: more than "
                        "that.")
        else:  # rounding brought it down to the limit: say the unrounded figure rather than contradict it
            exact = counts.flagged * per / counts.n
            told.append(f"With the threshold in use now, slightly more than that are {words.flagged} ({exact:,.1f} "
                        f"out of every {per:,} before rounding).")
    cmp = cost.comparison
    if cmp is not None and cost.unconstrained is not None and not cmp.best.nothing_fits:
        told.append(f"Without that limit, the cheapest choice would have {cost.unconstrained.flagged:,} out of "
                    f"every {per:,} {words.flagged}, at about {_cost(cmp.best.uncapped_cost_per)} {cost.spec.unit} "
                    f"per {per:,}; there is no room for that many.")
    return tuple(told)


def _choice(cost: CostStory, words: Vocabulary) -> tuple[str, ...]:
    """What the cheapest threshold (within the capacity) is and what it would save, with its uncertainty."""
    cmp, spec, per = cost.comparison, cost.spec, cost.per
    if cmp is None:
        return ("The run logged the counts of each outcome at this one threshold, but not the model's scores for "
                "each case, so storybook cannot work out what another threshold would cost.",
                "Log the scored evaluation set (one row per case: the true answer and the score) to see the "
                "threshold that costs least.")
    best = cmp.best
    limited = spec.capacity is not None
    if best.nothing_fits:
        return ("No threshold keeps within that limit and still flags anyone.",)
    if best.flags_nobody:
        return (f"With these costs, flagging nobody would cost least{' within that limit' if limited else ''}: about "
                f"{_cost(best.cost_per)} {spec.unit} per {per:,}.",
                full_stop(f"The stated costs may be worth checking with {spec.owner}"))
    if best.confusion == cmp.current:
        return (f"The threshold in use now is already the one that costs least with these costs"
                f"{' and within that limit' if limited else ''}.",)
    told = cost.best_threshold_text
    assert told is not None
    lead = "Within that limit, a threshold" if limited else "A threshold"
    would = f"{lead} of {told} would cost about {_cost(best.cost_per)} {spec.unit} for every {per:,} {words.unit}"
    # The difference of the two figures as shown, so that it is the one a reader works out from them.
    shown = round(cmp.current_cost_per) - round(best.cost_per)
    if shown > 0:
        sentences = [f"{would}, instead of {_cost(cmp.current_cost_per)}: a saving of about {shown:,}."]
    elif shown == 0:  # the same cost, or a difference smaller than the figures' rounding
        sentences = [f"{would}, about the same as the threshold in use now."]
    else:  # only when the threshold in use breaks the capacity: within it, the cheapest costs more
        counts = cost.current_counts
        breaks = spec.capacity is not None and counts.flagged * per > spec.capacity * counts.n
        why = f", which has more {words.unit} {words.flagged} than there is room for" if breaks else ""
        sentences = [f"{would}: about {-shown:,} more than the threshold in use now{why}."]
    saving = cost.uncertainty.saving if cost.uncertainty is not None else None
    if saving is not None and saving.low is not None and saving.high is not None:
        doubt = ", so it is not certain that switching helps" if cmp.saving_per > 0 and saving.low <= 0 else ""
        judged = _sample_note(cost, words)
        sentences.append(f"Allowing for chance in the evaluation{judged}, the difference could be anywhere from "
                         f"{_difference(saving.low)} to {_difference(saving.high)}{doubt}.")
    return tuple(sentences)


def _sample_note(cost: CostStory, words: Vocabulary) -> str:
    """", judged on a random sample of 200,000 of its 6,000,000 patients" when the evaluation was too large to
    resample whole (the ranges are then those of the smaller sample, so wider); "" otherwise."""
    drawn = cost.uncertainty
    if drawn is None or drawn.sampled is None:
        return ""
    return f", judged on a random sample of {drawn.sampled:,} of its {drawn.cases:,} {words.unit}"


def _threshold_uncertainty(cost: CostStory, words: Vocabulary) -> tuple[str, ...]:
    cmp = cost.comparison
    if (cost.uncertainty is None or cost.threshold_range_text is None or cmp is None or cmp.best.flags_nobody
            or cmp.best.nothing_fits):
        return ()
    low, high = cost.threshold_range_text
    which = ("The threshold that costs least within the limit" if cost.spec.capacity is not None
             else "The threshold that costs least")
    where = f"at {low} every time" if low == high else f"between {low} and {high}"
    drawn = cost.uncertainty
    resampled = ("the evaluation" if drawn.sampled is None
                 else f"a random sample of {drawn.sampled:,} of its {drawn.cases:,} {words.unit}")
    return (f"{which} is itself uncertain: resampling {resampled} {drawn.rounds:,} times puts it {where}.",
            f"Because it was chosen on the same {cost.n:,} {words.unit} it is measured on, its cost may look a "
            "little better than it will be.")


def _slice_tables(cost: CostStory, words: Vocabulary) -> tuple[CostSliceWording, ...]:
    tables = []
    for group in cost.slices:
        total_fn = sum(row.confusion.fn for row in group.rows)
        total_fp = sum(row.confusion.fp for row in group.rows)
        tables.append(CostSliceWording(
            caption=(f"{group.spec.label}: mistakes in the evaluation, and their cost per {cost.per:,} "
                     f"{words.unit}"),
            cost_heading=f"Cost per {cost.per:,}",
            missed=tuple(f"{row.confusion.fn:,} of the {total_fn:,} missed" if total_fn else "none missed"
                         for row in group.rows),
            false_alarms=tuple(f"{row.confusion.fp:,} of the {total_fp:,} false alarms" if total_fp
                               else "no false alarms" for row in group.rows),
        ))
    return tuple(tables)


def cost_wording(cost: CostStory, words: Vocabulary) -> CostWording:
    """Every sentence of the cost-of-error section, and the summary's share of them."""
    per, unit = cost.per, cost.spec.unit
    current = _counts(cost.current, words, would=False)
    current_cost = f"That costs about {_cost(cost.current_cost_per)} {unit} for every {per:,} {words.unit}."
    choice = _capacity(cost, words) + _choice(cost, words)
    cmp = cost.comparison
    shows_best = (cmp is not None and cost.best is not None and not cmp.best.flags_nobody
                  and not cmp.best.nothing_fits and cmp.best.confusion != cmp.current)
    best: tuple[str, ...] = ()
    if shows_best and cost.best is not None:
        told = cost.best_threshold_text
        best = (f"At {told}, {words.unit} who score {told} or more are {words.flagged}.",
                *_counts(cost.best, words, would=True))
    few = (f"Only {cost.positives:,} of the {cost.n:,} {words.unit} in the evaluation {words.positive}; figures "
           "about missed cases rest on few cases." if cost.few_cases else None)
    return CostWording(
        prices=_prices(cost, words),
        current_heading=f"With the threshold in use now ({cost.current_threshold_text})",
        current=current, current_cost=current_cost,
        best_heading=("The threshold that costs least within the limit" if cost.spec.capacity is not None
                      else "The threshold that costs least"),
        choice=choice, best=best, threshold_uncertainty=_threshold_uncertainty(cost, words),
        slices_lead=(f"At the threshold in use now, these are the mistakes among the {cost.n:,} {words.unit} of the "
                     f"evaluation (real cases, not out of {per:,}), and what they cost for every {per:,} "
                     f"{words.unit} in each group:"),
        few_cases=few,
        summary=(*current, current_cost, *choice),
        slices=_slice_tables(cost, words),
    )
