"""A metric kind storybook does not ship, added as ONE row of the table of kinds (storybook.metrics.kinds).

``add_negative_predictive_value()`` appends the row; everything derived from the table (the schema's allowed
kinds, the proportion kinds every slice counts, the wording) picks it up when it is built afterwards, so in a
fresh process call it before importing the rest of storybook.
"""

from __future__ import annotations

from storybook.metrics import kinds
from storybook.metrics.kinds import KindWords, MetricKindInfo

NAME = "negative_predictive_value"

# The whole of the new kind: this one row.
NEGATIVE_PREDICTIVE_VALUE = MetricKindInfo(
    NAME, "binary", True, "wilson", "not_flagged", counts=lambda c: (c.tn, c.tn + c.fn),
    words=KindWords(
        definition="Of the {u} who are not {flag}, the share who really {neg} (negative predictive value).",
        phrase="share of {u} not {flag} who really {neg}", rate_name="share of clear calls that are right",
        sentence="Of the {u} who are not {flag}, {amount} really {neg}"))


def add_negative_predictive_value() -> None:
    """Append the row to the table (once)."""
    if kinds.kind_info(NAME) is None:
        kinds.KINDS = (*kinds.KINDS, NEGATIVE_PREDICTIVE_VALUE)
