"""The scan for weak groups in words: one sentence per group found (labelled as found by storybook, not declared by
the story's authors), what was tried and how chance is kept in check; ``_weak_groups.html`` lays them out."""

from __future__ import annotations

from dataclasses import dataclass

from storybook.analyse.plain import (
    DEFAULT_RULES,
    Vocabulary,
    WordingRules,
    amount_phrase,
    format_count,
    share_phrase,
)
from storybook.analyse.weak_groups import BINS, Finding
from storybook.analyse.weak_groups_story import WeakGroups

__all__ = ["FoundGroup", "WeakGroupsWording", "chance_words", "finding_sentence", "weak_groups_wording"]


@dataclass(frozen=True)
class FoundGroup:
    name: str  # as an author acknowledges it in story.yaml
    sentence: str
    authors: str  # "The story's authors did not look at this group." or their reason


@dataclass(frozen=True)
class WeakGroupsWording:
    found: tuple[FoundGroup, ...]
    summary: str  # what was found, or that nothing was (or why the scan could not run)
    method: str  # what was tried, how large a group must be, and the false discovery rate
    skipped: str | None  # columns not scanned, and why


NOT_LOOKED = "The story's authors did not look at this group."
PAIR_RULE = "; a pair counts only where it is worse than the rest of each of its two parts"


def chance_words(rate: float) -> str:
    """A false discovery rate as a reader says it: 0.05 -> "1 in 20", 0.1 -> "1 in 10", 0.03 -> "3 in 100"."""
    one_in = 1 / rate
    if abs(one_in - round(one_in)) < 1e-9:
        return f"1 in {format_count(round(one_in))}"
    return f"{rate * 100:g} in 100"


def _figure_words(finding: Finding, words: Vocabulary, rules: WordingRules, cost_unit: str) -> str:
    group, rest = finding.group, finding.rest
    if finding.figure == "misses":
        return (f"the model misses {share_phrase(group, rules)} who {words.positive}, against "
                f"{share_phrase(rest, rules)} for the others")
    if finding.figure == "false_alarms":
        return (f"{share_phrase(group, rules)} who {words.negative} are {words.flagged} all the same (false alarms), "
                f"against {share_phrase(rest, rules)} for the others")
    if finding.figure == "cost":
        return (f"the model's calls cost on average {amount_phrase(group, cost_unit, rules)} for each of them, "
                f"against {amount_phrase(rest, cost_unit, rules)} for each of the others")
    if finding.figure == "average_miss":
        unit = words.amount_unit or "units"
        return (f"the forecasts miss by {amount_phrase(group, unit, rules)} on average, against "
                f"{amount_phrase(rest, unit, rules)} for the others")
    if finding.figure == "wrong_calls":
        return (f"the model calls the wrong class for {share_phrase(group, rules)} of them, against "
                f"{share_phrase(rest, rules)} for the others")
    raise ValueError(f"no words for the figure {finding.figure!r}")


def finding_sentence(finding: Finding, words: Vocabulary, rules: WordingRules = DEFAULT_RULES, *,
                     cost_unit: str = "") -> str:
    """"Among the patients whose age is above 60 (41 of the 177), the model misses between 30 and 55 in 100 who
    need a follow-up, against between 12 and 25 in 100 for the others." """
    whose = " and whose ".join(f"{part.column} {part.words}" for part in finding.parts)
    return (f"Among the {words.unit} whose {whose} ({format_count(finding.cases)} of the "
            f"{format_count(finding.total)}), {_figure_words(finding, words, rules, cost_unit)}.")


_TRIED_ON = {
    "misses": "the share missed among those who {positive}",
    "false_alarms": "the share {flagged} among those who {negative}",
    "cost": "the cost of the calls per case",
    "average_miss": "the average miss",
    "wrong_calls": "the share of wrong calls",
}

_DENOMINATOR = {"misses": "who {positive}", "false_alarms": "who {negative}", "wrong_calls": ""}


def _plural(count: int, one: str, many: str) -> str:
    return f"{format_count(count)} {one if count == 1 else many}"


def weak_groups_wording(report: WeakGroups, words: Vocabulary, rules: WordingRules = DEFAULT_RULES,
                        ) -> WeakGroupsWording:
    result = report.result
    if result is None:
        return WeakGroupsWording((), f"storybook could not look for weak groups: {report.not_run}.",
                                 "", None)
    fill = {"positive": words.positive, "negative": words.negative, "flagged": words.flagged}
    found = tuple(FoundGroup(
        f.name, finding_sentence(f, words, rules, cost_unit=report.cost_unit),
        f"The story's authors know of this group: {reason}" if (reason := report.reason(f)) else NOT_LOOKED)
        for f in result.shown)
    settings = result.settings
    if not result.found:
        summary = (f"storybook found no group of {words.unit} clearly worse off than the rest in the columns the "
                   "story does not slice by.")
    else:
        told = len(found)
        more = len(result.found) - told
        summary = (f"storybook found {_plural(len(result.found), 'group', 'groups')} of {words.unit} clearly worse "
                   "off than the rest, in columns the story does not slice by"
                   + (f"; here are the {format_count(told)} that differ most." if more else "."))
    figures = [_TRIED_ON[f].format(**fill) for f in report.figures]
    denominators = [d.format(**fill) for f in report.figures if (d := _DENOMINATOR.get(f, ""))]
    binned = (f" Numbers ({', '.join(result.binned)}) are cut into {BINS} groups of about equal size (quartiles)."
              if result.binned else "")
    singles = result.groups - result.pair_groups
    columns = _plural(len(result.columns), "column", "columns")
    pairs = (f", and {_plural(result.pair_groups, 'group', 'groups')} in the {_plural(result.pairs, 'pair', 'pairs')}"
             " of those columns (both at once)" if result.pairs else "")
    needs = f"at least {format_count(settings.min_group_size)} {words.unit}"
    if denominators:
        needs += f" and at least {format_count(settings.min_denominator)} {' or '.join(denominators)}"
    skipped = None
    if result.skipped:
        skipped = "Not scanned: " + "; ".join(f"{name} ({why})" for name, why in result.skipped) + "."
    if result.comparisons == 0:  # nothing tried: "found no group" would claim a search that did not happen
        summary = (f"storybook tried no group of {words.unit}: "
                   + (f"none in the {columns} the story does not slice by holds {needs}." if result.columns else
                      "there is no column it does not slice by to look in."))
        method = (f"A group is tried when it holds {needs}{PAIR_RULE if result.pairs else ''}.{binned} Smaller groups"
                  " are not compared: their figures move too much by chance alone.")
        return WeakGroupsWording(found, summary, method, skipped)
    comparisons = _plural(result.comparisons, "comparison", "comparisons")
    method = (f"storybook tried {_plural(singles, 'group', 'groups')} in the {columns} the story does not slice by"
              f"{pairs}: {comparisons} in all, on {' and on '.join(figures)}.{binned} A group is tried when it holds "
              f"{needs}{PAIR_RULE if result.pairs else ''}. With so many tries, some groups look worse by chance "
              "alone: a group is shown only when its difference holds across its 95% range and the method keeps the "
              f"share of chance findings among the groups found to about {chance_words(settings.false_discovery_rate)}"
              " at most (Benjamini-Hochberg).")
    return WeakGroupsWording(found, summary, method, skipped)
