"""A story's ``claims:``: checked statements about the data, marked on the page."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import Field, StringConstraints, model_validator

from storybook.metrics.kinds import Task
from storybook.sources.schema.common import PROPORTION_KINDS, IsoDate, Key, ShortText, StrictModel, Text

ClaimId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{0,63}$")]
# What the two groups of a slice claim are compared on, per task (the first is the default): a share of a binary
# story, a regression story's average miss, a multiclass story's share of right calls; each is a figure with a
# 95% range in that task's slice tables.
SLICE_CLAIM_RATES: dict[Task, tuple[str, ...]] = {
    "binary": ("recall", *(k for k in PROPORTION_KINDS if k != "recall")), "regression": ("mae",),
    "multiclass": ("multiclass_accuracy",)}
if TYPE_CHECKING:
    SliceRate = str
else:
    SliceRate = Literal[tuple(dict.fromkeys(r for rates in SLICE_CLAIM_RATES.values() for r in rates))]


class ClaimSpec(StrictModel):
    """A sentence the author asserts, checked against the data at every build (``{{ claim("id") }}`` in prose).

    Exactly one kind: ``series`` with ``stays_above``/``stays_below`` (optionally ``since``/``until``, dates in
    UTC); ``metric`` with ``at_least``/``at_most``; ``slice`` with ``group``, ``no_worse_than`` and ``rate``.
    """

    id: ClaimId = Field(description='the claim\'s id, used in prose as {{ claim("id") }}')
    says: Text = Field(description="the claim in plain words, as the reader will see it")
    series: Key | None = Field(default=None,
        description="a history the story reads (series:, trust folds or guardrails)")
    stays_above: float | None = Field(default=None, description="the series never goes below this (inclusive)")
    stays_below: float | None = Field(default=None, description="the series never goes above this (inclusive)")
    since: IsoDate | None = Field(default=None, description="first day checked (YYYY-MM-DD, whole UTC days)")
    until: IsoDate | None = Field(default=None, description="last day checked (YYYY-MM-DD, whole UTC days)")
    metric: Key | None = Field(default=None, description="a metric key of the story")
    at_least: float | None = Field(default=None, description="the metric is at least this")
    at_most: float | None = Field(default=None, description="the metric is at most this")
    slice: Key | None = Field(default=None, description="a slice column of the story")
    group: ShortText | None = Field(default=None, description="the group that must do no worse")
    no_worse_than: ShortText | None = Field(default=None, description="the group it is compared with")
    rate: SliceRate | None = Field(default=None,
        description="what the two groups are compared on: a share of a binary story (default recall), mae for a "
                    "regression story (the average miss, the default), multiclass_accuracy for a multiclass story "
                    "(the default)")

    @model_validator(mode="after")
    def _one_kind(self) -> ClaimSpec:
        kinds = [name for name in ("series", "metric", "slice") if getattr(self, name) is not None]
        if len(kinds) != 1:
            raise ValueError("a claim checks exactly one of series, metric or slice")
        kind = kinds[0]
        bounds = {"series": ("stays_above", "stays_below", "since", "until"), "metric": ("at_least", "at_most"),
                  "slice": ("group", "no_worse_than")}
        for other, fields in bounds.items():
            stray = [f for f in fields if other != kind and getattr(self, f) is not None]
            if stray:
                raise ValueError(f"{', '.join(stray)} belong to a {other} claim, not a {kind} claim")
        if kind == "series" and self.stays_above is None and self.stays_below is None:
            raise ValueError("a series claim needs stays_above, stays_below or both")
        if kind == "series" and self.since and self.until and self.since > self.until:
            raise ValueError(f"since ({self.since}) is after until ({self.until})")
        if kind == "metric" and self.at_least is None and self.at_most is None:
            raise ValueError("a metric claim needs at_least, at_most or both")
        for low, high in (("stays_above", "stays_below"), ("at_least", "at_most")):
            low_value, high_value = getattr(self, low), getattr(self, high)
            if low_value is not None and high_value is not None and low_value > high_value:
                raise ValueError(f"{low} ({low_value:g}) is above {high} ({high_value:g}): nothing can meet both, "
                                 "so the claim could never hold")
        if kind == "slice" and (self.group is None or self.no_worse_than is None):
            raise ValueError("a slice claim needs group and no_worse_than (two values of the slice column)")
        return self

    def rate_for(self, task: Task) -> str:
        """What a slice claim of a story of ``task`` compares (the stated rate, or the task's default)."""
        return self.rate if self.rate is not None else SLICE_CLAIM_RATES[task][0]

    @property
    def kind(self) -> Literal["series", "metric", "slice"]:
        return "series" if self.series is not None else "metric" if self.metric is not None else "slice"
