"""Trust in the **data**, from what the data says unasked: possible leaks, columns that tell nothing, groups on
one side only of training and evaluation, and outcomes that contradict each other for identical inputs.

Each is one :class:`Evidence` built from :func:`storybook.analyse.data_surprises.find_surprises`. A leak or
contradicting outcomes fail their check; so do a constant or mostly missing column and a group on one side only
(trust levels have no "warning" step: a check passes or fails, and these name what to look at). A set without
one row per case (an aggregate) or without input columns cannot be checked: its evidence says why, with
``passed`` None.
"""

from __future__ import annotations

from storybook.analyse.data_surprises import DataSurprises, Task
from storybook.analyse.data_surprises_words import (
    conflicts_sentence,
    empty_sentence,
    gaps_sentence,
    leaks_sentence,
    needs_rows_sentence,
)
from storybook.analyse.plain import Vocabulary
from storybook.analyse.trust_checks.evidence import Evidence, FigureValue

__all__ = ["check_conflicts", "check_empty_columns", "check_group_coverage", "check_leaks", "needs_rows",
           "surprise_evidence"]


def check_leaks(found: DataSurprises, *, task: Task, words: Vocabulary, source: str, classes: int = 2,
                which: str = "") -> Evidence:
    """Fails when an input column alone tells the outcome almost perfectly (a possible leak)."""
    figures: dict[str, FigureValue] = {"inputs": len(found.inputs), "rows": found.rows, "leaks": len(found.leaks)}
    figures.update({f"leak_{leak.column}": round(leak.value, 4) for leak in found.leaks})
    sentence = leaks_sentence(found.leaks, inputs=len(found.inputs), task=task, words=words, classes=classes,
                              which=which)
    return Evidence("data", "data.leaks", sentence, not found.leaks, figures, source)


def check_conflicts(found: DataSurprises, *, unit: str, source: str, which: str = "") -> Evidence | None:
    """Fails when rows with identical inputs have different outcomes; None for regression (not checked)."""
    conflicts = found.conflicts
    if conflicts is None:
        return None
    figures: dict[str, FigureValue] = {"rows": conflicts.rows, "sets": conflicts.groups, "n": conflicts.n,
                                       "inputs": len(found.inputs)}
    sentence = conflicts_sentence(conflicts, inputs=len(found.inputs), unit=unit, which=which)
    return Evidence("data", "data.contradictions", sentence, conflicts.rows == 0, figures, source)


def check_empty_columns(found: DataSurprises, *, columns: int, unit: str, source: str) -> Evidence:
    """Fails when a column holds one value only or is missing for 95 in 100 rows or more."""
    figures: dict[str, FigureValue] = {"columns": columns, "rows": found.rows,
                                       "constant": sum(e.kind == "constant" for e in found.empty),
                                       "mostly_missing": sum(e.kind == "missing" for e in found.empty)}
    sentence = empty_sentence(found.empty, columns=columns, rows=found.rows, unit=unit)
    return Evidence("data", "data.empty_columns", sentence, not found.empty, figures, source)


def check_group_coverage(found: DataSurprises, *, source: str) -> Evidence | None:
    """Fails when a group of a category column is in the training data only, or in the evaluation set only;
    None without a training table or a category column both hold."""
    if found.gaps is None or not found.compared:
        return None
    figures: dict[str, FigureValue] = {"columns": len(found.compared), "groups_one_side": len(found.gaps)}
    return Evidence("data", "data.group_coverage", gaps_sentence(found.gaps, compared=len(found.compared)),
                    not found.gaps, figures, source)


def needs_rows(reason: str, *, source: str) -> Evidence:
    """The leak and contradiction checks could not run (an aggregate, or no input columns): why, plainly."""
    return Evidence("data", "data.leaks", needs_rows_sentence(reason), None, {}, source)


def surprise_evidence(found: DataSurprises, *, task: Task, words: Vocabulary, columns: int, source: str,
                      training_source: str = "", classes: int = 2) -> list[Evidence]:
    """Every surprise check of one evaluation set: leaks, contradictions, columns that tell nothing, and (with
    a training table) groups on one side only."""
    if not found.inputs:
        told = [needs_rows("the evaluation set has no input columns besides the outcome and the model's answers",
                           source=source)]
        return told + ([check_empty_columns(found, columns=columns, unit=words.unit, source=source)]
                       if found.empty else [])
    evidence = [check_leaks(found, task=task, words=words, source=source, classes=classes)]
    conflicts = check_conflicts(found, unit=words.unit, source=source)
    if conflicts is not None:
        evidence.append(conflicts)
    evidence.append(check_empty_columns(found, columns=columns, unit=words.unit, source=source))
    coverage = check_group_coverage(found, source=training_source or source)
    if coverage is not None:
        evidence.append(coverage)
    return evidence
