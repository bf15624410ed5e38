"""A story's model, intended use, metrics, evaluation set, slices and series."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StringConstraints, model_validator

from storybook.sources.schema.common import (
    DEFAULT_IN_USE_ALIAS,
    AliasName,
    Key,
    KeyedValueError,
    MeasuredOn,
    MetricKind,
    Phrase,
    ShortText,
    StrictModel,
    Text,
)


class ModelRef(StrictModel):
    """Which model a story is about: a registered name with an alias or version, or a run id."""

    name: ShortText | None = Field(default=None, description="the registered model's name")
    alias: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,255}$")] | None = Field(default=None,
        description="the alias of the version the story is about, e.g. champion")
    version: Annotated[int, Field(ge=1)] | None = Field(default=None,
        description="the version number the story is about (instead of alias)")
    run_id: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{8,64}$")] | None = Field(default=None,
        description="a run to tell instead of a registered model version")
    in_use_alias: AliasName | None = Field(
        default=None, description="the registry alias that marks the version in use (serving), for this story; "
        f"default: in_use_alias in storybook.yaml, else {DEFAULT_IN_USE_ALIAS}")

    @model_validator(mode="after")
    def _one_way_to_name_it(self) -> ModelRef:
        if self.run_id is not None:
            if self.in_use_alias is not None:
                raise KeyedValueError("in_use_alias names an alias of a registered model; a story about a run "
                                      "(run_id) has none: give the model's name with alias or version",
                                      ("in_use_alias",))
            if self.alias is not None or self.version is not None:
                raise ValueError("give either run_id, or name with alias or version, not both")
            return self
        if self.name is None:
            raise ValueError("give the registered model's name (with alias or version) or a run_id")
        if (self.alias is None) == (self.version is None):
            raise ValueError("give exactly one of alias (e.g. champion) or version (e.g. 3)")
        return self

    def describe(self) -> str:
        if self.run_id is not None:
            return f"run {self.run_id}"
        which = f"@{self.alias}" if self.alias is not None else f" version {self.version}"
        return f"model {self.name}{which}"


class IntendedUse(StrictModel):
    """Mitchell et al.: primary intended uses and users, and uses that are out of scope."""

    primary: Text = Field(description="what the model is for")
    users: list[ShortText] = Field(min_length=1, description="who uses what it says")
    out_of_scope: list[Text] = Field(min_length=1, description="uses it is not meant for")


class MetricSpec(StrictModel):
    """A metric the story reports: a key logged on the run, told in plain words."""

    key: Key = Field(description="the metric's key, as logged on the run")
    label: ShortText = Field(description="what the figure is, in the reader's words")
    kind: MetricKind = Field(default="other",
        description="what the figure measures: decides its sentence and, where the "
                    "evaluation set allows, its 95% interval")
    higher_is_better: bool = Field(default=True,
        description="false for a figure where lower is better, such as the Brier score")
    measured_on: MeasuredOn | None = Field(
        default=None, description="where the figure was measured: evaluation (the story's scored set), training, "
        "cross_validation or other; by default read from the key as MLflow names it (training_..., cv_...)")


class ConfusionKeys(StrictModel):
    """Metric keys holding the four confusion counts at the threshold in use, for runs without scores."""

    tp: Key = Field(description="metric key of the count of true positives")
    fp: Key = Field(description="metric key of the count of false positives")
    tn: Key = Field(description="metric key of the count of true negatives")
    fn: Key = Field(description="metric key of the count of false negatives")


class EvaluationSpec(StrictModel):
    """The scored evaluation set the run logged as an artifact (one row per example), or its confusion counts."""

    artifact: Key | None = Field(default="evaluation/scored.csv",
        description="path of the scored evaluation set among the run's artifacts (CSV or "
                    "Parquet)")
    counts: ConfusionKeys | None = Field(
        default=None, description="instead of a scored set: metric keys of the confusion counts at the threshold")
    label_column: Key = Field(default="label", description="the column with the true outcome")
    score_column: Key = Field(default="score", description="the column with the model's score (a chance from 0 to 1)")
    positive_value: ShortText = Field(default="1", description="the label value that means positive, as text")
    threshold: Annotated[float, Field(ge=0, le=1)] | None = Field(default=None,
        description="the threshold in use, from 0 to 1 (instead of threshold_param)")
    threshold_param: Key | None = Field(default="threshold",
        description="the run param that holds the threshold in use")
    id_column: Key | None = Field(
        default=None, description="a column naming each case; two versions' scored sets with the same ids are "
        "compared case by case (paired)")
    positive_means: Phrase = Field(description="the positive class in plain words, e.g. 'has cancer'")
    negative_means: Phrase = Field(description="the negative class in plain words, e.g. 'has a harmless tumour'")
    flagged_means: Phrase = Field(default="flagged", description="what the model's 'yes' leads to")
    unit: Phrase = Field(default="cases", description="what one row is, in plural: 'patients'")

    @model_validator(mode="before")
    @classmethod
    def _counts_replace_artifact(cls, data: object) -> object:
        if isinstance(data, dict) and data.get("counts") is not None and "artifact" not in data:
            return {**data, "artifact": None}
        return data

    @model_validator(mode="after")
    def _threshold_source(self) -> EvaluationSpec:
        if (self.artifact is None) == (self.counts is None):
            raise ValueError("give either artifact (the scored evaluation set) or counts (confusion count metrics)")
        if self.threshold is None and self.threshold_param is None:
            raise ValueError("give threshold (a number) or threshold_param (the run param that holds it)")
        return self


class SliceSpec(StrictModel):
    """A column of the evaluation set to disaggregate by (a Mitchell et al. 'factor')."""

    column: Key = Field(description="a column of the evaluation set")
    label: ShortText = Field(description="the slice's name, for the reader")
    why: Text | None = Field(default=None, description="why this breakdown matters")


class SeriesSpec(StrictModel):
    """A metric history (e.g. a production series) the story shows."""

    key: Key = Field(description="a metric the run logged step by step (its history)")
    label: ShortText = Field(description="what the series is, for the reader")
