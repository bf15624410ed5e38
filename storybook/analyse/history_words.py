"""The model's history in words: the sentences of the history section, built once here; the template lays them
out beside the table of versions (``analyse/history.py`` computes what they say)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from storybook.analyse.history import HistoryReport, TimelineRow
from storybook.analyse.page_words import Part, Said, said, strong
from storybook.analyse.plain import format_count, full_stop

__all__ = ["HistoryWording", "history_wording"]

RANGES_NOTE = ("Figures as logged by each version's run; ranges (95%) from each version's scored evaluation set, "
               "where there is one. A change is called clear only when the 95% range of the difference between the "
               "two versions leaves out no change (worked out case by case when both versions scored the same "
               "cases).")


@dataclass(frozen=True)
class HistoryWording:
    lead: Said  # which versions are shown, and what the section tells of them
    changes: Mapping[int, Said]  # version -> what changed from the version before it (settings, then figures)
    ranges_note: str
    side_by_side: str | None  # the heading of the two versions compared figure by figure


def _aliases(row: TimelineRow) -> str:
    return ", ".join(row.aliases_now) or "no alias"


def _changes(row: TimelineRow) -> Said:
    if row.previous is None:
        return said("First version shown.")
    settings = (f"Settings: {full_stop('; '.join(row.param_changes))}" if row.param_changes
                else "No settings changed.")
    clear = row.clear_changes
    if not clear:
        return said(settings, " No figure changed by more than its range allows.")
    parts: list[str | Part] = [settings]
    for figure in clear:
        parts += [" ", strong(figure.sentence)]
    return said(*parts)


def history_wording(history: HistoryReport) -> HistoryWording:
    since = f" from version {history.first_shown} on" if history.first_shown > 1 else ""
    side = history.side_by_side
    return HistoryWording(
        lead=said("Every version of ", strong(history.name), f" registered so far{since}, "
                  f"{format_count(len(history.rows))} in all, with the labels (aliases) each carried and what "
                  "changed from one version to the next."),
        changes={row.version: _changes(row) for row in history.rows},
        ranges_note=RANGES_NOTE,
        side_by_side=(f"Version {side.left.version} ({_aliases(side.left)}) beside version {side.right.version} "
                      f"({_aliases(side.right)})") if side is not None else None,
    )
