"""The bundled example: a breast-cancer screening model, really trained and really logged to MLflow.

scikit-learn ships the Wisconsin breast-cancer data (569 tumours, 30 measurements each). Two logistic
regressions are trained, logged to a local sqlite MLflow store inside the project, and registered as versions
1 (alias ``champion``) and 2 (alias ``challenger``), each alias set by :func:`storybook.promote.promote`, which also
records when it moved. Each run logs params, test metrics, per-fold
cross-validation scores (a metric history, one step per fold), dataset fingerprints, the scored evaluation set
and the model itself. The champion's run also logs a simulated production series: 42 days of daily batches
whose scanner starts reporting tumour areas in different units on day 29, so the mean prediction jumps.

The "screening site" column is simulated (the data has no such field); tumour size bands come from the data.
The challenger's evaluation set also holds a planted leak, a "biopsy_report" column written after the diagnosis
(it copies the label, with about 1 in 100 rows mistyped), which storybook's data checks find and tell. The
challenger also logs a simulated shadow trial: six weekly windows of scores whose estimated share of cancers found
falls after the Mobile unit's new scanner arrives, the first four weeks' diagnoses logged as their labels (story
``screening-shadow-trial``, see :func:`shadow_trial_scores`).

The same store also gets the two other stories' models, trained by :mod:`storybook.example_students` (a three-way
student-support model on simulated records) and :mod:`storybook.example_diabetes` (a regression on scikit-learn's
diabetes data, with a production series that jumps by three orders of magnitude).
"""

from __future__ import annotations

import logging
import shutil
import warnings
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from storybook.errors import ConfigError
from storybook.example_diabetes import EXPERIMENT as DIABETES_EXPERIMENT
from storybook.example_diabetes import MODEL_NAME as DIABETES_MODEL
from storybook.example_diabetes import train_diabetes
from storybook.example_students import EXPERIMENT as STUDENTS_EXPERIMENT
from storybook.example_students import MODEL_NAME as STUDENTS_MODEL
from storybook.example_students import train_students
from storybook.logging_api import log_production_series, log_scored_set
from storybook.logging_production import log_production_scores
from storybook.promote import promote
from storybook.sources.loader import load_project

__all__ = ["MODEL_NAME", "SHIFT_DAY", "train_example", "train_into"]

MODEL_NAME = "breast-cancer-screening"
EXPERIMENT = "breast-cancer-screening"
STORE_DIR = "mlflow"
MARKER = ".storybook-example"
SEED = 7
DAYS = 42
SHIFT_DAY = 29  # 1-based day on which the scanner's units change
LABELLED_WEEKS = 3  # the production weeks whose outcomes are known (logged as their labels)
START = datetime(2026, 9, 1, tzinfo=UTC)
SITES = ("North clinic", "South clinic", "Mobile unit")
# The challenger's shadow trial (story screening-shadow-trial): simulated weekly windows of scores, see
# shadow_trial_scores.
SHADOW_START = datetime(2026, 10, 5, tzinfo=UTC)  # a Monday
SHADOW_WEEKS = 6
SHADOW_CASES = 840  # 120 scans a day
SHADOW_CHANGE_WEEK = 4  # the Mobile unit's new scanner arrives on the first day of the fourth week (26 October)
SHADOW_LABELLED_WEEKS = 4  # the weeks whose diagnoses are in


def example_data() -> pd.DataFrame:
    """The breast-cancer table with a 0/1 ``label`` (1 = malignant) and the two slice columns."""
    from sklearn.datasets import load_breast_cancer

    bunch = load_breast_cancer(as_frame=True)
    frame = bunch.frame.drop(columns=["target"]).copy()
    frame["label"] = (bunch.frame["target"] == 0).astype(int)  # scikit-learn codes malignant as 0
    frame["size_band"] = pd.qcut(frame["mean radius"], 3, labels=["small", "medium", "large"]).astype(str)
    rng = np.random.default_rng(SEED)
    frame["site"] = rng.choice(SITES, size=len(frame), p=[0.5, 0.4, 0.1])
    return pd.DataFrame(frame)


def _store(root: Path) -> Path:
    store = root / STORE_DIR
    if store.exists():
        if not (store / MARKER).exists():
            raise ConfigError(
                f"{store} exists and was not made by 'storybook example'; refusing to replace it",
                hint="move it away, or run the example in a fresh project folder")
        shutil.rmtree(store)
    (store / "artifacts").mkdir(parents=True)
    (store / MARKER).write_text("Made by 'storybook example'; replaced each time it runs.\n")
    return store


def train_example(project: Path) -> str:
    """Train, log and register the example; returns a one-paragraph summary."""
    loaded = load_project(project)
    root = loaded.root
    expected = f"sqlite:///{STORE_DIR}/mlflow.db"
    if loaded.config.tracking_uri != expected:
        raise ConfigError(f"the example logs to a local store; storybook.yaml must say tracking_uri: {expected}",
                          hint="run storybook example NEW_FOLDER: it writes the example project there first")
    store = _store(root)
    return _quietly(f"sqlite:///{store / 'mlflow.db'}", (store / "artifacts").as_uri())


def train_into(tracking_uri: str) -> str:
    """Train, log and register the example into any tracking URI (e.g. a team's ``mlflow server``).

    The experiment takes the server's default artifact location, so with ``--serve-artifacts`` every artifact
    goes through the server's proxy. Credentials come from the URI or MLFLOW_TRACKING_USERNAME/PASSWORD/TOKEN,
    as for any MLflow client. Returns the same summary as :func:`train_example`, the URI shown without them.
    """
    return _quietly(tracking_uri, None)


def _quietly(uri: str, artifact_location: str | None) -> str:
    logging.getLogger("mlflow").setLevel(logging.ERROR)
    logging.getLogger("alembic").setLevel(logging.ERROR)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return _train(uri, artifact_location)


def _train(uri: str, artifact_location: str | None) -> str:
    import mlflow
    from mlflow.tracking import MlflowClient
    from sklearn.model_selection import train_test_split

    from storybook.resolve.tracking import display_uri

    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    client = MlflowClient(uri, uri)
    experiment_id = client.create_experiment(EXPERIMENT, artifact_location=artifact_location)

    data = example_data()
    train, test = train_test_split(data, test_size=0.3, stratify=data["label"], random_state=SEED)
    mean_features = [c for c in data.columns if c.startswith("mean ")]
    all_features = [c for c in data.columns if c not in ("label", "size_band", "site")]
    versions = [
        ("v1-mean-features", mean_features, 0.05, "Logistic regression on the ten 'mean' measurements."),
        ("v2-all-features", all_features, 0.5, "Logistic regression on all thirty measurements."),
    ]
    run_ids = []
    for index, (name, features, c_value, description) in enumerate(versions):
        run_ids.append(_train_one(client, experiment_id, name, features, c_value, description, train, test,
                                  production=index == 0))
        # Each version gets its alias as soon as it is registered; promote() also records when (a tag), as
        # MLflow keeps no history of alias moves.
        promote(client, MODEL_NAME, ("champion", "challenger")[index], index + 1)
    client.update_registered_model(MODEL_NAME, description="Flags breast tumours that are likely malignant, "
                                   "so that a clinician looks at them first.")
    students = train_students(client, _beside(artifact_location, STUDENTS_EXPERIMENT))
    diabetes = train_diabetes(client, _beside(artifact_location, DIABETES_EXPERIMENT))
    return (f"trained 2 models on {len(train)} tumours, tested on {len(test)}; logged to {display_uri(uri)} as "
            f"{MODEL_NAME} versions 1 (champion, run {run_ids[0]}) and 2 (challenger, run {run_ids[1]}); "
            f"also {STUDENTS_MODEL} version 1 (champion, run {students}) on simulated students and "
            f"{DIABETES_MODEL} version 1 (champion, run {diabetes}) on the diabetes data")


def _beside(artifact_location: str | None, experiment: str) -> str | None:
    """Another experiment's artifact location: a folder beside the screening runs' (or the server's default)."""
    return None if artifact_location is None else f"{artifact_location}/{experiment}"


def _pipeline(c_value: float) -> Any:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), LogisticRegression(C=c_value, max_iter=2000))


def _train_one(client: Any, experiment_id: str, name: str, features: list[str], c_value: float,
               description: str, train: pd.DataFrame, test: pd.DataFrame, *, production: bool) -> str:
    import mlflow
    import mlflow.sklearn
    from mlflow.data.pandas_dataset import from_pandas
    from mlflow.entities import Metric
    from sklearn.metrics import (
        accuracy_score,
        brier_score_loss,
        precision_score,
        recall_score,
        roc_auc_score,
    )
    from sklearn.model_selection import StratifiedKFold, cross_validate

    threshold = 0.5
    model = _pipeline(c_value)
    with mlflow.start_run(experiment_id=experiment_id, run_name=name) as run:
        run_id: str = run.info.run_id
        mlflow.log_params({"model_type": "logistic regression", "C": c_value, "features": len(features),
                           "threshold": threshold, "seed": SEED, "test_size": 0.3})
        mlflow.set_tags({"team": "screening analytics team", "purpose": "breast cancer screening triage",
                         "mlflow.note.content": description})
        folds = cross_validate(_pipeline(c_value), train[features], train["label"],
                               cv=StratifiedKFold(5, shuffle=True, random_state=SEED),
                               scoring=["recall", "roc_auc", "accuracy"])
        now_ms = int(datetime.now(UTC).timestamp() * 1000)
        cv_metrics = [Metric(f"cv_{score}", float(value), now_ms, step)
                      for score in ("recall", "roc_auc", "accuracy")
                      for step, value in enumerate(folds[f"test_{score}"])]
        client.log_batch(run_id, metrics=cv_metrics)

        model.fit(train[features], train["label"])
        scores = model.predict_proba(test[features])[:, 1]
        flagged = (scores >= threshold).astype(int)
        truth = test["label"].to_numpy()
        mlflow.log_metrics({
            "test_recall": recall_score(truth, flagged),
            "test_precision": precision_score(truth, flagged),
            "test_specificity": recall_score(truth, flagged, pos_label=0),
            "test_accuracy": accuracy_score(truth, flagged),
            "test_roc_auc": roc_auc_score(truth, scores),
            "test_brier": brier_score_loss(truth, scores),
            # The confusion counts at the threshold, for tools (and stories) that have no scores.
            "test_tp": int(((flagged == 1) & (truth == 1)).sum()),
            "test_fp": int(((flagged == 1) & (truth == 0)).sum()),
            "test_tn": int(((flagged == 0) & (truth == 0)).sum()),
            "test_fn": int(((flagged == 0) & (truth == 1)).sum()),
        })
        mlflow.log_input(from_pandas(train[[*features, "label"]], name="breast-cancer-train",
                                                 targets="label"), context="training")
        mlflow.log_input(from_pandas(test[[*features, "label"]], name="breast-cancer-test",
                                                 targets="label"), context="evaluation")
        scored = test[["label", "size_band", "site", *features]].copy()
        scored.insert(1, "score", np.round(scores, 6))
        if not production:  # the challenger: a planted leak in its evaluation set (see _biopsy_report)
            scored["biopsy_report"] = _biopsy_report(test["label"])
            _log_shadow_trial(scored["score"].to_numpy())  # as logged, so the trial can be drawn again from it
        log_scored_set(scored, label="label", score="score", slices=["size_band", "site"])
        mlflow.log_text(train[["label", "size_band", "site", *features]].to_csv(index=False), "data/train.csv")
        if production:
            _log_production(run_id, model, features, pd.concat([train, test]))
        # The requirements are stated, not inferred (inferring runs a subprocess for seconds per model).
        mlflow.sklearn.log_model(model, name="model", registered_model_name=MODEL_NAME,
                                 pip_requirements=mlflow.sklearn.get_default_pip_requirements(include_cloudpickle=True),
                                 input_example=test[features].head(3))
    version = client.search_model_versions(f"name = '{MODEL_NAME}' and run_id = '{run_id}'")[0]
    client.update_model_version(MODEL_NAME, version.version, description=description)
    return run_id


def _log_week(run_id: str, first_day: str, scores: list[np.ndarray], labels: list[np.ndarray], *,
              labelled: bool) -> None:
    """One week of production scores as a window named by its first day, with its labels when they are known (a
    monitoring job would add them later: log_production_scores(..., labels=) fills in a logged window)."""
    log_production_scores(np.concatenate(scores), window=first_day, run_id=run_id,
                          labels=np.concatenate(labels) if labelled else None)


def shadow_trial_scores(evaluation_scores: np.ndarray) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """The challenger's simulated shadow trial: SHADOW_WEEKS weekly windows (named by their first day) of
    SHADOW_CASES scans each, with each scan's score and outcome.

    Scores are drawn from the challenger's own evaluation scores (which are calibrated: their outcomes match their
    chances to about 2 percentage points), and each outcome is drawn from its score, so the scores stay calibrated
    throughout. From week SHADOW_CHANGE_WEEK (the Mobile unit's new scanner) a growing share of the scans the model
    was sure about (score 0.5 or more) get softer images: their score falls to between 0.2 and 0.5, below the
    threshold, so more cancers wait in the normal queue and the share found falls."""
    rng = np.random.default_rng(SEED + 3)
    weeks = []
    for week in range(SHADOW_WEEKS):
        scores = rng.choice(evaluation_scores, SHADOW_CASES)
        if week >= SHADOW_CHANGE_WEEK - 1:
            softer = (scores >= 0.5) & (rng.random(scores.size) < 0.12 + 0.08 * (week - SHADOW_CHANGE_WEEK + 1))
            scores = np.where(softer, rng.uniform(0.2, 0.5, scores.size), scores)
        outcomes = (rng.random(scores.size) < scores).astype(int)
        first_day = (SHADOW_START + timedelta(weeks=week)).date().isoformat()
        weeks.append((first_day, np.round(scores, 6), outcomes))
    return weeks


def _log_shadow_trial(evaluation_scores: np.ndarray) -> None:
    """The shadow trial's windows on the challenger's (active) run: every week's scores as it ends, and the
    outcomes of the first SHADOW_LABELLED_WEEKS weeks, known later (the diagnoses), logged as those weeks' labels."""
    weeks = shadow_trial_scores(evaluation_scores)
    for first_day, scores, _ in weeks:
        log_production_scores(scores, window=first_day)
    for first_day, scores, outcomes in weeks[:SHADOW_LABELLED_WEEKS]:
        log_production_scores(scores, window=first_day, labels=outcomes)


def _biopsy_report(labels: pd.Series) -> pd.Series:
    """A planted leak: the biopsy's finding, written after the diagnosis, so it copies the answer (about 1 in 100
    rows mistyped). storybook's data checks find it in the challenger's evaluation set; the model never reads it."""
    rng = np.random.default_rng(SEED + 2)
    malignant = labels.to_numpy() == 1
    mistyped = rng.random(malignant.size) < 1 / 100
    return pd.Series(np.where(malignant != mistyped, "malignant", "benign"), index=labels.index)


def _log_production(run_id: str, model: Any, features: list[str], pool: pd.DataFrame) -> None:
    """Score 42 daily batches; from SHIFT_DAY the scanner reports areas in mm² x 100 (a unit change).

    The scores are also logged a week at a time as production windows (storybook.log_production_scores), for
    the estimate of performance before the labels are in; the outcomes of the first LABELLED_WEEKS weeks are known
    (the tumours' diagnoses), and logged as those weeks' labels."""
    rng = np.random.default_rng(SEED + 1)
    series: dict[str, list[float]] = {"production_mean_score": [], "production_flag_rate": [],
                                      "production_mean_area": []}
    batches = []
    week_scores: list[np.ndarray] = []
    week_labels: list[np.ndarray] = []
    for day in range(1, DAYS + 1):
        rows = pool.sample(n=120, replace=True, random_state=int(rng.integers(1_000_000)))
        batch = rows[features].copy()
        batch = batch * rng.normal(1.0, 0.02, size=batch.shape)
        if day >= SHIFT_DAY:
            for column in features:
                if "area" in column:
                    batch[column] = batch[column] * 100
        scores = model.predict_proba(batch)[:, 1]
        week_scores.append(scores)
        week_labels.append(rows["label"].to_numpy())
        if day % 7 == 0:
            _log_week(run_id, (START + timedelta(days=day - 7)).date().isoformat(), week_scores, week_labels,
                      labelled=day // 7 <= LABELLED_WEEKS)
            week_scores, week_labels = [], []
        series["production_mean_score"].append(float(scores.mean()))
        series["production_flag_rate"].append(float((scores >= 0.5).mean()))
        series["production_mean_area"].append(float(batch["mean area"].mean()))
        batch.insert(0, "day", (START + timedelta(days=day - 1)).date().isoformat())
        batches.append(batch.head(20))
    for key, values in series.items():  # day 1 is step 1, read at START; one step a day
        log_production_series(key, values, start=START, run_id=run_id)
    import mlflow

    mlflow.log_text(pd.concat(batches).round(4).to_csv(index=False), "production/inputs.csv")
