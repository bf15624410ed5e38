"""The drivers section's sentences (analyse/drivers_words.py), built in Python for _drivers.html to lay out."""

from __future__ import annotations

from types import SimpleNamespace
from typing import cast

from storybook.analyse.drivers import DriversReport
from storybook.analyse.drivers_words import drivers_wording
from storybook.analyse.plain import Vocabulary

WORDS = Vocabulary(unit="patients")


def _report(rows: int, ranked: int, shown: int, together: tuple[tuple[str, str, float], ...] = ()) -> DriversReport:
    return cast(DriversReport, SimpleNamespace(
        rows=rows, repeats=1000, reliance="The more accuracy it loses, the more it relies on that measurement.",
        ranked=tuple(range(ranked)), shown=tuple(range(shown)), together=together))


def test_how_it_was_measured_with_and_without_a_count_of_rows() -> None:
    said = drivers_wording(_report(1234, 3, 3), WORDS)
    assert said.method == (
        "To see which measurements the model leans on, each one is shuffled in turn among the 1,234 patients of "
        "the evaluation set, so that it no longer matches the rest of their record, and the model scores them "
        "again. The more accuracy it loses, the more it relies on that measurement. Each measurement was shuffled "
        "1,000 times; the range after each figure is where the average loss lies with 95% confidence.")
    unknown = drivers_wording(_report(0, 3, 3), WORDS)
    assert "in turn among the patients of the evaluation set the importance was measured on, so that" in (
        unknown.method)
    assert said.left_out is None and said.together is None


def test_what_is_left_out_is_counted_with_the_right_verb() -> None:
    assert drivers_wording(_report(9, 10, 6), WORDS).left_out == (
        "4 more measurements of the 10 the model reads are left out here; all are in the table below.")
    assert drivers_wording(_report(9, 10, 9), WORDS).left_out == (
        "1 more measurement of the 10 the model reads is left out here; all are in the table below.")


def test_measurements_that_move_together_share_the_credit() -> None:
    said = drivers_wording(_report(9, 2, 2, (("tumour size", "BMI", 0.923), ("BMI", "area", -0.5))), WORDS)
    assert said.together is not None
    assert said.together.endswith("less important than the group is. Tumour size and BMI (correlation 0.92); "
                                  "BMI and area (correlation -0.50).")
