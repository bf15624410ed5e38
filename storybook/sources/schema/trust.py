"""A story's ``trust:``: the model, data and system checks, guardrails and attestations."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints, model_validator

from storybook.sources.schema.common import IsoDate, Key, MetricKind, ShortText, StrictModel, Text

ProductionArtifact = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=250,
                                                     pattern=r"^[A-Za-z0-9_./ -]+\.parquet$")]


class TrustModel(StrictModel):
    """Evidence of trust in the model: held-out fit, stability across folds, calibration, slice gaps."""

    metric: MetricKind = Field(default="recall", description="the metric the held-out and slice checks read; a "
                               "multiclass or regression story names one of its own kinds with a range")
    minimum: Annotated[float, Field(ge=0, le=1)] = Field(default=0.8,
        description="the lowest value of that metric on held-out cases that passes")
    maximum: Annotated[float, Field(ge=0)] | None = Field(default=None,
        description="multiclass and regression stories, for a metric where lower is better (e.g. mae, "
                    "log_loss): the highest value on held-out cases that passes, in the metric's unit")
    folds: Key | None = Field(default=None, description="a metric history with one step per CV fold")
    fold_tolerance: Annotated[float, Field(ge=0)] = Field(default=0.1,
        description="the largest spread between cross-validation folds that passes")
    calibration_tolerance: Annotated[float, Field(ge=0, le=1)] = Field(default=0.05,
        description="the largest average gap between predicted chances and what happened "
                    "that passes")
    slice_gap_tolerance: Annotated[float, Field(ge=0, le=1)] = Field(default=0.2,
        description="the largest gap in the metric between slice groups that passes")
    compare_with: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,255}$")] | None = Field(
        default=None, description="alias of the version to compare with, e.g. challenger")


class TrustData(StrictModel):
    """Evidence of trust in the data: the run's training table and production inputs, as artifacts."""

    training_artifact: Key | None = Field(default=None,
        description="the run's training table (an artifact), compared with the evaluation "
                    "set and production inputs")
    production_artifact: Key | None = Field(default=None,
        description="a table of production inputs (an artifact), compared with the training "
                    "data")
    features: list[Key] = Field(default_factory=list, description="columns to compare; default: shared ones")


class Guardrail(StrictModel):
    series: Key = Field(description="a metric history of the run (e.g. a production series)")
    name: ShortText = Field(description="what the series is, inside a sentence: 'the mean prediction'")
    lower: float | None = Field(default=None, description="the series must stay at or above this")
    upper: float | None = Field(default=None, description="the series must stay at or below this")

    @model_validator(mode="after")
    def _a_bound(self) -> Guardrail:
        if self.lower is None and self.upper is None:
            raise ValueError("a guardrail needs lower, upper or both")
        if self.lower is not None and self.upper is not None and self.lower > self.upper:
            raise ValueError(f"lower ({self.lower:g}) is above upper ({self.upper:g}): no reading could stay "
                             "within both, so every reading would break the guardrail")
        return self


class EstimateGuardrail(StrictModel):
    """A bound on each production window's figure: the estimate from the scores, or what the labels show."""

    figure: Literal["estimated", "realised"] = Field(default="estimated", description="estimated: the figure "
        "estimated from the scores (broken when its whole 95% range is past the bound); realised: the figure the "
        "labels show once they are in")
    lower: Annotated[float, Field(ge=0, le=1)] | None = Field(default=None,
        description="the figure must stay at or above this share")
    upper: Annotated[float, Field(ge=0, le=1)] | None = Field(default=None,
        description="the figure must stay at or below this share")

    @model_validator(mode="after")
    def _a_bound(self) -> EstimateGuardrail:
        if self.lower is None and self.upper is None:
            raise ValueError("a guardrail needs lower, upper or both")
        if self.lower is not None and self.upper is not None and self.lower > self.upper:
            raise ValueError(f"lower ({self.lower:g}) is above upper ({self.upper:g})")
        return self


class EstimateSpec(StrictModel):
    """What to estimate for each production window before its labels are in (docs/label-free.md)."""

    metric: MetricKind | None = Field(default=None, description="the share to estimate (recall, precision, "
                                      "specificity, accuracy, false_positive_rate, false_negative_rate); default: "
                                      "trust.model.metric; a multiclass story estimates the share of right "
                                      "calls (multiclass_accuracy)")
    guardrails: list[EstimateGuardrail] = Field(default_factory=list,
        description="bounds on the estimated or realised figure of every window")


class AttestationSpec(StrictModel):
    who: ShortText = Field(description="the person who attests")
    role: ShortText = Field(description="their role")
    when: IsoDate = Field(description="the date of the statement (YYYY-MM-DD)")
    statement: Text = Field(description="what they attest, in plain words")
    check: Key = Field(description="the check it covers: a check id or ML Test Score test id (tables below)")
    automated: bool = Field(default=False, description="true when the attested work runs automatically and repeatedly")


class TrustSpec(StrictModel):
    """A trust report: what storybook checks automatically, and what people attest."""

    owner: ShortText = Field(description="who answers for the trust report")
    model: TrustModel = Field(default_factory=TrustModel)
    data: TrustData = Field(default_factory=TrustData)
    guardrails: list[Guardrail] = Field(default_factory=list, description="limits a production series must stay within")
    production_scores: ProductionArtifact | None = Field(default=None,
        description="the run's production-windows aggregate (a .parquet artifact written by "
                    "storybook.log_production_scores or storybook aggregate): each window's performance is "
                    "estimated from its scores (a multiclass story: its class chances) before the labels are in")
    estimate: EstimateSpec | None = Field(default=None,
        description="which figure to estimate per production window, and guardrails on it")
    attestations: list[AttestationSpec] = Field(
        default_factory=list, description="people's signed statements, each covering one check")
