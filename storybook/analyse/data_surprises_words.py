"""The sentences of the leaks-and-surprises checks (:mod:`storybook.analyse.data_surprises`), in plain words.

Each sentence says its figure with its meaning and how many rows it was read on; the rules and thresholds are
those of :mod:`storybook.analyse.data_surprises` (written out in docs/data-checks.md).
"""

from __future__ import annotations

from collections.abc import Sequence

from storybook.analyse.data_surprises import (
    LEAK_AT,
    MIN_EXPECTED,
    MISSING_AT,
    EmptyColumn,
    GroupGap,
    Leak,
    Task,
)
from storybook.analyse.plain import Vocabulary, capitalise
from storybook.analyse.trust_checks.words import count_of, one_in
from storybook.metrics.separation import Conflicts

__all__ = [
    "conflicts_sentence",
    "empty_sentence",
    "gaps_sentence",
    "in_100",
    "leaks_sentence",
    "needs_rows_sentence",
]

# Items named one by one in a sentence; the rest are counted.
MAX_TOLD = 4
LEAK_ADVICE = ("the answer may have leaked into the data. Check how this column is filled, and whether the model "
               "reads it, before trusting the figures.")


def in_100(value: float) -> str:
    """A figure from 0 to 1 as so many in 100, never rounded up to a whole 100 ("more than 99 in 100")."""
    if value >= 1:
        return "100 in 100"
    told = round(value * 100)
    return "more than 99 in 100" if told >= 100 else f"{told} in 100"


def _name(column: str) -> str:
    """A column's or value's name from the data (untrusted): on one line, at most 60 characters, in quotes."""
    return f"'{' '.join(column.split())[:60]}'"


def _more(told: Sequence[str], total: int, noun: str) -> str:
    extra = total - len(told)
    return "" if extra <= 0 else f" ({count_of(extra, 'more ' + noun)} like this)"


def leak_sentence(leak: Leak, task: Task, words: Vocabulary, *, classes: int = 2) -> str:
    """One column that tells the outcome on its own, with its figure and what to do."""
    unit = words.unit
    figure = in_100(leak.value)
    rows = f"{leak.rows:,} {unit}"
    if task == "regression":
        amounts = f"the actual {words.amount_unit}" if words.amount_unit else "the actual amounts"
        how = (f"rank correlation {leak.value:.2f}" if leak.measure == "spearman"
               else f"on its own it accounts for {figure} of their ups and downs (R² {leak.value:.2f})")
        return (f"The column {_name(leak.column)} alone follows {amounts} almost exactly ({how}; {rows}): "
                f"{LEAK_ADVICE}")
    if task == "multiclass":
        return (f"The column {_name(leak.column)} alone gives the right class for {figure} {unit} (guessing the "
                f"commonest class for each of its values, on average over the {classes} classes; {rows}): "
                f"{LEAK_ADVICE}")
    apart = f"{unit} who {words.positive} from those who {words.negative}"
    if leak.measure == "auc":
        how = (f"of the pairs of one of each, the column alone ranks {figure} the right way round; "
               f"ROC AUC {leak.value:.2f}, {rows}")
    else:
        how = (f"guessing the commonest outcome for each of its values gets {figure} right, on average over the "
               f"two outcomes; {rows}")
    return f"The column {_name(leak.column)} alone tells apart {figure} of the {apart} ({how}): {LEAK_ADVICE}"


def leaks_sentence(leaks: Sequence[Leak], *, inputs: int, task: Task, words: Vocabulary, classes: int = 2,
                   which: str = "") -> str:
    """Every leak found (the strongest first), or that none was, with how many columns were looked at."""
    where = f"In {which}: " if which else ""
    if not leaks:
        return (f"{where}{'no' if which else 'No'} input column alone tells the outcome almost perfectly "
                f"(storybook looked at {count_of(inputs, 'column')}; it flags one that is right {in_100(LEAK_AT)} "
                "or more).")
    ranked = sorted(leaks, key=lambda leak: (-leak.value, leak.column))
    told = [leak_sentence(leak, task, words, classes=classes) for leak in ranked[:MAX_TOLD]]
    first = told[0] if not which else told[0][:1].lower() + told[0][1:]
    return " ".join([f"{where}{first}", *told[1:]]) + _more(told, len(leaks), "column")


def empty_sentence(empty: Sequence[EmptyColumn], *, columns: int, rows: int, unit: str) -> str:
    """Columns that hold one value only or are mostly missing, or that none is."""
    if not empty:
        if columns == 1:
            return (f"The one column varies, and is missing in fewer than {in_100(MISSING_AT)} {unit} "
                    f"({rows:,} {unit}).")
        return (f"Every one of the {count_of(columns, 'column')} varies, and none is missing in "
                f"{in_100(MISSING_AT)} {unit} or more ({rows:,} {unit}).")
    parts = []
    for e in empty[:MAX_TOLD]:
        if e.kind == "constant":
            filled = (f"all {e.n:,} {unit}" if not e.missing
                      else f"the {e.n - e.missing:,} of {e.n:,} {unit} that have it")
            parts.append(f"the column {_name(e.column)} holds one value only ({_name(e.value or '')}) for "
                         f"{filled}: it cannot tell one from another here")
        else:
            parts.append(f"the column {_name(e.column)} is missing for {one_in(e.missing, e.n)} of the {unit} "
                         f"({e.missing:,} of {e.n:,})")
    return (f"{capitalise('; '.join(parts))}{_more(parts, len(empty), 'column')}. A column that is constant or "
            f"missing for {in_100(MISSING_AT)} {unit} or more says nothing about them: check that it is filled "
            "as it was in training.")


def gaps_sentence(gaps: Sequence[GroupGap], *, compared: int) -> str:
    """Groups found in the training data but not in the evaluation set, or the reverse; or that none is."""
    if not gaps:
        return (f"Every group of the {count_of(compared, 'category column')} compared is found in both the training "
                f"data and the evaluation set (storybook names a group missing on one side when its share would give "
                f"at least {MIN_EXPECTED:g} rows there).")
    parts = []
    for g in gaps[:MAX_TOLD]:
        if g.present_in == "training":
            parts.append(f"the group {_name(g.group)} of {_name(g.column)} has {g.count:,} rows in the training data "
                         f"but none of the {g.other_rows:,} in the evaluation set, where its training share would give "
                         f"about {g.expected:,.0f}: the figures say nothing about this group")
        else:
            parts.append(f"the group {_name(g.group)} of {_name(g.column)} has {g.count:,} rows in the evaluation "
                         f"set but none of the {g.other_rows:,} in the training data, where its evaluation share "
                         f"would give about {g.expected:,.0f}: the model never learnt from this group")
    return f"{capitalise('; '.join(parts))}{_more(parts, len(gaps), 'group')}."


def conflicts_sentence(conflicts: Conflicts, *, inputs: int, unit: str, which: str = "") -> str:
    """Rows with identical inputs but different outcomes: how many, their share, in how many sets."""
    where = f"In {which}, " if which else ""
    if conflicts.rows == 0:
        return (f"{where}{'no' if which else 'No'} two {unit} with the same value in every one of the "
                f"{count_of(inputs, 'input column')} have different outcomes ({conflicts.n:,} {unit}).")
    sets = count_of(conflicts.groups, "set")
    head = (f"{conflicts.rows:,} of {conflicts.n:,} {unit} ({one_in(conflicts.rows, conflicts.n)}) have the same value "
            f"in every one of the {count_of(inputs, 'input column')} as another with a different outcome ({sets} "
            "of identical inputs with more than one outcome)")
    return (f"{where}{head if which else capitalise(head)}: either some labels are wrong, or the inputs miss something "
            "that decides the outcome.")


def needs_rows_sentence(reason: str) -> str:
    """Why the leak and contradiction checks could not run: they need one row per case with its inputs."""
    return ("The checks for an input that gives the answer away and for identical inputs with different outcomes "
            f"need one row per case with its inputs: {reason}.")
