"""Builders of real MLflow stores and storybook projects that tests can share.

Each builder logs to a real store (sqlite under the test's folder) through MLflow's own API: runs with metrics,
params and a scored evaluation set in storybook's shape, models registered from ``runs:/<run>/model`` with an
alias, ``mlflow.sklearn.autolog()`` runs and ``mlflow.models.evaluate`` runs on scikit-learn's bundled data.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

SECTIONS = {
    "ethical-considerations.md": "Written by the team that answers for this model.\n",
    "caveats-and-recommendations.md": "Read the figures with their ranges.\n",
}


# What a logged model needs to be served, stated, as the example's training does: without it MLflow infers the
# requirements by loading the model in a subprocess (seconds per model), which no test here is about.
MODEL_REQUIREMENTS = ["mlflow", "scikit-learn", "skops", "cloudpickle", "pandas", "numpy"]


def tracking_uri(root: Path) -> str:
    return f"sqlite:///{root / 'mlflow.db'}"


def write_project(root: Path, stories: Mapping[str, Mapping[str, Any]]) -> Path:
    """A storybook project at ``root`` (no PDFs) whose MLflow store is ``root/mlflow.db``; one folder per story
    with its story.yaml (from the mapping) and the two sections only people can write."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "storybook.yaml").write_text(yaml.safe_dump(
        {"title": "Stories on stores we did not make", "tracking_uri": tracking_uri(root), "site_dir": "site",
         "pdf": False}, sort_keys=False))
    for slug, story in stories.items():
        directory = root / "stories" / slug
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "story.yaml").write_text(yaml.safe_dump(dict(story), sort_keys=False))
        for name, text in SECTIONS.items():
            (directory / name).write_text(text)
    return root


def story(model: str, alias: str, metrics: Sequence[Mapping[str, Any]], evaluation: Mapping[str, Any],
          **more: Any) -> dict[str, Any]:
    """A story.yaml as a mapping: about ``model@alias``, reporting ``metrics``, with ``evaluation``."""
    return {
        "title": f"What {model} does", "summary": "A model on a store the storybook team did not make.",
        "audience": "Programme managers", "owner": "Analytics team", "model": {"name": model, "alias": alias},
        "intended_use": {"primary": "Help reviewers decide which cases to look at first.", "users": ["Reviewers"],
                         "out_of_scope": ["Deciding without a person"]},
        "metrics": [dict(m) for m in metrics], "evaluation": dict(evaluation), **more,
    }


def use_experiment(uri: str, name: str) -> None:
    """Make ``name`` the active experiment, its artifacts beside the sqlite store (never ./mlruns in the cwd)."""
    import mlflow
    from mlflow.tracking import MlflowClient

    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)  # another test may have pointed the registry elsewhere
    client = MlflowClient(uri, uri)
    if client.get_experiment_by_name(name) is None:
        store = Path(uri.removeprefix("sqlite:///")).parent
        client.create_experiment(name, artifact_location=(store / "artifacts" / name).as_uri())
    mlflow.set_experiment(name)


def register(uri: str, run_id: str, name: str, alias: str, path: str = "model") -> int:
    """Register ``runs:/<run_id>/<path>`` as a new version of ``name`` and point ``alias`` at it."""
    import mlflow
    from mlflow.tracking import MlflowClient

    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    version = mlflow.register_model(f"runs:/{run_id}/{path}", name)
    MlflowClient(uri, uri).set_registered_model_alias(name, alias, str(version.version))
    return int(version.version)


def log_scored_run(uri: str, frame: pd.DataFrame, *, metrics: Mapping[str, float] | None = None,
                   params: Mapping[str, str] | None = None, experiment: str = "stories",
                   artifact: str = "evaluation/scored.csv") -> str:
    """A run holding ``metrics``, ``params`` and ``frame`` as its scored evaluation set; its id."""
    import mlflow

    use_experiment(uri, experiment)
    with mlflow.start_run() as run, tempfile.TemporaryDirectory() as folder:
        if metrics:
            mlflow.log_metrics(dict(metrics))
        if params:
            mlflow.log_params(dict(params))
        path = Path(folder) / Path(artifact).name
        frame.to_csv(path, index=False)
        mlflow.log_artifact(str(path), str(Path(artifact).parent))
        return str(run.info.run_id)


def breast_cancer(seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame, pd.Series, pd.Series]:
    """scikit-learn's bundled breast-cancer data (1 = malignant here), split 70/30 with ``seed``."""
    from sklearn.datasets import load_breast_cancer
    from sklearn.model_selection import train_test_split

    data = load_breast_cancer(as_frame=True)
    features = data.data
    labels = (data.target == 0).astype(int).rename("label")  # sklearn's 0 is malignant
    x_train, x_test, y_train, y_test = train_test_split(features, labels, test_size=0.3, random_state=seed,
                                                        stratify=labels)
    return x_train, x_test, y_train, y_test


def scored_frame(labels: pd.Series, scores: np.ndarray, extra: pd.DataFrame | None = None) -> pd.DataFrame:
    """storybook's scored-set shape: label, score (and any extra columns)."""
    frame = pd.DataFrame({"label": labels.to_numpy(), "score": np.asarray(scores, dtype=float)})
    if extra is not None:
        frame = pd.concat([frame, extra.reset_index(drop=True)], axis=1)
    return frame


def autolog_run(uri: str, *, experiment: str = "autolog") -> tuple[str, float]:
    """A real ``mlflow.sklearn.autolog()`` run: a LogisticRegression fitted on the breast-cancer training split
    (autolog logs its ``training_*`` metrics, the model and the training dataset with context ``train``), plus the
    scored test split and its test recall at 0.5. Returns the run id and that test recall."""
    import mlflow
    import mlflow.sklearn
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import recall_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    x_train, x_test, y_train, y_test = breast_cancer()
    use_experiment(uri, experiment)
    mlflow.sklearn.autolog(log_models=True, silent=True)
    try:
        with mlflow.start_run() as run:
            model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(x_train, y_train)
    finally:
        mlflow.sklearn.autolog(disable=True)
    scores = model.predict_proba(x_test)[:, 1]
    recall = float(recall_score(y_test, scores >= 0.5))
    with mlflow.start_run(run_id=run.info.run_id), tempfile.TemporaryDirectory() as folder:
        mlflow.log_metric("test_recall", recall)
        path = Path(folder) / "scored.csv"
        scored_frame(y_test, scores).to_csv(path, index=False)
        mlflow.log_artifact(str(path), "evaluation")
    return str(run.info.run_id), recall


def evaluate_run(uri: str, *, experiment: str = "evaluate") -> str:
    """A real ``mlflow.models.evaluate`` run: a logged LogisticRegression evaluated on the breast-cancer test
    split (MLflow logs ``recall_score``, ``roc_auc``, ... of class 1, and the data with context ``eval``), plus
    the scored set in storybook's shape where ``score`` is the chance of class 0."""
    import mlflow
    import mlflow.sklearn
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    x_train, x_test, y_train, y_test = breast_cancer()
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(x_train, y_train)
    use_experiment(uri, experiment)
    with mlflow.start_run() as run, tempfile.TemporaryDirectory() as folder:
        info = mlflow.sklearn.log_model(model, pip_requirements=MODEL_REQUIREMENTS,
                                        name="model", input_example=x_test.head(3))
        data = x_test.assign(label=y_test.to_numpy())
        mlflow.models.evaluate(info.model_uri, data, targets="label", model_type="classifier",
                               evaluators="default", evaluator_config={"log_model_explainability": False})
        path = Path(folder) / "scored.csv"
        scored_frame(y_test, model.predict_proba(x_test)[:, 0]).to_csv(path, index=False)
        mlflow.log_artifact(str(path), "evaluation")
        return str(run.info.run_id)


# --- regression and multiclass runs ---------------------------------------------------------------------


WINE_CLASSES = ("barolo", "grignolino", "barbera")  # scikit-learn's wine cultivars 0, 1, 2


@dataclass(frozen=True)
class TaskRun:
    """A logged and registered model of a regression or multiclass story, with what it was evaluated on."""

    run_id: str
    version: int
    model: Any  # the fitted scikit-learn estimator
    features: pd.DataFrame  # the evaluation rows the model reads
    truth: pd.Series  # what happened on them (amounts, or class names)
    frame: pd.DataFrame  # the scored set as logged


def _log_task_run(uri: str, model: Any, frame: pd.DataFrame, features: pd.DataFrame, metrics: Mapping[str, float],
                  *, experiment: str, name: str, alias: str) -> tuple[str, int]:
    import mlflow
    import mlflow.sklearn

    use_experiment(uri, experiment)
    with mlflow.start_run() as run, tempfile.TemporaryDirectory() as folder:
        mlflow.log_metrics(dict(metrics))
        path = Path(folder) / "scored.csv"
        frame.to_csv(path, index=False)
        mlflow.log_artifact(str(path), "evaluation")
        mlflow.sklearn.log_model(model, pip_requirements=MODEL_REQUIREMENTS,
                                 name="model", input_example=features.head(3))
    return str(run.info.run_id), register(uri, str(run.info.run_id), name, alias)


def log_regression_run(uri: str, *, columns: Sequence[str] | None = None, name: str = "progression",
                       alias: str = "champion", experiment: str = "progression", seed: int = 0) -> TaskRun:
    """A Ridge regression on scikit-learn's diabetes data (the progression score a year later), fitted on 70% of
    the patients on ``columns`` (default: all ten), logged with its signature, registered as ``name@alias``; the
    scored set (patient_id, the features, actual, predicted, age_band: older / younger than the average age) and
    the test set's mae, rmse, r2 and mean_error logged."""
    from sklearn.datasets import load_diabetes
    from sklearn.linear_model import Ridge
    from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score
    from sklearn.model_selection import train_test_split

    data = load_diabetes(as_frame=True)
    whole_train, whole_test, y_train, y_test = train_test_split(data.data, data.target, test_size=0.3,
                                                                random_state=seed)
    chosen = list(columns) if columns is not None else list(data.data.columns)
    x_train, x_test = whole_train[chosen], whole_test[chosen]
    model = Ridge(alpha=0.1).fit(x_train, y_train)
    predicted = model.predict(x_test)
    frame = pd.concat([pd.DataFrame({"patient_id": [f"p{i}" for i in x_test.index]}),
                       x_test.reset_index(drop=True),
                       pd.DataFrame({"actual": y_test.to_numpy(), "predicted": predicted,
                                     "age_band": np.where(whole_test["age"].to_numpy() > 0, "older", "younger")})],
                      axis=1)
    metrics = {"test_mae": float(mean_absolute_error(y_test, predicted)),
               "test_rmse": float(np.sqrt(mean_squared_error(y_test, predicted))),
               "test_r2": float(r2_score(y_test, predicted)),
               "test_mean_error": float(np.mean(predicted - y_test.to_numpy()))}
    run_id, version = _log_task_run(uri, model, frame, x_test, metrics, experiment=experiment, name=name,
                                    alias=alias)
    return TaskRun(run_id, version, model, x_test.reset_index(drop=True), y_test.reset_index(drop=True), frame)


def log_multiclass_run(uri: str, *, columns: Sequence[str] | None = None, name: str = "cultivar",
                       alias: str = "champion", experiment: str = "cultivar", seed: int = 0,
                       chances: bool = True) -> TaskRun:
    """A logistic regression on scikit-learn's wine data (three cultivars, named as in WINE_CLASSES), fitted on
    70% of the wines on ``columns`` (default: all thirteen), logged with its signature, registered as
    ``name@alias``; the scored set (wine_id, the features, label, p_<class> for each class when ``chances``,
    predicted, and colour_band: deep above a colour intensity of 5, else light) and the test set's accuracy and
    log loss logged."""
    from sklearn.datasets import load_wine
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import accuracy_score, log_loss
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    data = load_wine(as_frame=True)
    labels = data.target.map(dict(enumerate(WINE_CLASSES))).rename("label")
    whole_train, whole_test, y_train, y_test = train_test_split(data.data, labels, test_size=0.3,
                                                                random_state=seed, stratify=labels)
    chosen = list(columns) if columns is not None else list(data.data.columns)
    x_train, x_test = whole_train[chosen], whole_test[chosen]
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)).fit(x_train, y_train)
    order = [list(model.classes_).index(c) for c in WINE_CLASSES]
    chance = model.predict_proba(x_test)[:, order]
    frame = pd.concat([pd.DataFrame({"wine_id": [f"w{i}" for i in x_test.index]}), x_test.reset_index(drop=True),
                       pd.DataFrame({"label": y_test.to_numpy()})], axis=1)
    if chances:
        for index, value in enumerate(WINE_CLASSES):
            frame[f"p_{value}"] = chance[:, index]
    frame["predicted"] = np.asarray(WINE_CLASSES)[np.argmax(chance, axis=1)]
    frame["colour_band"] = np.where(whole_test["color_intensity"].to_numpy() > 5, "deep", "light")
    metrics = {"test_accuracy": float(accuracy_score(y_test, frame["predicted"])),
               "test_log_loss": float(log_loss(y_test, model.predict_proba(x_test), labels=model.classes_))}
    run_id, version = _log_task_run(uri, model, frame, x_test, metrics, experiment=experiment, name=name,
                                    alias=alias)
    return TaskRun(run_id, version, model, x_test.reset_index(drop=True), y_test.reset_index(drop=True), frame)


def regression_evaluation(**more: Any) -> dict[str, Any]:
    """The evaluation: section of a story about a log_regression_run."""
    return {"task": "regression", "artifact": "evaluation/scored.csv", "unit": "patients",
            "actual_column": "actual", "prediction_column": "predicted",
            "target_means": "the progression score a year later", "amount_unit": "points", **more}


def multiclass_evaluation(*, chances: bool = True, **more: Any) -> dict[str, Any]:
    """The evaluation: section of a story about a log_multiclass_run."""
    classes = [{"value": v, "means": f"are {v}", **({"probability_column": f"p_{v}"} if chances else {})}
               for v in WINE_CLASSES]
    return {"task": "multiclass", "artifact": "evaluation/scored.csv", "unit": "wines", "label_column": "label",
            "classes": classes, **({} if chances else {"prediction_column": "predicted"}), **more}


def copy_project(source: Path, target: Path) -> Path:
    """A copy of a project with its MLflow store (no site, no cache), whose store points at its OWN artifacts.

    MLflow records absolute artifact locations (experiments, runs, logged models, versions); a plain copy of the
    sqlite file would log into, and so change, the original's artifacts, which other tests share."""
    import shutil
    import sqlite3

    shutil.copytree(source, target, ignore=shutil.ignore_patterns("site", ".storybook"))
    old, new = f"{source.resolve()}/", f"{target.resolve()}/"
    for database in target.rglob("*.db"):
        with sqlite3.connect(database) as connection:
            tables = [row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
            for table in tables:
                columns = [row[1] for row in connection.execute(f'PRAGMA table_info("{table}")')
                           if str(row[2]).upper() in ("TEXT", "VARCHAR") or str(row[2]).upper().startswith("VARCHAR")]
                for column in columns:
                    connection.execute(f'UPDATE "{table}" SET "{column}" = replace("{column}", ?, ?) '
                                       f'WHERE instr("{column}", ?) > 0', (old, new, old))
        connection.close()
    return target
