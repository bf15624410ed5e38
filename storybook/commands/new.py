"""``storybook new SLUG --model NAME@ALIAS`` (or ``--model NAME --version N``, or ``--run RUN_ID``): draft a story
from what MLflow holds for that model.

The draft takes from MLflow only what it can tell from names and data, and marks with
:data:`~storybook.sources.placeholders.PLACEHOLDER` every place only people can fill (the title, the audience, what
the classes mean, the ethical considerations and caveats ...): such a story neither builds nor passes
``storybook check`` until each mark is replaced. What it drafts:

- **metrics**: the logged metrics whose names it recognises (``test_recall``, autolog's ``training_roc_auc``,
  ``mlflow.models.evaluate``'s ``recall_score``, ``roc_auc``, ``mean_absolute_error``, ``r2_score`` ...), with a
  plain label and the kind that fits the story's task; where each was measured follows MLflow's naming
  (:func:`storybook.analyse.reconcile.measured_on_default`). Autolog's ``training_recall_score``,
  ``training_precision_score`` and ``training_f1_score`` average the classes weighted by their counts: they are
  named in a comment, not drafted as the positive class's figures
  (:data:`storybook.analyse.reconcile.AUTOLOG_WEIGHTED`);
- **evaluation**: the scored set among the run's table artifacts (the roles ``storybook.log_scored_set``
  recorded, else found by column names: label + score, label + one chance per class or a predicted class,
  actual + prediction) and the task it looks like (binary, multiclass, regression);
- **slices**: the scored set's text columns with a few groups each; **series**: metrics logged step by step;
- **history**: the registered model's versions, compared with another alias when there is one.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from storybook.analyse.reconcile import AUTOLOG_WEIGHTED, measured_on_default
from storybook.commands.files import schema_files, schema_line, write_new_files
from storybook.errors import ConfigError
from storybook.metrics.kinds import Task, kind_allowed, kind_info
from storybook.resolve.readings import is_number
from storybook.sources.placeholders import PLACEHOLDER
from storybook.sources.schema.common import SLUG_PATTERN

if TYPE_CHECKING:
    import pandas as pd

    from storybook.resolve.model_contents import FoundTable, ModelContents

__all__ = ["ScoredShape", "draft_files", "draft_story", "find_scored_set", "metric_kind", "new_story",
           "parse_model"]

# A metric's name, once its prefix (test_, training_, ...) and a trailing _score are dropped -> its kind, per task.
_NAMES: dict[Task, dict[str, str]] = {
    "binary": {
        "recall": "recall", "sensitivity": "recall", "tpr": "recall", "true_positive_rate": "recall",
        "precision": "precision", "specificity": "specificity", "tnr": "specificity",
        "true_negative_rate": "specificity", "accuracy": "accuracy", "f1": "f1", "roc_auc": "roc_auc",
        "auc": "roc_auc", "brier": "brier", "brier_loss": "brier", "false_positive_rate": "false_positive_rate",
        "fpr": "false_positive_rate", "false_negative_rate": "false_negative_rate", "fnr": "false_negative_rate",
    },
    "multiclass": {
        "accuracy": "multiclass_accuracy", "balanced_accuracy": "balanced_accuracy", "macro_f1": "macro_f1",
        "f1_macro": "macro_f1", "log_loss": "log_loss", "logloss": "log_loss", "cross_entropy": "log_loss",
    },
    "regression": {
        "mae": "mae", "mean_absolute_error": "mae", "rmse": "rmse", "root_mean_squared_error": "rmse",
        "median_absolute_error": "median_absolute_error", "medae": "median_absolute_error",
        "mean_error": "mean_error", "bias": "mean_error", "r2": "r2", "interval_coverage": "interval_coverage",
        "coverage": "interval_coverage",
    },
}
_PREFIXES = ("test", "eval", "evaluation", "val", "validation", "holdout", "training", "train", "cv", "crossval",
             "xval", "mean")
_LABELS = {
    "recall": "Share of positive cases the model finds", "precision": "Share of flags that are right",
    "specificity": "Share of negative cases left alone", "accuracy": "Share of calls that are right",
    "f1": "Balance of finding cases and being right about them (F1)", "roc_auc": "Ranking quality (AUC)",
    "false_positive_rate": "False alarm rate", "false_negative_rate": "Miss rate",
    "brier": "Calibration error (Brier score)", "mae": "Average miss",
    "rmse": "Typical miss, counting large misses more (RMSE)",
    "median_absolute_error": "Half of the forecasts are off by at most this much",
    "mean_error": "How far the forecasts run high (or low) on average",
    "r2": "Share of the differences between cases the forecasts explain (R squared)",
    "interval_coverage": "Cases whose actual value fell inside the forecast's range",
    "multiclass_accuracy": "Share of calls that are right",
    "balanced_accuracy": "Share of each class called right, averaged over the classes",
    "macro_f1": "Balance of finding each class and being right about it (macro F1)",
    "log_loss": "How far the model's chances were from what happened (log loss)",
}
_WHERE = {"training": " (on the training data)", "cross_validation": " (in cross-validation)", "other": ""}

_LABEL_COLUMNS = ("label", "target", "y_true", "truth", "outcome", "ground_truth", "y", "class", "actual")
_SCORE_COLUMNS = ("score", "probability", "proba", "prob", "y_score", "y_prob", "predicted_probability",
                  "prediction_probability", "p_1", "p1")
_PREDICTION_COLUMNS = ("prediction", "predicted", "pred", "y_pred", "forecast", "predicted_label",
                       "predicted_class")
_ACTUAL_COLUMNS = ("actual", "y_true", "target", "truth", "outcome", "label", "y")
_LOWER_COLUMNS = ("lower", "lower_bound", "prediction_lower", "pi_lower", "lo")
_UPPER_COLUMNS = ("upper", "upper_bound", "prediction_upper", "pi_upper", "hi")
_CHANCE_FORMS = ("p_{}", "prob_{}", "proba_{}", "probability_{}", "{}_probability", "{}_proba")
MAX_CLASSES = 30
MAX_SLICES = 5
MAX_SLICE_GROUPS = 20


def _todo(what: str) -> str:
    return f"{PLACEHOLDER} {what}"


def parse_model(model: str | None, version: int | None, run_id: str | None) -> dict[str, Any]:
    """The model the command names: ``{"name", "alias"}``, ``{"name", "version"}`` or ``{"run_id"}``."""
    if (model is None) == (run_id is None):
        raise ConfigError("name the model with --model NAME@ALIAS (or --model NAME --version N), or a run with "
                          "--run RUN_ID: one of them", hint="e.g. storybook new churn-risk --model churn@champion")
    if run_id is not None:
        if version is not None:
            raise ConfigError("--version goes with --model, not with --run")
        if re.fullmatch(r"[0-9a-f]{8,64}", run_id) is None:
            raise ConfigError(f"{run_id!r} is not an MLflow run id (8 to 64 hexadecimal characters)")
        return {"run_id": run_id}
    assert model is not None
    name, at, alias = model.rpartition("@") if "@" in model else (model, "", "")
    if at and version is not None:
        raise ConfigError(f"give the alias ({model}) or --version {version}, not both")
    if not name.strip():
        raise ConfigError(f"{model!r} names no model", hint="e.g. --model churn@champion")
    if at:
        if re.fullmatch(r"[A-Za-z0-9_-]{1,255}", alias) is None:
            raise ConfigError(f"{alias!r} is not an alias name (letters, digits, - and _)")
        return {"name": name, "alias": alias}
    if version is None:
        raise ConfigError(f"which version of {name}? give NAME@ALIAS (e.g. {name}@champion) or --version N")
    return {"name": name, "version": version}


def metric_kind(key: str, task: Task) -> str | None:
    """The kind of the metric logged as ``key`` in a story of ``task``, when its name says it; else None."""
    tokens = [t for t in re.split(r"[^a-z0-9]+", key.lower()) if t]
    names = _NAMES[task]
    while tokens:
        # A trailing _score (autolog, evaluate) or _mean (an average over cross-validation folds: cv_accuracy_mean)
        for candidate in (tokens, tokens[:-1] if tokens[-1] in ("score", "mean") else None):
            if candidate and "_".join(candidate) in names:
                return names["_".join(candidate)]
        if tokens[0] not in _PREFIXES:
            return None
        tokens = tokens[1:]
    return None


@dataclass(frozen=True)
class ScoredShape:
    """The scored set a draft reads: which artifact, the task it looks like, and its columns' roles."""

    path: str
    task: Task
    frame: pd.DataFrame = field(repr=False)
    label: str | None = None  # binary and multiclass: the true outcome
    score: str | None = None  # binary: the chance of the positive value
    positive: str | None = None  # binary: the label value that means positive, when the labels say it
    classes: tuple[str, ...] = ()  # multiclass, as text
    chances: dict[str, str] = field(default_factory=dict)  # multiclass: class -> column with its chance
    prediction: str | None = None  # multiclass: the called class; regression: the forecast
    actual: str | None = None
    lower: str | None = None
    upper: str | None = None
    slices: tuple[str, ...] = ()
    tagged: bool = False  # the roles come from log_scored_set's tag

    def role_columns(self) -> set[str]:
        return {c for c in (self.label, self.score, self.prediction, self.actual, self.lower, self.upper) if c} | set(
            self.chances.values())


def _column(frame: pd.DataFrame, names: Sequence[str], exclude: Sequence[str | None] = ()) -> str | None:
    by_lower = {str(c).lower(): str(c) for c in frame.columns if c not in exclude}
    return next((by_lower[n] for n in names if n in by_lower), None)


def _numeric(frame: pd.DataFrame, column: str) -> bool:
    import pandas as pd

    return bool(pd.api.types.is_numeric_dtype(frame[column])) and not pd.api.types.is_bool_dtype(frame[column])


def _values(frame: pd.DataFrame, column: str) -> list[str]:
    return sorted({str(v) for v in frame[column].dropna().unique()})


def _positive(values: list[str]) -> str | None:
    """The positive label of a binary set, when its two values say it (1/0, true/false, yes/no); else None."""
    for pair in (("0", "1"), ("0.0", "1.0"), ("False", "True"), ("false", "true"), ("no", "yes"), ("No", "Yes")):
        if sorted(values) == sorted(pair):
            return pair[1]
    return None


def _shape(table: FoundTable) -> ScoredShape | None:
    """The scored set a table holds, by the roles log_scored_set recorded or else by its columns; None if none."""
    frame, roles = table.frame, table.roles
    if roles is not None and roles.get("task") in ("binary", "multiclass", "regression"):
        task = roles["task"]
        label = str(roles.get("label"))
        slices = tuple(s for s in roles.get("slices", []) if s in frame.columns)
        if task == "binary" and label in frame.columns and roles.get("score") in frame.columns:
            return ScoredShape(table.path, "binary", frame, label=label, score=roles["score"],
                               positive=_positive(_values(frame, label)), slices=slices, tagged=True)
        if task == "multiclass" and label in frame.columns:
            chances = {str(k): v for k, v in roles.get("probabilities", {}).items() if v in frame.columns}
            classes = tuple(chances) or tuple(_values(frame, label))
            prediction = roles.get("prediction") if roles.get("prediction") in frame.columns else None
            return ScoredShape(table.path, "multiclass", frame, label=label, classes=classes, chances=chances,
                               prediction=prediction, slices=slices, tagged=True)
        if task == "regression" and roles.get("actual") in frame.columns and roles.get("prediction") in frame.columns:
            return ScoredShape(table.path, "regression", frame, actual=roles["actual"],
                               prediction=roles["prediction"], lower=roles.get("lower"), upper=roles.get("upper"),
                               slices=slices, tagged=True)
    return _shape_by_columns(table.path, frame)


def _shape_by_columns(path: str, frame: pd.DataFrame) -> ScoredShape | None:
    if frame.empty:
        return None
    label = _column(frame, _LABEL_COLUMNS)
    prediction = _column(frame, _PREDICTION_COLUMNS, exclude=[label])
    if label is not None:
        classes = _values(frame, label)
        if 3 <= len(classes) <= MAX_CLASSES:
            chances = _chances(frame, classes)
            called = prediction if prediction is not None and set(_values(frame, prediction)) <= set(classes) else None
            if chances or called:
                return ScoredShape(path, "multiclass", frame, label=label, classes=tuple(classes), chances=chances,
                                   prediction=called)
        if len(classes) == 2:
            score = _column(frame, _SCORE_COLUMNS, exclude=[label])
            if score is not None and _numeric(frame, score) and frame[score].between(0, 1).all():
                return ScoredShape(path, "binary", frame, label=label, score=score, positive=_positive(classes))
    actual = _column(frame, _ACTUAL_COLUMNS, exclude=[prediction])
    if actual is not None and prediction is not None and _numeric(frame, actual) and _numeric(frame, prediction) \
            and frame[actual].nunique() > 2:
        lower, upper = _column(frame, _LOWER_COLUMNS), _column(frame, _UPPER_COLUMNS)
        both = lower is not None and upper is not None and _numeric(frame, lower) and _numeric(frame, upper)
        return ScoredShape(path, "regression", frame, actual=actual, prediction=prediction,
                           lower=lower if both else None, upper=upper if both else None)
    return None


def _chances(frame: pd.DataFrame, classes: list[str]) -> dict[str, str]:
    """Each class's chance column, when every class has one (named p_<class>, prob_<class>, ...); else none."""
    found: dict[str, str] = {}
    for value in classes:
        column = _column(frame, [form.format(value).lower() for form in _CHANCE_FORMS])
        if column is None or not _numeric(frame, column):
            return {}
        found[value] = column
    return found


def find_scored_set(tables: Sequence[FoundTable]) -> tuple[ScoredShape | None, list[str]]:
    """The scored set among ``tables`` (the one log_scored_set tagged first, then evaluation/scored.csv, then the
    others in order), and the paths of other tables that look like scored sets too."""
    shapes = [s for s in (_shape(t) for t in tables) if s is not None]
    shapes.sort(key=lambda s: (not s.tagged, s.path != "evaluation/scored.csv"))
    return (shapes[0] if shapes else None), [s.path for s in shapes[1:]]


def _slice_candidates(shape: ScoredShape) -> tuple[str, ...]:
    """Text columns of the set (not its roles) with 2 to 20 groups, none of them naming single rows."""
    import pandas as pd

    if shape.slices:
        return shape.slices
    frame, taken = shape.frame, shape.role_columns()
    found: list[str] = []
    for column in map(str, frame.columns):
        series = frame[column]
        if column in taken or (pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)):
            continue
        groups = series.nunique(dropna=True)
        if 2 <= groups <= MAX_SLICE_GROUPS and groups < len(frame) and not series.isna().any():
            found.append(column)
    return tuple(found[:MAX_SLICES])


def _q(value: object) -> str:
    """A YAML scalar: text as a double-quoted string (JSON's escapes are YAML's), numbers as they are."""
    return json.dumps(value)


def _humane(name: str) -> str:
    words = re.sub(r"[_\-.]+", " ", name).strip()
    return (words[:1].upper() + words[1:])[:120] or name


def draft_story(contents: ModelContents, model: dict[str, Any], depth: int = 2) -> str:
    """The drafted story.yaml: what MLflow says, and the marked places only people can write. ``depth``: how many
    folders below the project root the story's folder is."""
    shape, others = find_scored_set(contents.tables)
    task: Task = shape.task if shape is not None else "binary"
    lines = [schema_line("story", depth=depth).rstrip("\n"),
             f"# Drafted by `storybook new` from {_describe(contents)}.",
             # The header names the mark without its brackets: a line holding the mark itself would count as a
             # place to write, and the story would fail on this comment after every value was written.
             f"# Places marked {PLACEHOLDER.strip('[]')!r} are for people to write: the story neither builds",
             "# nor passes `storybook check` until each is written. Check the rest too: it was read from names and",
             "# data.",
             f"title: {_q(_todo('the question this model helps answer, in words the reader uses'))}",
             f"summary: {_q(_todo('a few sentences: what the model does, for whom, and what this page tells'))}",
             f"audience: {_q(_todo('who reads this page, e.g. clinic managers and nurses'))}",
             f"owner: {_q(_todo('the team that answers for this model'))}",
             "model:"]
    lines += [f"  {key}: {_q(value)}" for key, value in model.items()]
    lines += ["intended_use:",
              f"  primary: {_q(_todo('what the model is for, in one sentence'))}",
              "  users:", f"    - {_q(_todo('who acts on what it says'))}",
              "  out_of_scope:", f"    - {_q(_todo('a use it must not be put to'))}"]
    lines += _metric_lines(contents, task)
    lines += _evaluation_lines(contents, shape, others)
    if shape is not None and (slices := _slice_candidates(shape)):
        lines.append("slices:                       # columns of the scored set to break the figures down by")
        for column in slices:
            lines += [f"  - column: {_q(column)}", f"    label: {_q(_humane(column))}"]
    folds = [key for key in contents.histories if measured_on_default(key) == "cross_validation"]
    if folds:  # one reading per fold is not a series over time
        named = _q(", ".join(folds))[:300]
        lines.append(f"# Logged per cross-validation fold (trust.model.folds can read one): {named}")
    if series := [key for key in contents.histories if key not in folds]:
        lines.append("series:                       # metrics the run logged step by step")
        for key in series:
            lines += [f"  - key: {_q(key)}", f"    label: {_q(_humane(key))}"]
    lines += _history_lines(contents, model)
    return "\n".join(lines) + "\n"


def _describe(contents: ModelContents) -> str:
    which = (f"model {contents.name} version {contents.version}, " if contents.name is not None else "")
    return f"{which}run {contents.run_id}"


def _metric_lines(contents: ModelContents, task: Task) -> list[str]:
    lines = ["metrics:"]
    weighted = [key for key in AUTOLOG_WEIGHTED if key in contents.metrics]
    for key in sorted(contents.metrics):
        if key in weighted or not is_number(contents.metrics[key]):  # NaN or infinite: no figure to tell
            continue
        kind = metric_kind(key, task)
        if kind is None or not kind_allowed(kind, task):
            continue
        where = measured_on_default(key)
        lines += [f"  - key: {_q(key)}", f"    label: {_q(_LABELS[kind] + _WHERE.get(where, ''))}",
                  f"    kind: {kind}"]
        info = kind_info(kind)
        if info is not None and info.higher_is_better is False:
            lines.append("    higher_is_better: false")
    if len(lines) == 1:
        lines += [f"  # {PLACEHOLDER} storybook recognised none of the run's metrics: name one it logged",
                  f"  - key: {_q(_todo('a metric key the run logged'))}",
                  f"    label: {_q(_todo('what the figure is, in words the reader uses'))}"]
    if weighted:
        lines.append(f"  # Not drafted: {', '.join(weighted)} (mlflow.sklearn.autolog) average the classes, each "
                     "weighted by its count, so they are not the figures of one class")
    return lines


def _evaluation_lines(contents: ModelContents, shape: ScoredShape | None, others: list[str]) -> list[str]:
    if shape is None:
        read = ", ".join(t.path for t in contents.tables)
        what = f"tables read: {_q(read)[:300]}" if read else "the run has no CSV or Parquet table"
        return [f"# No scored evaluation set found among the run's artifacts ({what}).",
                "# Log one with storybook.log_scored_set(...) and run storybook new again, or add evaluation: by hand."]
    lines = []
    if others:
        lines.append(f"# Other tables that look like scored sets: {_q(', '.join(others))[:300]}")
    lines += ["evaluation:", f"  task: {shape.task}", f"  artifact: {_q(shape.path)}",
              f"  unit: {_q(_todo('what one row is, in plural: patients, students'))}"]
    if shape.task == "binary":
        assert shape.label is not None and shape.score is not None
        positive = shape.positive if shape.positive is not None and _scores_rise(shape) else None
        lines += [f"  label_column: {_q(shape.label)}", f"  score_column: {_q(shape.score)}"]
        if positive is not None:
            lines.append(f"  positive_value: {_q(positive)}")
        else:
            lines.append(f"  positive_value: {_q(_todo('the label value the score is the chance of'))}")
        if "threshold" in contents.params:
            lines.append("  threshold_param: threshold")
        else:
            lines.append(f"  threshold: 0.5   # {PLACEHOLDER} the run logs no threshold param: write the threshold "
                         "in use (0.5 is scikit-learn's predict) and delete this mark")
        lines += [f"  positive_means: {_q(_todo('the positive class in plain words, e.g. have a malignant tumour'))}",
                  f"  negative_means: {_q(_todo('the negative class in plain words, e.g. have a harmless tumour'))}",
                  f"  flagged_means: {_q(_todo('what a yes from the model leads to, e.g. seen first'))}"]
    elif shape.task == "multiclass":
        assert shape.label is not None
        lines += [f"  label_column: {_q(shape.label)}", "  classes:"]
        for value in shape.classes:
            means = _todo("what this class means, e.g. need extra support")
            lines += [f"    - value: {_q(value)}", f"      means: {_q(means)}"]
            if value in shape.chances:
                lines.append(f"      probability_column: {_q(shape.chances[value])}")
        if shape.prediction is not None:
            lines.append(f"  prediction_column: {_q(shape.prediction)}")
    else:
        assert shape.actual is not None and shape.prediction is not None
        lines += [f"  actual_column: {_q(shape.actual)}", f"  prediction_column: {_q(shape.prediction)}"]
        if shape.lower is not None and shape.upper is not None:
            lines += [f"  lower_column: {_q(shape.lower)}", f"  upper_column: {_q(shape.upper)}",
                      f"  interval_level: 0.9   # {PLACEHOLDER} how often the intervals should hold the actual "
                      "value: write it and delete this mark"]
        lines += [f"  target_means: {_q(_todo('what the forecast amount is, e.g. the length of stay in days'))}",
                  f"  amount_unit: {_q(_todo('what the amount is counted in, plural: days, beds, points'))}"]
    return lines


def _scores_rise(shape: ScoredShape) -> bool:
    """Whether the score is higher, on average, for the positive value than for the other one: when it is not,
    the score may be the chance of the other value, and the draft asks instead of guessing."""
    assert shape.label is not None and shape.score is not None
    text = shape.frame[shape.label].astype(str)
    scores = shape.frame[shape.score].astype(float)
    positives, negatives = scores[text == shape.positive], scores[text != shape.positive]
    return bool(positives.empty or negatives.empty or positives.mean() > negatives.mean())


def _history_lines(contents: ModelContents, model: dict[str, Any]) -> list[str]:
    if contents.name is None:
        return []
    own = contents.version
    others = [alias for alias, version in contents.aliases.items() if version != own]
    if not others:
        return ["history: {}                   # the registered model's versions and where its aliases moved"]
    other = "challenger" if "challenger" in others else "champion" if "champion" in others else others[0]
    if model.get("alias") == "challenger" and "champion" in others:
        other = "champion"
    return ["history:                      # the registered model's versions and where its aliases moved",
            f"  compare_with: {_q(other)}"]


SECTIONS = {
    "ethical-considerations.md": (
        f"{PLACEHOLDER} Ethical considerations: people who answer for this model write this section.\n\n"
        "Who could the model's mistakes harm, and how? Which groups may it serve less well? What data about people\n"
        "does it use, and with what consent? What makes sure a person decides, not the model?\n"),
    "caveats-and-recommendations.md": (
        f"{PLACEHOLDER} Caveats and recommendations: people who know the model and its use write this section.\n\n"
        "What should a reader keep in mind: where the figures may not hold, what was not tested, when the model\n"
        "should be checked or trained again?\n"),
}


def draft_files(slug: str, contents: ModelContents, model: dict[str, Any], stories_dir: str = "stories",
                ) -> dict[str, str]:
    """The files of the drafted story, by path relative to the project root."""
    folder = f"{stories_dir}/{slug}"
    depth = len(Path(folder).parts)
    return {f"{folder}/story.yaml": draft_story(contents, model, depth),
            **{f"{folder}/{name}": text for name, text in SECTIONS.items()}}


def new_story(root: Path, slug: str, *, model: str | None, version: int | None = None,
              run_id: str | None = None) -> list[Path]:
    """Draft ``stories/<slug>/`` in the project at (or above) ``root`` from what MLflow holds; never replaces a
    file. Returns the written paths."""
    from storybook.resolve.model_contents import read_model_contents
    from storybook.resolve.source import open_source
    from storybook.sources.loader import Project, find_stories

    if re.fullmatch(SLUG_PATTERN, slug) is None:
        raise ConfigError(f"{slug!r} is not a story name storybook accepts",
                          hint="use lower-case letters, digits and dashes, e.g. churn-risk")
    ref = parse_model(model, version, run_id)
    found_root, config, _ = find_stories(root)
    project = Project(root=found_root, config=config, stories=[])
    contents = read_model_contents(open_source(project).mlflow, **ref)
    files = draft_files(slug, contents, ref, project.config.stories_dir)
    # The schema the story's yaml-language-server line names, when the project does not have it yet.
    files |= {path: text for path, text in schema_files().items() if not (project.root / path).exists()}
    return write_new_files(project.root, files, doing=f"storybook new {slug}")
