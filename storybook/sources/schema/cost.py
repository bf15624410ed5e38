"""A story's ``cost_of_error:``: what each kind of mistake costs, and who says so."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from storybook.metrics.kinds import Task
from storybook.sources.schema.common import KeyedValueError, Phrase, ShortText, StrictModel


class CostOfError(StrictModel):
    """What each kind of mistake costs, in the stakeholder's own unit, and who stated it."""

    unit: Phrase = Field(description="what costs are counted in, plural: 'hours of specialist time'")
    owner: ShortText = Field(description="who stated these costs and answers for them")
    false_positive: Annotated[float, Field(ge=0)] | None = Field(default=None,
        description="the cost of one false alarm (flagged, but negative), in unit")
    false_negative: Annotated[float, Field(ge=0)] | None = Field(default=None,
        description="the cost of one miss (positive, but not flagged), in unit")
    true_positive: Annotated[float, Field(ge=0)] = Field(default=0.0,
        description="the cost of one case rightly flagged (e.g. the work of following it "
                    "up)")
    true_negative: Annotated[float, Field(ge=0)] = Field(default=0.0,
        description="the cost of one case rightly left alone")
    ratio: Annotated[float, Field(gt=0)] | None = Field(
        default=None, description="instead of both costs: a false negative costs this many false positives")
    false_positive_means: ShortText | None = Field(default=None, description="a false alarm in the reader's words")
    false_negative_means: ShortText | None = Field(default=None, description="a miss in the reader's words")
    population: Annotated[int, Field(ge=10, le=1_000_000)] = Field(default=1000,
        description='costs and counts are told per this many cases ("out of 1,000 patients '
                    '...")')
    capacity: Annotated[int, Field(ge=0)] | None = Field(
        default=None, description="at most this many may be flagged out of every `population`")
    over_forecast: Annotated[float, Field(ge=0)] | None = Field(
        default=None, description="regression: the cost of each amount_unit a forecast is too high, in unit")
    under_forecast: Annotated[float, Field(ge=0)] | None = Field(
        default=None, description="regression: the cost of each amount_unit a forecast is too low, in unit")
    tolerance: Annotated[float, Field(gt=0)] | None = Field(
        default=None, description="regression: forecasts within this many amount_unit count as on target when "
        "errors are told as natural frequencies")
    matrix: dict[ShortText, dict[ShortText, Annotated[float, Field(ge=0)]]] | None = Field(
        default=None, description="multiclass: true class -> called class -> the cost of one such call, in unit "
        "(the diagonal, a right call, costs 0 unless stated)")
    unstated: Literal["refuse", "zero"] = Field(
        default="refuse", description="multiclass: a wrong call missing from matrix is refused (refuse) or costs "
        "nothing (zero)")
    class_capacity: dict[ShortText, Annotated[int, Field(ge=0)]] | None = Field(
        default=None, description="multiclass: at most this many of every `population` may be called each class")
    bootstrap_rounds: Annotated[int, Field(ge=0, le=10_000)] = Field(default=1000,
        description="resamples of the evaluation set behind the cost intervals")
    seed: int = Field(default=0, description="seed of those resamples: the same seed gives the same intervals")

    @property
    def shape(self) -> Task:
        """The task these costs are stated for: regression (over/under a forecast), multiclass (a matrix), or
        binary (false positives and negatives)."""
        if self.over_forecast is not None or self.under_forecast is not None:
            return "regression"
        if self.matrix is not None:
            return "multiclass"
        return "binary"

    @model_validator(mode="after")
    def _costs_or_ratio(self) -> CostOfError:
        stated = {"regression": ("over_forecast", "under_forecast", "tolerance"),
                  "multiclass": ("matrix", "class_capacity"),
                  "binary": ("false_positive", "false_negative", "ratio", "false_positive_means",
                             "false_negative_means", "capacity", "true_positive", "true_negative")}
        shape = self.shape
        for task, keys in stated.items():
            for key in keys:
                if task != shape and key in self.model_fields_set:
                    raise KeyedValueError(f"{key} states a {task} cost, and these costs are {shape} ones; give the "
                                          "costs of one kind of model only", (key,))
        if shape == "regression":
            for key in ("over_forecast", "under_forecast"):
                if getattr(self, key) is None:
                    raise KeyedValueError(f"give {key}: the cost of each unit a forecast is too "
                                          f"{'high' if key == 'over_forecast' else 'low'}", (key,))
            return self
        if shape == "multiclass":
            return self
        both = self.false_positive is not None and self.false_negative is not None
        if self.ratio is not None and (self.false_positive is not None or self.false_negative is not None):
            raise ValueError("give either ratio, or false_positive and false_negative costs, not both")
        if self.ratio is None and not both:
            raise ValueError("give the cost of a false_positive and of a false_negative (or a ratio)")
        if self.capacity is not None and self.capacity > self.population:
            raise ValueError(f"capacity {self.capacity} is more than the population {self.population}")
        return self

    @property
    def cost_fp(self) -> float:
        return 1.0 if self.ratio is not None else float(self.false_positive or 0.0)

    @property
    def cost_fn(self) -> float:
        return float(self.ratio) if self.ratio is not None else float(self.false_negative or 0.0)
