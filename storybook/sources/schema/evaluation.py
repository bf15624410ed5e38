"""A story's model, intended use, metrics, evaluation set, slices and series."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StringConstraints, model_validator

from storybook.metrics.kinds import Task
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


# Which keys of evaluation: belong to which task (the others are refused, so a story never half-configures one).
_BINARY_KEYS = ("score_column", "positive_value", "threshold", "threshold_param", "counts", "positive_means",
                "negative_means", "flagged_means", "aggregate")
_TASK_KEYS: dict[str, tuple[str, ...]] = {
    "binary": ("label_column", *_BINARY_KEYS),
    "multiclass": ("label_column", "classes", "prediction_column"),
    "regression": ("actual_column", "prediction_column", "lower_column", "upper_column", "interval_level",
                   "target_means", "amount_unit"),
}


class ClassSpec(StrictModel):
    """One class of a multiclass story: its value in the label column and what it means, in plain words."""

    value: ShortText = Field(description="the class as spelt in the label column (as text)")
    means: Phrase = Field(description="what the class means, completing 'students who ...': 'need extra support'")
    probability_column: Key | None = Field(
        default=None, description="the column with the model's chance of this class (all classes or none)")


class EvaluationSpec(StrictModel):
    """The scored evaluation set the run logged as an artifact (one row per example), or its confusion counts.

    ``task`` decides which keys apply: binary (label and score), multiclass (label, classes with their chances or
    a predicted class), regression (actual and predicted amounts, optionally a prediction interval)."""

    task: Task = Field(default="binary", description="what the model predicts: binary (yes/no, with a score), "
                       "multiclass (one of several classes) or regression (an amount)")

    artifact: Key | None = Field(default="evaluation/scored.csv",
        description="path of the scored evaluation set among the run's artifacts (CSV or "
                    "Parquet)")
    aggregate: Key | None = Field(
        default=None, description="path of an aggregate of the scored set among the run's artifacts (made by "
        "`storybook aggregate`: counts per slice, label and score bin), for a set too large to read row by row; "
        "artifact may then name a row-level sample, used only where rows are needed (drivers), or be null")
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
    positive_means: Phrase | None = Field(
        default=None, description="binary: the positive class in plain words, e.g. 'has cancer' (required)")
    negative_means: Phrase | None = Field(
        default=None, description="binary: the negative class in plain words, e.g. 'has a harmless tumour' "
        "(required)")
    flagged_means: Phrase = Field(default="flagged", description="what the model's 'yes' leads to")
    unit: Phrase = Field(default="cases", description="what one row is, in plural: 'patients'")
    classes: list[ClassSpec] | None = Field(
        default=None, description="multiclass: every class, in the order the story tells them (at least three)")
    prediction_column: Key | None = Field(
        default=None, description="multiclass: the column with the class the model called (needed when the classes "
        "give no probability_column); regression: the column with the forecast (default 'prediction')")
    actual_column: Key = Field(default="actual", description="regression: the column with what really happened")
    lower_column: Key | None = Field(default=None,
                                     description="regression: the column with each prediction interval's low end")
    upper_column: Key | None = Field(default=None,
                                     description="regression: the column with each prediction interval's high end")
    interval_level: Annotated[float, Field(gt=0, lt=1)] | None = Field(
        default=None, description="regression: how often the prediction interval should hold the truth, e.g. 0.9")
    target_means: Phrase | None = Field(
        default=None, description="regression: what the forecast amount is, e.g. 'the disease progression score a "
        "year later' (required)")
    amount_unit: Phrase | None = Field(
        default=None, description="regression: what the amount is counted in, plural, e.g. 'points' (required)")

    @model_validator(mode="before")
    @classmethod
    def _counts_replace_artifact(cls, data: object) -> object:
        if isinstance(data, dict) and "artifact" not in data and (
                data.get("counts") is not None or data.get("aggregate") is not None):
            return {**data, "artifact": None}
        return data

    @model_validator(mode="after")
    def _threshold_source(self) -> EvaluationSpec:
        if self.aggregate is not None and self.counts is not None:
            raise KeyedValueError("give either aggregate (the counted scored set) or counts (confusion count "
                                  "metrics), not both", ("counts",))
        if self.aggregate is None and (self.artifact is None) == (self.counts is None):
            raise ValueError("give either artifact (the scored evaluation set) or counts (confusion count metrics)")
        if self.task == "binary" and self.threshold is None and self.threshold_param is None:
            raise ValueError("give threshold (a number) or threshold_param (the run param that holds it)")
        return self

    @model_validator(mode="after")
    def _keys_fit_the_task(self) -> EvaluationSpec:
        for key in sorted(self.model_fields_set):
            owners = [task for task, keys in _TASK_KEYS.items() if key in keys]
            if owners and self.task not in owners:
                raise KeyedValueError(f"{key} belongs to a {' or '.join(owners)} story, and this story's task is "
                                      f"{self.task}", (key,))
        if self.task == "binary":
            for key in ("positive_means", "negative_means"):
                if getattr(self, key) is None:
                    raise KeyedValueError(f"a binary story needs {key}: the class in plain words, e.g. 'has "
                                          "cancer'", (key,))
        elif self.task == "multiclass":
            self._check_classes()
        else:
            self._check_regression()
        return self

    def _check_classes(self) -> None:
        if self.counts is not None:
            raise KeyedValueError("counts (confusion count metrics) tell a binary story; a multiclass story needs "
                                  "the scored set (artifact)", ("counts",))
        if self.classes is None or len(self.classes) < 3:
            raise KeyedValueError("a multiclass story lists at least three classes under classes: (value and "
                                  "means each); a yes/no outcome is a binary story", ("classes",))
        values = [c.value for c in self.classes]
        for index, value in enumerate(values):
            if values.index(value) != index:
                raise KeyedValueError(f"class {value!r} is listed twice", ("classes", index, "value"))
        given = [c.probability_column is not None for c in self.classes]
        if any(given) and not all(given):
            index = given.index(False)
            raise KeyedValueError("give a probability_column for every class or for none", ("classes", index))
        if not any(given) and self.prediction_column is None:
            raise KeyedValueError("a multiclass story needs the classes' probability_column or a prediction_column "
                                  "(the class the model called)", ("classes",))

    def _check_regression(self) -> None:
        if self.counts is not None:
            raise KeyedValueError("counts tell a binary story; a regression story needs the scored set (artifact)",
                                  ("counts",))
        for key in ("target_means", "amount_unit"):
            if getattr(self, key) is None:
                raise KeyedValueError(f"a regression story needs {key} (e.g. "
                                      + ("'the number of beds needed next week')" if key == "target_means"
                                         else "'beds')"), (key,))
        if (self.lower_column is None) != (self.upper_column is None):
            missing = "upper_column" if self.upper_column is None else "lower_column"
            raise KeyedValueError("a prediction interval needs both lower_column and upper_column", (missing,))
        if self.lower_column is not None and self.interval_level is None:
            raise KeyedValueError("say how often the prediction interval should hold the truth (interval_level, "
                                  "e.g. 0.9)", ("lower_column",))
        if self.lower_column is None and self.interval_level is not None:
            raise KeyedValueError("interval_level needs the interval's lower_column and upper_column",
                                  ("interval_level",))

    @property
    def forecast_column(self) -> str:
        """Regression: the column with the forecast."""
        return self.prediction_column or "prediction"

    @property
    def class_values(self) -> tuple[str, ...]:
        """Multiclass: the class values in the story's order."""
        return tuple(c.value for c in self.classes or ())


class SliceSpec(StrictModel):
    """A column of the evaluation set to disaggregate by (a Mitchell et al. 'factor')."""

    column: Key = Field(description="a column of the evaluation set")
    label: ShortText = Field(description="the slice's name, for the reader")
    why: Text | None = Field(default=None, description="why this breakdown matters")


class SeriesSpec(StrictModel):
    """A metric history (e.g. a production series) the story shows."""

    key: Key = Field(description="a metric the run logged step by step (its history)")
    label: ShortText = Field(description="what the series is, for the reader")
