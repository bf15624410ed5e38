"""The drivers section in words: how the importance was measured, what is left out and which measurements share
the credit, built once here; ``_drivers.html`` lays them out (``analyse/drivers.py`` computes the figures and
their own sentences)."""

from __future__ import annotations

from dataclasses import dataclass

from storybook.analyse.drivers import DriversReport
from storybook.analyse.plain import Vocabulary, format_count, format_number

__all__ = ["DriversWording", "drivers_wording"]

NOT_CAUSES = ("This says what the model uses, not what causes the outcome: a measurement can matter to the model "
              "because it stands in for another.")


@dataclass(frozen=True)
class DriversWording:
    method: str  # how each measurement was shuffled and what the ranges mean
    left_out: str | None  # how many measurements the list leaves out (all are in the table)
    together: str | None  # the measurements that move together and so share the credit
    not_causes: str


def _first_upper(text: str) -> str:
    return text[:1].upper() + text[1:]


def drivers_wording(drivers: DriversReport, words: Vocabulary) -> DriversWording:
    among = (f"among the {format_count(drivers.rows)} {words.unit} of the evaluation set" if drivers.rows
             else f"among the {words.unit} of the evaluation set the importance was measured on")
    reliance = f" {drivers.reliance}" if drivers.reliance else ""
    method = (f"To see which measurements the model leans on, each one is shuffled in turn {among}, so that it no "
              "longer matches the rest of their record, and the model scores them again."
              f"{reliance} Each measurement was shuffled {format_count(drivers.repeats)} times; the range after "
              "each figure is where the average loss lies with 95% confidence.")
    hidden = len(drivers.ranked) - len(drivers.shown)
    left_out = None
    if hidden > 0:
        many = hidden != 1
        left_out = (f"{format_count(hidden)} more measurement{'s' if many else ''} of the "
                    f"{format_count(len(drivers.ranked))} the model reads {'are' if many else 'is'} left out here; "
                    "all are in the table below.")
    together = None
    if drivers.together:
        pairs = "; ".join(f"{_first_upper(a)} and {b} (correlation {format_number(r)})" for a, b, r in drivers.together)
        together = ("Some of these measurements move together, so they share the credit: shuffling one leaves the "
                    "others to carry much the same information, and each may look less important than the group "
                    f"is. {pairs}.")
    return DriversWording(method=method, left_out=left_out, together=together, not_causes=NOT_CAUSES)
