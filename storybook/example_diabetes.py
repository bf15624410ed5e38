"""The example's regression story: how far will each patient's diabetes progress in a year, for clinic planning.

scikit-learn ships the diabetes data of Efron et al. (2004): 442 patients, ten measurements taken at a first visit
(age, sex, body-mass index, blood pressure and six blood serum measurements) and a score of how far the disease
had progressed one year later (25 to 346 points). A linear regression forecasts that score; the clinic plans
each patient's follow-up care from it. Each forecast comes with a 90% prediction interval: the forecast plus the
5th and 95th percentiles of the errors the same kind of model made on training patients it had not seen
(five-fold cross-validation).

The run also logs a simulated production series, 42 days of daily batches of patients: from day SHIFT_DAY a
clinic's new scales send weight in grams instead of kilograms, so the body-mass index reaches the model 1,000
times too large and the mean forecast jumps by three orders of magnitude (a unit bug). The model is registered as
version 1 of ``diabetes-progression`` with the alias ``champion``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from storybook.logging_api import log_production_series, log_scored_set
from storybook.promote import promote

__all__ = ["EXPERIMENT", "MODEL_NAME", "SHIFT_DAY", "START", "diabetes_data", "train_diabetes"]

MODEL_NAME = "diabetes-progression"
EXPERIMENT = "diabetes-progression"
SEED = 5
DAYS = 42
SHIFT_DAY = 22  # 1-based day from which weight arrives in grams
START = datetime(2026, 9, 1, tzinfo=UTC)
LEVEL = 0.9  # the prediction interval's stated coverage
FEATURES = ["age", "sex", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6"]


def diabetes_data() -> pd.DataFrame:
    """The diabetes table in its original units, the one-year score as ``actual``, and two slice columns."""
    from sklearn.datasets import load_diabetes

    frame = load_diabetes(as_frame=True, scaled=False).frame.rename(columns={"target": "actual"})
    frame.insert(0, "patient", [f"P{i:03d}" for i in range(1, len(frame) + 1)])
    frame["age_band"] = np.where(frame["age"] < 50, "under 50", "50 or older")
    frame["bmi_band"] = pd.cut(frame["bmi"], [0, 25, 30, 100], right=False,
                               labels=["under 25", "25 to 29.9", "30 or more"]).astype(str)
    return pd.DataFrame(frame)


def train_diabetes(client: Any, artifact_location: str | None) -> str:
    """Train, log and register the diabetes progression model; returns the run id."""
    import mlflow
    import mlflow.sklearn
    from mlflow.data.pandas_dataset import from_pandas
    from sklearn.linear_model import LinearRegression
    from sklearn.metrics import mean_absolute_error, mean_squared_error, median_absolute_error, r2_score
    from sklearn.model_selection import KFold, cross_val_predict, cross_validate, train_test_split

    experiment_id = client.create_experiment(EXPERIMENT, artifact_location=artifact_location)
    data = diabetes_data()
    train, test = train_test_split(data, test_size=0.3, random_state=SEED)
    folds = KFold(5, shuffle=True, random_state=SEED)
    model = LinearRegression()
    with mlflow.start_run(experiment_id=experiment_id, run_name="v1-linear") as run:
        run_id: str = run.info.run_id
        mlflow.log_params({"model_type": "linear regression", "features": len(FEATURES), "seed": SEED,
                           "test_size": 0.3, "interval_level": LEVEL, "interval_method": "cross-validated errors"})
        mlflow.set_tags({"team": "clinic planning analytics team", "purpose": "follow-up care planning",
                         "mlflow.note.content": "Linear regression on the ten first-visit measurements."})
        scores = cross_validate(LinearRegression(), train[FEATURES], train["actual"], cv=folds,
                                scoring="neg_mean_absolute_error")
        for step, value in enumerate(scores["test_score"]):
            mlflow.log_metric("cv_mae", float(-value), step=step)
        # The interval: the 5th and 95th percentiles of the errors on training patients each fold had not seen.
        unseen = cross_val_predict(LinearRegression(), train[FEATURES], train["actual"], cv=folds)
        low, high = np.quantile(train["actual"].to_numpy() - unseen, [(1 - LEVEL) / 2, (1 + LEVEL) / 2])

        model.fit(train[FEATURES], train["actual"])
        # Rounded as the scored set logs them, so the logged figures are the set's own (the page shows both).
        forecast = np.round(model.predict(test[FEATURES]), 2)
        lower, upper = np.round(forecast + low, 2), np.round(forecast + high, 2)
        truth = test["actual"].to_numpy()
        mlflow.log_metrics({
            "test_mae": mean_absolute_error(truth, forecast),
            "test_rmse": float(np.sqrt(mean_squared_error(truth, forecast))),
            "test_median_absolute_error": median_absolute_error(truth, forecast),
            "test_mean_error": float(np.mean(forecast - truth)),
            "test_r2": r2_score(truth, forecast),
            "test_interval_coverage": float(np.mean((truth >= lower) & (truth <= upper))),
        })
        mlflow.log_input(from_pandas(train[[*FEATURES, "actual"]], name="diabetes-train", targets="actual"),
                         context="training")
        mlflow.log_input(from_pandas(test[[*FEATURES, "actual"]], name="diabetes-test", targets="actual"),
                         context="evaluation")
        scored = test[["patient", "actual", "age_band", "bmi_band", *FEATURES]].copy()
        scored.insert(2, "prediction", forecast)
        scored.insert(3, "lower", lower)
        scored.insert(4, "upper", upper)
        log_scored_set(scored, task="regression", actual="actual", prediction="prediction", lower="lower",
                       upper="upper", slices=["age_band", "bmi_band"])
        mlflow.log_text(train[["patient", "actual", "age_band", "bmi_band", *FEATURES]].to_csv(index=False),
                        "data/train.csv")
        _log_production(model, data)
        # The requirements are stated, not inferred (inferring runs a subprocess for seconds per model).
        mlflow.sklearn.log_model(model, name="model", registered_model_name=MODEL_NAME,
                                 pip_requirements=mlflow.sklearn.get_default_pip_requirements(include_cloudpickle=True),
                                 input_example=test[FEATURES].head(3))
    client.update_model_version(MODEL_NAME, "1", description="Linear regression on the ten first-visit "
                                "measurements, with a 90% interval from cross-validated errors.")
    promote(client, MODEL_NAME, "champion", 1)
    client.update_registered_model(MODEL_NAME, description="Forecasts how far each patient's diabetes will "
                                   "progress in a year, so the clinic can plan their follow-up care.")
    return run_id


def _log_production(model: Any, pool: pd.DataFrame) -> None:
    """Forecast 42 daily batches of 40 patients; from SHIFT_DAY weight arrives in grams, so the BMI is 1,000 times
    too large. Logs the daily mean forecast as a series and the first 20 inputs of each day as a table."""
    import mlflow

    rng = np.random.default_rng(SEED + 1)
    means = []
    batches = []
    for day in range(1, DAYS + 1):
        batch = pool.sample(n=40, replace=True, random_state=int(rng.integers(1_000_000)))[FEATURES].copy()
        if day >= SHIFT_DAY:
            batch["bmi"] = batch["bmi"] * 1000
        means.append(float(model.predict(batch).mean()))
        batch.insert(0, "day", (START + timedelta(days=day - 1)).date().isoformat())
        batches.append(batch.head(20))
    log_production_series("production_prediction_mean", means, start=START)
    mlflow.log_text(pd.concat(batches).round(4).to_csv(index=False), "production/inputs.csv")
