"""story.yaml as a whole (:class:`StoryConfig`), with its sign-off policy, drivers and history, and the
checks that tie its sections together."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated

from pydantic import Field, field_validator, model_validator

from storybook.metrics.kinds import Task, kind_allowed, kinds_of, kinds_where
from storybook.sources.schema.claims import SLICE_CLAIM_RATES, ClaimSpec
from storybook.sources.schema.common import (
    AliasName,
    ImportanceMetric,
    Key,
    KeyedValueError,
    ShortText,
    StrictModel,
    Text,
)
from storybook.sources.schema.cost import CostOfError
from storybook.sources.schema.decision import (
    CostSavingGround,
    Criterion,
    DecisionSpec,
    GuardrailGround,
    MetricGround,
    SliceGapGround,
    TrustLevelGround,
    VersionComparisonGround,
)
from storybook.sources.schema.evaluation import EvaluationSpec, IntendedUse, MetricSpec, ModelRef, SeriesSpec, SliceSpec
from storybook.sources.schema.project import Glossary, Versions
from storybook.sources.schema.scan import ScanSpec
from storybook.sources.schema.task_fit import check_decision_fits, check_trust_fits
from storybook.sources.schema.trust import TrustSpec


class SignoffPolicy(StrictModel):
    """Who must sign a story before `storybook check` passes (see `storybook sign`)."""

    required_roles: list[ShortText] = Field(
        default_factory=list,
        description="roles that must have signed the current content before `storybook check` passes")


class DriversSpec(StrictModel):
    """What drives the predictions: permutation importance, from the logged model or from an artifact."""

    source: Key = Field(default="model", description="'model' loads the logged model (this runs its code: "
                        "only for models you trust) and shuffles each feature of the evaluation set; or the "
                        "path of a CSV artifact the run logged: feature, repeat, drop (or feature, mean, std)")
    metric: ImportanceMetric | None = Field(default=None,
        description="the figure whose loss measures a feature's importance; default: accuracy (binary), mae "
                    "(regression: the rise of the average miss), multiclass_accuracy (multiclass)")
    repeats: Annotated[int, Field(ge=1, le=100)] = Field(default=10,
        description="shuffles per feature; the page gives the mean loss with its 95% range")
    seed: int = Field(default=0,
        description="the same seed gives the same shuffles (as "
                    "sklearn.inspection.permutation_importance)")
    show: Annotated[int, Field(ge=1, le=50)] = Field(default=8, description="how many features to show")
    names: dict[Key, ShortText] = Field(default_factory=dict, description="friendly names: 'mean radius: tumour "
                                        "size'")
    features: list[Key] = Field(default_factory=list, description="the columns the model reads; default: the "
                                "model's signature")
    model_path: Key = Field(default="model", description="for a story that names a run_id: the logged model's name")
    by_slice: bool = Field(default=True, description="also shuffle within each slice group")

    def metric_for(self, task: Task) -> str:
        """The figure importance is measured in, for a story of ``task`` (the stated one, or the task's default)."""
        return self.metric if self.metric is not None else DRIVERS_METRIC[task]

    @field_validator("source")
    @classmethod
    def _model_or_table(cls, source: str) -> str:
        if source != "model" and not source.endswith((".csv", ".parquet")):
            raise ValueError("source is 'model' or the path of a .csv or .parquet artifact")
        return source


class HistorySpec(StrictModel):
    """The registered model's history: its versions, where its aliases moved, and their headline figures."""

    metrics: list[Key] = Field(default_factory=list, description="keys of the story's metrics to follow; "
                               "default: all of them")
    compare_with: AliasName | None = Field(default=None, description="alias to set beside the story's model; "
                                           "default: trust.model.compare_with")
    last: Annotated[int, Field(ge=1, le=100)] = Field(default=10, description="show the most recent versions")
    scored_sets: bool | None = Field(
        default=None, description="read scored evaluation sets for ranges: by default those of the story's "
        "version and the version it compares with; true: every shown version's (each version's run then "
        "decides what is read); false: none")


class StoryConfig(StrictModel):
    """stories/<slug>/story.yaml."""

    title: ShortText = Field(description="the story's title")
    summary: Text = Field(description="a few sentences under the title: what the model does and for whom")
    audience: ShortText = Field(description="who the story is written for")
    owner: ShortText = Field(description="who answers for the story")
    model: ModelRef
    intended_use: IntendedUse
    metrics: list[MetricSpec] = Field(min_length=1, description="logged metrics, told in plain words")
    evaluation: EvaluationSpec | None = None
    slices: list[SliceSpec] = Field(
        default_factory=list, description="columns of the evaluation set to break results down by")
    series: list[SeriesSpec] = Field(
        default_factory=list, description="metric histories to chart (e.g. production series)")
    min_slice_size: Annotated[int, Field(ge=1)] = Field(default=30,
        description="a slice group with fewer cases than this is named as too small to "
                    "judge")
    cost_of_error: CostOfError | None = None
    trust: TrustSpec | None = None
    signoffs: SignoffPolicy | None = None
    claims: list[ClaimSpec] = Field(
        default_factory=list, description="checked statements about the data, marked on the page")
    glossary: Glossary = Field(default_factory=dict)
    decision: DecisionSpec | None = None
    drivers: DriversSpec | None = None
    history: HistorySpec | None = None
    scan: ScanSpec | None = Field(default=None, description="look for weak groups nobody asked about (docs/scan.md)")
    versions: Versions | None = None

    @model_validator(mode="after")
    def _drivers_and_history_sources(self) -> StoryConfig:
        if self.drivers is not None and self.drivers.source == "model" and (
                self.evaluation is None or (self.evaluation.artifact is None and self.evaluation.aggregate is None)):
            raise KeyedValueError("drivers from the model need an evaluation: section naming the scored evaluation "
                                  "set (with the feature columns)", ("drivers", "source"))
        if self.history is not None:
            if self.model.name is None:
                raise KeyedValueError("a model history needs a registered model (model: name with alias or "
                                      "version)", ("history",))
            keys = {m.key for m in self.metrics}
            for index, key in enumerate(self.history.metrics):
                if key not in keys:
                    raise KeyedValueError(f"history metric {key!r} is not one of the story's metrics",
                                          ("history", "metrics", index))
        return self

    @model_validator(mode="after")
    def _everything_fits_the_task(self) -> StoryConfig:
        """Metric kinds, costs and sections fit the story's task (evaluation.task, binary without one)."""
        task = self.task
        for index, metric in enumerate(self.metrics):
            if not kind_allowed(metric.kind, task):
                raise KeyedValueError(f"metric kind {metric.kind!r} does not fit a {task} story; its kinds are "
                                      f"{', '.join(kinds_of(task))}", ("metrics", index, "kind"))
        if self.cost_of_error is not None:
            _check_costs_fit(self.cost_of_error, task, self.evaluation)
        if self.drivers is not None:
            _check_drivers_fit(self.drivers, task, self.evaluation)
        for index, claim in enumerate(self.claims):
            if claim.kind == "slice" and claim.rate_for(task) not in SLICE_CLAIM_RATES[task]:
                raise KeyedValueError(f"a slice claim of a {task} story compares groups on "
                                      f"{' or '.join(SLICE_CLAIM_RATES[task])}, not {claim.rate_for(task)!r}",
                                      ("claims", index, "rate"))
        if self.trust is not None:
            check_trust_fits(self.trust, task)
        if self.decision is not None:
            check_decision_fits(self.decision, task)
        for key in NOT_YET_FOR.get(task, ()):
            if getattr(self, key):
                raise KeyedValueError(f"storybook does not tell {key} for a {task} story yet; remove the {key}: "
                                      "section (binary stories have it)", (key,))
        return self

    @property
    def task(self) -> Task:
        return self.evaluation.task if self.evaluation is not None else "binary"

    @model_validator(mode="after")
    def _compared_with_another_version(self) -> StoryConfig:
        """A comparison with the story's own alias would compare a version with itself."""
        own = self.model.alias
        places = [(("trust", "model", "compare_with"), self.trust.model.compare_with if self.trust else None),
                  (("history", "compare_with"), self.history.compare_with if self.history else None)]
        for path, alias in places:
            if own is not None and alias == own:
                raise KeyedValueError(f"compare_with names {alias!r}, the alias this story is about "
                                      "(model.alias): a version cannot be compared with itself; name the alias "
                                      "of another version, e.g. the one in use", path)
        return self

    @field_validator("metrics")
    @classmethod
    def _unique_metric_keys(cls, metrics: list[MetricSpec]) -> list[MetricSpec]:
        if (twice := _repeated(metric.key for metric in metrics)) is not None:
            raise ValueError(f"metric {twice!r} is listed twice")
        return metrics

    @field_validator("slices")
    @classmethod
    def _unique_slice_columns(cls, slices: list[SliceSpec]) -> list[SliceSpec]:
        if (twice := _repeated(spec.column for spec in slices)) is not None:
            raise ValueError(f"slice column {twice!r} is listed twice; list each column once")
        return slices

    @model_validator(mode="after")
    def _slices_need_evaluation(self) -> StoryConfig:
        if self.slices and (self.evaluation is None or (self.evaluation.artifact is None
                                                        and self.evaluation.aggregate is None)):
            raise ValueError("slices need an evaluation: section naming the scored evaluation set (artifact, or "
                             "its aggregate)")
        if self.cost_of_error is not None and self.evaluation is None:
            raise ValueError("cost_of_error needs an evaluation: section naming the scored evaluation set")
        return self

    @field_validator("claims")
    @classmethod
    def _unique_claim_ids(cls, claims: list[ClaimSpec]) -> list[ClaimSpec]:
        if (twice := _repeated(claim.id for claim in claims)) is not None:
            raise ValueError(f"claim id {twice!r} is used twice")
        return claims

    @model_validator(mode="after")
    def _decision_grounds_exist(self) -> StoryConfig:
        if self.decision is None:
            return self
        for index, criterion in enumerate(self.decision.criteria):
            problem = _missing_evidence(self, criterion)
            if problem is not None:
                key, message = problem
                raise KeyedValueError(message, ("decision", "criteria", index, criterion.kind, *key))
        return self


def _missing_evidence(config: StoryConfig, criterion: Criterion) -> tuple[tuple[str, ...], str] | None:
    """What a criterion needs from the rest of the story and does not find: (key below the ground, message)."""
    ground = criterion.ground
    compared = config.trust is not None and config.trust.model.compare_with is not None
    needs_compared = "the compared version: set trust.model.compare_with (e.g. challenger)"
    if isinstance(ground, CostSavingGround):
        if config.cost_of_error is None:
            return (), "a cost_saving ground needs a cost_of_error: section (what each mistake costs)"
        if ground.versus == "compared_version" and not compared:
            return ("versus",), f"versus: compared_version needs {needs_compared}"
    elif isinstance(ground, TrustLevelGround | GuardrailGround) and config.trust is None:
        return (), f"a {criterion.kind} ground needs a trust: section"
    elif isinstance(ground, GuardrailGround):
        assert config.trust is not None
        declared = [g.series for g in config.trust.guardrails]
        if ground.series not in declared:
            return ("series",), (f"no guardrail on series {ground.series!r} under trust.guardrails"
                                 + (f" (there are: {', '.join(declared)})" if declared else ""))
    elif isinstance(ground, SliceGapGround):
        columns = [s.column for s in config.slices]
        if ground.slice not in columns:
            return ("slice",), (f"{ground.slice!r} is not a column listed under slices:"
                                + (f" (there are: {', '.join(columns)})" if columns else ""))
        if ground.version == "compared" and not compared:
            return ("version",), f"version: compared needs {needs_compared}"
    elif isinstance(ground, MetricGround):
        kinds = {m.key: m.kind for m in config.metrics}
        if ground.key not in kinds:
            return ("key",), f"{ground.key!r} is not a key listed under metrics: (there are: {', '.join(kinds)})"
        interval_kinds = kinds_where(lambda k: k.interval != "none")
        if kinds[ground.key] not in interval_kinds:
            return ("key",), (f"metric {ground.key!r} is of kind {kinds[ground.key]}, which has no 95% range in "
                              "storybook, so a decision cannot be judged on it; use a metric of kind "
                              f"{', '.join(interval_kinds)}")
        if ground.version == "compared" and not compared:
            return ("version",), f"version: compared needs {needs_compared}"
    elif isinstance(ground, VersionComparisonGround) and not compared:
        return (), f"a version_comparison ground needs {needs_compared}"
    return None  # evidence the data may lack (no scored set, no readings) is judged "cannot tell", not refused


# Sections a story of a task may not have yet (refused on their line, never told as if the model were binary).
NOT_YET_FOR: dict[str, tuple[str, ...]] = {}


# The figure drivers measure importance in when the story names none, per task.
DRIVERS_METRIC: dict[Task, str] = {"binary": "accuracy", "regression": "mae", "multiclass": "multiclass_accuracy"}


def _check_drivers_fit(drivers: DriversSpec, task: Task, evaluation: EvaluationSpec | None) -> None:
    metric = drivers.metric_for(task)
    if not kind_allowed(metric, task) or metric == "other":
        fits = kinds_where(lambda k: k.importance and k.task == task)
        raise KeyedValueError(f"drivers of a {task} story cannot be measured in {metric!r}; use one of "
                              f"{', '.join(fits)}", ("drivers", "metric"))
    if (metric == "log_loss" and drivers.source == "model" and evaluation is not None and evaluation.classes
            and any(c.probability_column is None for c in evaluation.classes)):
        raise KeyedValueError("the log loss needs each class's chance, and the story's classes name no "
                              "probability_column; measure importance in multiclass_accuracy, or log the chances",
                              ("drivers", "metric"))


def _check_costs_fit(cost: CostOfError, task: Task, evaluation: EvaluationSpec | None) -> None:
    if cost.shape != task:
        wanted = {"binary": "false_positive and false_negative (or ratio)", "regression": "over_forecast and "
                  "under_forecast", "multiclass": "matrix"}[task]
        raise KeyedValueError(f"these are {cost.shape} costs and the story's task is {task}: give {wanted}",
                              ("cost_of_error",))
    if task != "multiclass" or evaluation is None:
        return
    classes = evaluation.class_values
    matrix = cost.matrix or {}
    for truth, row in matrix.items():
        if truth not in classes:
            raise KeyedValueError(f"{truth!r} is not one of the classes ({', '.join(classes)})",
                                  ("cost_of_error", "matrix", truth))
        for called in row:
            if called not in classes:
                raise KeyedValueError(f"{called!r} is not one of the classes ({', '.join(classes)})",
                                      ("cost_of_error", "matrix", truth, called))
    if cost.unstated == "refuse":
        for truth in classes:
            for called in classes:
                if called != truth and called not in matrix.get(truth, {}):
                    raise KeyedValueError(
                        f"the cost of calling one who is {truth!r} {called!r} is not stated; state every wrong call "
                        "(or set unstated: zero to count unstated ones as free)", ("cost_of_error", "matrix"))
    for called in cost.class_capacity or {}:
        if called not in classes:
            raise KeyedValueError(f"{called!r} is not one of the classes ({', '.join(classes)})",
                                  ("cost_of_error", "class_capacity", called))
        if (cost.class_capacity or {})[called] > cost.population:
            raise KeyedValueError(f"the capacity for {called!r} is more than the population {cost.population}",
                                  ("cost_of_error", "class_capacity", called))
    limits = cost.class_capacity or {}
    if set(limits) >= set(classes) and sum(limits.values()) < cost.population:
        raise KeyedValueError(f"every class has a capacity, and together they allow {sum(limits.values()):,} calls "
                              f"of every {cost.population:,}: some {classes[0]!r} or other would have nowhere to go",
                              ("cost_of_error", "class_capacity"))


def _repeated(values: Iterable[str]) -> str | None:
    """The first value that appears a second time, if any."""
    seen: set[str] = set()
    for value in values:
        if value in seen:
            return value
        seen.add(value)
    return None
