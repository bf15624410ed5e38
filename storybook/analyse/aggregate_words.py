"""The sentences that tell a reader a story's figures come from counts (an aggregate, ``evaluation.aggregate``):
how many cases, in how many score bins, made by which engine, and what that means for the threshold; and why
the drivers are measured on a sample, or not at all. Templates lay them out; the wording lives here."""

from __future__ import annotations

from storybook.analyse.plain import stated_threshold_text
from storybook.resolve.scored import CountedFrom

__all__ = ["counted_sentence", "drivers_left_out_sentence", "drivers_sample_phrase", "engine_name"]

_ENGINES = {"duckdb": "DuckDB", "pyspark": "Spark", "spark": "Spark", "pandas": "pandas"}


def engine_name(engine: str) -> str:
    """"duckdb 1.1.3" as "DuckDB 1.1.3", "pyspark 3.5.1" as "Spark 3.5.1"; unknown names as given."""
    name, _, version = engine.strip().partition(" ")
    shown = _ENGINES.get(name.lower(), name)
    return f"{shown} {version}".strip()


def _step(bins: int) -> str:
    """The finest step between two thresholds of ``bins`` equal bins, in plain numbers."""
    text = stated_threshold_text(1 / bins)
    return text if len(text) <= 8 else f"a multiple of 1/{bins:,} (about {1 / bins:.3g})"


def counted_sentence(counted: CountedFrom, unit: str) -> str:
    """Where the figures come from: e.g. "These figures come from 12,400,000 cases counted in 1,000 score bins
    (made by DuckDB 1.1.3); a threshold can be set to the nearest 0.001.\""""
    made = []
    if counted.engine:
        made.append(f"made by {engine_name(counted.engine)}")
    if counted.made_on:
        made.append(f"on {counted.made_on}")
    by = f" ({' '.join(made)})" if made else ""
    if counted.exact:
        return (f"These figures come from {counted.cases:,} {unit} counted by score: each of their {counted.bins:,} "
                f"different scores was kept{by}, so nothing is lost by counting.")
    return (f"These figures come from {counted.cases:,} {unit} counted in {counted.bins:,} score bins{by}; a "
            f"threshold can be set to the nearest {_step(counted.bins)}.")


def drivers_sample_phrase(counted: CountedFrom, rows: int, unit: str) -> str:
    """How the drivers' rows relate to the counted set, e.g. "a sample of 5,000 of the 12,400,000 cases"."""
    return f"a sample of {rows:,} of the {counted.cases:,} {unit} (logged beside the counts)"


def drivers_left_out_sentence(unit: str) -> str:
    """Why a story told from counts has no drivers section."""
    return (f"What the model relies on most is not worked out here: the figures come from counts of {unit}, and "
            f"that needs the {unit} one by one (a sample logged beside the counts would do).")
