"""The history section's sentences (analyse/history_words.py), built in Python for the template to lay out."""

from __future__ import annotations

from storybook.analyse.history import FigureStep, HistoryReport, SideBySide, TimelineRow
from storybook.analyse.history_words import history_wording
from storybook.analyse.page_words import Part, Said
from storybook.sources.schema import MetricSpec


def _text(said: Said) -> str:
    return "".join(part.text for part in said)


SPEC = MetricSpec.model_construct(key="test_recall", label="Found")


def _row(version: int, previous: int | None, params: tuple[str, ...] = (), verdicts: tuple[str, ...] = (),
         aliases: tuple[str, ...] = ()) -> TimelineRow:
    figures = tuple(FigureStep(SPEC, 0.9, None, v, f"figure {i} is {v}") for i, v in enumerate(verdicts))  # type: ignore[arg-type]
    return TimelineRow(version, 0, "run", "r" * 32, aliases, (), figures, params, previous, False)


def _history(*rows: TimelineRow, first_shown: int = 1, side: SideBySide | None = None) -> HistoryReport:
    return HistoryReport("screen", rows, (), "", (), len(rows), side, first_shown)


def test_what_changed_from_one_version_to_the_next() -> None:
    rows = (_row(3, None), _row(4, 3, ("C: 0.05 → 0.5", "features: 10 → 30")),
            _row(5, 4, (), ("better", "no clear difference", "worse")))
    said = history_wording(_history(*rows, first_shown=3))
    assert _text(said.lead) == ("Every version of screen registered so far from version 3 on, 3 in all, with the "
                                "labels (aliases) each carried and what changed from one version to the next.")
    assert Part("screen", "strong") in said.lead
    assert _text(said.changes[3]) == "First version shown."
    assert _text(said.changes[4]) == ("Settings: C: 0.05 → 0.5; features: 10 → 30. No figure changed by more than "
                                      "its range allows.")
    # Only the clear changes are told, each in bold.
    assert said.changes[5] == (Part("No settings changed."), Part(" "), Part("figure 0 is better", "strong"),
                               Part(" "), Part("figure 2 is worse", "strong"))
    assert said.side_by_side is None


def test_all_versions_and_the_side_by_side_heading() -> None:
    left, right = _row(1, None, aliases=("champion", "gold")), _row(2, 1)
    said = history_wording(_history(left, right, side=SideBySide(left, right, ())))
    assert _text(said.lead).startswith("Every version of screen registered so far, 2 in all,")
    assert said.side_by_side == "Version 1 (champion, gold) beside version 2 (no alias)"


def test_a_version_names_its_run_or_its_id_when_the_run_has_no_name() -> None:
    assert _row(1, None).run == "run run"
    nameless = TimelineRow(2, 0, "", "f" * 32, (), (), (), (), 1, False)
    assert nameless.run == "run " + "f" * 32  # never a bare "run "
