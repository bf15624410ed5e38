"""The schema of storybook.yaml and story.yaml: pydantic models, validated once, here.

Unknown keys are errors (with a "did you mean" hint): a misspelt key silently ignored would leave a story
telling something its author did not intend. Values arrive as strings from the YAML loader and are typed here.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

__all__ = [
    "METRIC_KINDS",
    "SLUG_PATTERN",
    "ConfusionKeys",
    "CostOfError",
    "EvaluationSpec",
    "IntendedUse",
    "MetricKind",
    "MetricSpec",
    "ModelRef",
    "ProjectConfig",
    "Readability",
    "SeriesSpec",
    "SignoffPolicy",
    "SliceSpec",
    "StoryConfig",
    "TrustSpec",
]

SLUG_PATTERN = r"^[a-z0-9][a-z0-9-]{0,63}$"
MetricKind = Literal[
    "recall", "precision", "specificity", "accuracy", "f1", "roc_auc", "false_positive_rate",
    "false_negative_rate", "brier", "other",
]
METRIC_KINDS: tuple[str, ...] = MetricKind.__args__  # type: ignore[attr-defined]

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Key = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=250,
                                       pattern=r"^[A-Za-z0-9_./ -]+$")]


class _Schema(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Readability(_Schema):
    """How hard the prose may be to read: `storybook check` warns above this reading grade."""

    max_grade: Annotated[float, Field(gt=0, le=30)] = 12.0


class ProjectConfig(_Schema):
    """storybook.yaml at the project root."""

    title: ShortText = "Model stories"
    description: Text | None = None
    tracking_uri: str | None = Field(
        default=None,
        description="MLflow tracking URI; ${VAR} is read from the environment. "
        "Falls back to MLFLOW_TRACKING_URI. Relative sqlite paths are relative to the project.",
    )
    stories_dir: ShortText = "stories"
    site_dir: ShortText = "site"
    templates_dir: ShortText = "templates"
    pdf: bool = False
    readability: Readability | None = None


class ModelRef(_Schema):
    """Which model a story is about: a registered name with an alias or version, or a run id."""

    name: ShortText | None = None
    alias: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,255}$")] | None = None
    version: Annotated[int, Field(ge=1)] | None = None
    run_id: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{8,64}$")] | None = None

    @model_validator(mode="after")
    def _one_way_to_name_it(self) -> ModelRef:
        if self.run_id is not None:
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


class IntendedUse(_Schema):
    """Mitchell et al.: primary intended uses and users, and uses that are out of scope."""

    primary: Text
    users: list[ShortText] = Field(min_length=1)
    out_of_scope: list[Text] = Field(min_length=1)


class MetricSpec(_Schema):
    """A metric the story reports: a key logged on the run, told in plain words."""

    key: Key
    label: ShortText
    kind: MetricKind = "other"
    higher_is_better: bool = True


class ConfusionKeys(_Schema):
    """Metric keys holding the four confusion counts at the threshold in use, for runs without scores."""

    tp: Key
    fp: Key
    tn: Key
    fn: Key


class EvaluationSpec(_Schema):
    """The scored evaluation set the run logged as an artifact (one row per example), or its confusion counts."""

    artifact: Key | None = "evaluation/scored.csv"
    counts: ConfusionKeys | None = Field(
        default=None, description="instead of a scored set: metric keys of the confusion counts at the threshold")
    label_column: Key = "label"
    score_column: Key = "score"
    positive_value: ShortText = "1"
    threshold: Annotated[float, Field(ge=0, le=1)] | None = None
    threshold_param: Key | None = "threshold"
    positive_means: ShortText = Field(description="the positive class in plain words, e.g. 'has cancer'")
    negative_means: ShortText
    flagged_means: ShortText = Field(default="flagged", description="what the model's 'yes' leads to")
    unit: ShortText = Field(default="people", description="what one row is, in plural: 'patients'")

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


class SliceSpec(_Schema):
    """A column of the evaluation set to disaggregate by (a Mitchell et al. 'factor')."""

    column: Key
    label: ShortText
    why: Text | None = None


class SeriesSpec(_Schema):
    """A metric history (e.g. a production series) the story shows."""

    key: Key
    label: ShortText


class CostOfError(_Schema):
    """What each kind of mistake costs, in the stakeholder's own unit, and who stated it."""

    unit: ShortText = Field(description="what costs are counted in, plural: 'hours of specialist time'")
    owner: ShortText = Field(description="who stated these costs and answers for them")
    false_positive: Annotated[float, Field(ge=0)] | None = None
    false_negative: Annotated[float, Field(ge=0)] | None = None
    true_positive: Annotated[float, Field(ge=0)] = 0.0
    true_negative: Annotated[float, Field(ge=0)] = 0.0
    ratio: Annotated[float, Field(gt=0)] | None = Field(
        default=None, description="instead of both costs: a false negative costs this many false positives")
    false_positive_means: ShortText | None = None
    false_negative_means: ShortText | None = None
    population: Annotated[int, Field(ge=10, le=1_000_000)] = 1000
    capacity: Annotated[int, Field(ge=0)] | None = Field(
        default=None, description="at most this many may be flagged out of every `population`")
    bootstrap_rounds: Annotated[int, Field(ge=0, le=10_000)] = 1000
    seed: int = 0

    @model_validator(mode="after")
    def _costs_or_ratio(self) -> CostOfError:
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


class SignoffPolicy(_Schema):
    """Who must sign a story before `storybook check` passes (see `storybook sign`)."""

    required_roles: list[ShortText] = Field(default_factory=list)


class TrustModel(_Schema):
    """Evidence of trust in the model: held-out fit, stability across folds, calibration, slice gaps."""

    metric: MetricKind = "recall"
    minimum: Annotated[float, Field(ge=0, le=1)] = 0.8
    folds: Key | None = Field(default=None, description="a metric history with one step per CV fold")
    fold_tolerance: Annotated[float, Field(ge=0)] = 0.1
    calibration_tolerance: Annotated[float, Field(ge=0, le=1)] = 0.05
    slice_gap_tolerance: Annotated[float, Field(ge=0, le=1)] = 0.2
    compare_with: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,255}$")] | None = Field(
        default=None, description="alias of the version to compare with, e.g. challenger")


class TrustData(_Schema):
    """Evidence of trust in the data: the run's training table and production inputs, as artifacts."""

    training_artifact: Key | None = None
    production_artifact: Key | None = None
    features: list[Key] = Field(default_factory=list, description="columns to compare; default: shared ones")


class Guardrail(_Schema):
    series: Key
    name: ShortText = Field(description="what the series is, inside a sentence: 'the mean prediction'")
    lower: float | None = None
    upper: float | None = None

    @model_validator(mode="after")
    def _a_bound(self) -> Guardrail:
        if self.lower is None and self.upper is None:
            raise ValueError("a guardrail needs lower, upper or both")
        return self


class AttestationSpec(_Schema):
    who: ShortText
    role: ShortText
    when: Annotated[str, StringConstraints(pattern=r"^\d{4}-\d{2}-\d{2}$")]
    statement: Text
    check: Key
    automated: bool = False


class TrustSpec(_Schema):
    """A trust report: what storybook checks automatically, and what people attest."""

    owner: ShortText
    model: TrustModel = Field(default_factory=TrustModel)
    data: TrustData = Field(default_factory=TrustData)
    guardrails: list[Guardrail] = Field(default_factory=list)
    attestations: list[AttestationSpec] = Field(default_factory=list)


class StoryConfig(_Schema):
    """stories/<slug>/story.yaml."""

    title: ShortText
    summary: Text
    audience: ShortText
    owner: ShortText
    model: ModelRef
    intended_use: IntendedUse
    metrics: list[MetricSpec] = Field(min_length=1)
    evaluation: EvaluationSpec | None = None
    slices: list[SliceSpec] = Field(default_factory=list)
    series: list[SeriesSpec] = Field(default_factory=list)
    min_slice_size: Annotated[int, Field(ge=1)] = 30
    cost_of_error: CostOfError | None = None
    trust: TrustSpec | None = None
    signoffs: SignoffPolicy | None = None

    @field_validator("metrics")
    @classmethod
    def _unique_metric_keys(cls, metrics: list[MetricSpec]) -> list[MetricSpec]:
        seen: set[str] = set()
        for metric in metrics:
            if metric.key in seen:
                raise ValueError(f"metric {metric.key!r} is listed twice")
            seen.add(metric.key)
        return metrics

    @model_validator(mode="after")
    def _slices_need_evaluation(self) -> StoryConfig:
        if self.slices and (self.evaluation is None or self.evaluation.artifact is None):
            raise ValueError("slices need an evaluation: section naming the scored evaluation set (artifact)")
        if self.cost_of_error is not None and self.evaluation is None:
            raise ValueError("cost_of_error needs an evaluation: section naming the scored evaluation set")
        return self


def is_slug(name: str) -> bool:
    return re.fullmatch(SLUG_PATTERN, name) is not None
