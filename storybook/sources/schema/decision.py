"""A story's ``decision:``: criteria, each a ground tied to computed evidence, and the options."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints, model_validator

from storybook.sources.schema.common import (
    IntervalKind,
    Key,
    KeyedValueError,
    ProportionKind,
    ShortText,
    StrictModel,
    Text,
)

# The figure a multiclass or regression story's results per group hold (storybook.analyse.story._slice_figures).
SliceTaskKind = Literal["mae", "multiclass_accuracy"]
SLICE_KINDS: dict[str, str] = {"regression": "mae", "multiclass": "multiclass_accuracy"}
CriterionId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{0,63}$")]
Version = Literal["story", "compared"]


class CostSavingGround(StrictModel):
    """Switching saves at least ``at_least`` (cost_of_error unit per its population); judged on the bootstrap
    interval: holds when even its low end reaches ``at_least``."""

    versus: Literal["best_threshold", "compared_version"] = Field(
        default="best_threshold", description="best_threshold: moving to the threshold that costs least; "
        "compared_version: switching from the version in use (the one carrying the in-use alias) to the other of "
        "the story's version and the one trust.model.compare_with names")
    at_least: float = Field(default=0.0,
        description="the saving must be at least this (cost_of_error's unit per its "
                    "population)")


class TrustLevelGround(StrictModel):
    """The trust report gives ``area`` at least the level ``at_least``."""

    area: Literal["model", "data", "system"] = Field(description="model, data or system")
    at_least: Literal["emerging", "established", "strong"] = Field(description="the lowest trust level that holds")


class SliceGapGround(StrictModel):
    """The gap in ``metric`` between the groups of ``slice`` stays within ``tolerance``, allowing for chance."""

    slice: Key = Field(description="a column listed under slices:")
    metric: ProportionKind | SliceTaskKind = Field(default="recall",
        description="the figure compared between groups: a share (binary stories), mae (regression: the average "
                    "miss) or multiclass_accuracy (multiclass: the share of right calls)")
    tolerance: Annotated[float, Field(ge=0)] = Field(
        description="the largest gap allowed between any two groups, allowing for chance (a share from 0 to 1; "
                    "for mae, in the story's amount_unit)")
    version: Version = Field(default="story",
        description="story: the story's version; compared: the version it compares with")


class GuardrailGround(StrictModel):
    """The guardrail on ``series`` (one of trust.guardrails) held at every reading."""

    series: Key = Field(description="a series with a guardrail under trust.guardrails")


class MetricGround(StrictModel):
    """A metric of the story (by its key) is at least / at most a bound, judged on its 95% interval."""

    key: Key = Field(description="a key listed under metrics:")
    at_least: float | None = Field(default=None, description="the metric is at least this (on its 95% interval)")
    at_most: float | None = Field(default=None, description="the metric is at most this (on its 95% interval)")
    version: Version = Field(default="story",
        description="story: the story's version; compared: the version it compares with")

    @model_validator(mode="after")
    def _one_bound(self) -> MetricGround:
        if (self.at_least is None) == (self.at_most is None):
            raise ValueError("give exactly one of at_least or at_most")
        return self


class VersionComparisonGround(StrictModel):
    """The version that would replace the one in use (of the story's version and the one
    ``trust.model.compare_with`` names, the one not carrying the in-use alias) is no worse at ``metric`` than the
    one in use by more than ``margin``; paired when both scored the same cases."""

    metric: IntervalKind = Field(default="recall",
        description="the figure compared between the two versions")
    margin: Annotated[float, Field(ge=0)] = Field(default=0.0,
        description="the compared version may be worse by at most this (a share from 0 to 1; for a regression "
                    "story's amounts, in its amount_unit)")


GROUND_KINDS = ("cost_saving", "trust_level", "slice_gap", "guardrail", "metric", "version_comparison")
Ground = (CostSavingGround | TrustLevelGround | SliceGapGround | GuardrailGround | MetricGround
          | VersionComparisonGround)


class Criterion(StrictModel):
    """One ground of a decision: exactly one of the ground keys, required for "go" or only a condition."""

    id: CriterionId = Field(description="the ground's id")
    label: ShortText | None = Field(default=None, description="the ground in plain words, for the reader")
    required: bool = Field(default=True, description="true: it must hold for 'go'; false: only a condition")
    condition: Text | None = Field(default=None, description="when not required: what must be done if it "
                                   "does not hold (the condition of 'go with conditions')")
    cost_saving: CostSavingGround | None = None
    trust_level: TrustLevelGround | None = None
    slice_gap: SliceGapGround | None = None
    guardrail: GuardrailGround | None = None
    metric: MetricGround | None = None
    version_comparison: VersionComparisonGround | None = None

    @model_validator(mode="after")
    def _one_ground(self) -> Criterion:
        given = [kind for kind in GROUND_KINDS if getattr(self, kind) is not None]
        if len(given) != 1:
            raise ValueError(f"a criterion has exactly one of {', '.join(GROUND_KINDS)}"
                             + (f"; this one has {', '.join(given)}" if given else ""))
        if self.required and self.condition is not None:
            raise KeyedValueError("a required ground has no condition: it must hold for 'go'; set "
                                  "required: false to make it a condition", ("condition",))
        if not self.required and self.condition is None:
            raise KeyedValueError("a ground that is only a condition (required: false) needs condition: what "
                                  "must be done while it does not hold", ("required",))
        return self

    @property
    def kind(self) -> str:
        return next(kind for kind in GROUND_KINDS if getattr(self, kind) is not None)

    @property
    def ground(self) -> Ground:
        found: Ground = getattr(self, self.kind)
        return found


class DecisionOptions(StrictModel):
    """What each recommendation means here, in the reader's words."""

    go: Text = Field(description="what 'go' means here")
    no_go: Text = Field(description="what 'no-go' means here")
    go_with_conditions: Text | None = Field(default=None,
        description="what 'go with conditions' means here (needed when a ground is only a "
                    "condition)")


class DecisionSpec(StrictModel):
    """A decision brief: the question, what each answer means, and the grounds, each tied to evidence."""

    question: ShortText = Field(description="the question the brief answers")
    owner: ShortText | None = Field(default=None, description="who takes the decision")
    options: DecisionOptions
    criteria: list[Criterion] = Field(min_length=1)

    @model_validator(mode="after")
    def _ids_and_conditions(self) -> DecisionSpec:
        seen: set[str] = set()
        for index, criterion in enumerate(self.criteria):
            if criterion.id in seen:
                raise KeyedValueError(f"criterion id {criterion.id!r} is used twice", ("criteria", index, "id"))
            seen.add(criterion.id)
        if self.options.go_with_conditions is None and any(not c.required for c in self.criteria):
            raise KeyedValueError("some grounds are conditions (required: false), so say what 'go with "
                                  "conditions' means here", ("options",))
        return self
