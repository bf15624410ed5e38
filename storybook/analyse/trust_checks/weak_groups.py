"""Trust in the **data**: groups nobody asked about (the scan, ``analyse/weak_groups.py``). Passes when the scan
found no group clearly worse off than the rest, or when the story's authors acknowledged every group shown."""

from __future__ import annotations

from storybook.analyse.plain import format_count
from storybook.analyse.trust_checks.evidence import Evidence, FigureValue
from storybook.analyse.weak_groups_story import WeakGroups

__all__ = ["check_weak_groups"]


def check_weak_groups(report: WeakGroups, *, unit: str, source: str) -> Evidence:
    result = report.result
    if result is None:
        return Evidence("data", "data.weak_groups", f"storybook could not look for weak groups: {report.not_run}.",
                        None, {}, source)
    open_groups = report.unacknowledged
    figures: dict[str, FigureValue] = {"groups_tried": result.groups, "comparisons": result.comparisons,
                                       "found": len(result.found), "shown": len(result.shown),
                                       "not_acknowledged": len(open_groups),
                                       "false_discovery_rate": result.settings.false_discovery_rate}
    if result.comparisons == 0:  # no search happened: no evidence either way
        return Evidence("data", "data.weak_groups",
                        f"storybook tried no group of {unit}: none in the columns the story does not slice by is large "
                        "enough to compare, so this scan earns no trust.", None, figures, source)
    groups = "group" if result.groups == 1 else "groups"
    tried = f"storybook tried {format_count(result.groups)} {groups} of {unit} the story does not slice by"
    if not result.found:
        sentence = f"{tried} and found none clearly worse off than the rest."
    elif not open_groups:
        shown = len(result.shown)
        sentence = (f"{tried}; the story's authors acknowledge "
                    + ("the one group" if shown == 1 else f"each of the {format_count(shown)} groups")
                    + " found clearly worse off that the page shows.")
    else:
        names = "; ".join(f.name for f in open_groups)
        sentence = (f"{tried}; {format_count(len(open_groups))} found clearly worse off "
                    f"{'is' if len(open_groups) == 1 else 'are'} not discussed by the story: {names}.")
    return Evidence("data", "data.weak_groups", sentence, not open_groups, figures, source)
