"""Production windows at scale (storybook.aggregate.production, storybook.log_production_windows): a real DuckDB
cuts generated production scores into UTC days, weeks or named windows, checked cell by cell against a pandas
groupby of the same rows; the per-window percentiles against numpy; and the logging helper against a real sqlite
MLflow run. (The Spark engine's production windows are checked in test_spark_engine.py, with its one session.)"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import storybook
from storybook.aggregate import format as fmt
from storybook.aggregate.production import (
    aggregate_production_with_duckdb,
    histogram_quantile,
    window_summaries,
)
from storybook.errors import AggregateError, ConfigError, LoggingError, TrackingError
from tests.stores import tracking_uri, use_experiment

ROWS = 20_000
BINS = 200


def production_rows(rows: int, seed: int) -> pd.DataFrame:
    """Production scores over 17 days from Thursday 2026-10-29 (so three weeks are cut), times in UTC with some
    a second either side of midnight, labels known for about a third of the rows (nullable), some scores at 0, 1
    and on bin edges."""
    rng = np.random.default_rng(seed)
    start = pd.Timestamp("2026-10-29", tz="UTC")
    seconds = rng.integers(0, 17 * 86_400, rows)
    seconds[:4] = [86_400 - 1, 86_400, 4 * 86_400 - 1, 4 * 86_400]  # Sat 23:59:59 | Sun 00:00 | Sun 23:59:59 | Mon
    scores = rng.beta(2, 5, rows)
    at_edges = rng.random(rows) < 0.1
    scores[at_edges] = rng.integers(0, 201, int(at_edges.sum())) / 200  # on edges j/K of K = 200 (and 100) bins
    scores[4:8] = [0.0, 1.0, 0.5, 0.57]
    known = rng.random(rows) < 0.35
    labels = pd.array(np.where(rng.random(rows) < scores, 1, 0), dtype="Int64")
    labels[~known] = pd.NA
    return pd.DataFrame({"scored_at": start + pd.to_timedelta(seconds, unit="s"), "p": scores, "clicked": labels,
                         "batch": rng.choice(["b-01", "b-02", "b-03"], rows)})


def expected_bins(scores: pd.Series, bins: int) -> np.ndarray:
    """Each score's bin by the format's rule: j where j/K <= score < (j + 1)/K, the edges j/K as Python writes
    them (0.57 is in bin 57 of 100, although 0.57 * 100 is 56.99999999999999), the last bin holding 1."""
    edges = np.array(fmt.equal_width_edges(bins))
    return np.minimum(np.searchsorted(edges, scores.to_numpy(), side="right") - 1, bins - 1).astype("int32")


def expected_cells(frame: pd.DataFrame, window: pd.Series, bins: int) -> pd.DataFrame:
    """The production windows aggregate worked out with pandas: rows per window x label x bin, sums of scores."""
    score_bin = expected_bins(frame["p"], bins)
    keyed = pd.DataFrame({"window": window.astype("string"), "label": frame["clicked"].astype("Int8"),
                          "score_bin": score_bin, "p": frame["p"], "p2": frame["p"] ** 2})
    grouped = keyed.groupby(["window", "label", "score_bin"], dropna=False, sort=False).agg(
        n=("p", "size"), score_sum=("p", "sum"), score_sq_sum=("p2", "sum")).reset_index()
    grouped["n"] = grouped["n"].astype("int64")
    return grouped.sort_values(["window", "label", "score_bin"], na_position="first").reset_index(drop=True)


def assert_same_cells(found: pd.DataFrame, expected: pd.DataFrame) -> None:
    keys = ["window", "label", "score_bin", "n"]
    pd.testing.assert_frame_equal(found[keys], expected[keys], check_dtype=False)
    for column in ("score_sum", "score_sq_sum"):
        np.testing.assert_allclose(found[column], expected[column], rtol=1e-12, atol=1e-12)


@pytest.fixture(scope="module")
def production(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pd.DataFrame]:
    folder = tmp_path_factory.mktemp("production")
    frame = production_rows(ROWS, seed=5)
    frame.to_parquet(folder / "scores.parquet", index=False)
    return folder / "scores.parquet", frame


def test_days_from_duckdb_equal_a_pandas_groupby(production: tuple[Path, pd.DataFrame]) -> None:
    path, frame = production
    cells, info = aggregate_production_with_duckdb(path, score_column="p", time_column="scored_at", window="day",
                                                   label_column="clicked", bins=BINS, threads=2)
    days = frame["scored_at"].dt.floor("D").dt.strftime("%Y-%m-%d")
    assert_same_cells(cells, expected_cells(frame, days, BINS))
    assert info.windows == tuple(f"2026-{d}" for d in [f"10-{n}" for n in (29, 30, 31)] +
                                 [f"11-{n:02d}" for n in range(1, 15)])
    assert cells.loc[cells["window"] == "2026-10-30", "n"].sum() == (days == "2026-10-30").sum()
    assert 0.57 * BINS < 114 and expected_bins(frame["p"], BINS)[7] == 114  # on the edge 0.57: bin 114, not 113
    assert ((cells["window"] == days.iloc[7]) & (cells["score_bin"] == 114)).any()
    assert (info.kind, info.window, info.rows, info.bins, info.exact) == ("production", "day", ROWS, BINS, False)
    assert (info.label_column, info.positive_value, info.replicates) == ("clicked", "1", 0)
    assert info.engine.startswith("duckdb ") and info.source == "scores.parquet"


def test_weeks_start_on_monday_and_a_window_column_names_its_own(production: tuple[Path, pd.DataFrame]) -> None:
    path, frame = production
    cells, info = aggregate_production_with_duckdb(path, score_column="p", time_column="scored_at", window="week",
                                                   label_column="clicked", bins=BINS)
    day = frame["scored_at"].dt.floor("D")
    mondays = (day - pd.to_timedelta(day.dt.weekday, unit="D")).dt.strftime("%Y-%m-%d")
    assert_same_cells(cells, expected_cells(frame, mondays, BINS))
    assert info.windows == ("2026-10-26", "2026-11-02", "2026-11-09")  # Thu 29 Oct falls in the week of Mon 26
    # the second before Monday 2 November 00:00 UTC is in the first week; the second after, in the next one
    assert frame["scored_at"].iloc[2] == pd.Timestamp("2026-11-01 23:59:59", tz="UTC")
    assert mondays.iloc[2] == "2026-10-26" and mondays.iloc[3] == "2026-11-02"

    named, named_info = aggregate_production_with_duckdb(path, score_column="p", window_column="batch", bins=BINS)
    assert named_info.windows == ("b-01", "b-02", "b-03") and named_info.window == "batch"
    assert named["label"].isna().all() and named_info.label_column is None and named_info.positive_value is None
    by_batch = frame.groupby("batch")["p"].agg(["size", "sum"])
    totals = named.groupby("window")[["n", "score_sum"]].sum()
    assert totals["n"].tolist() == by_batch["size"].tolist()
    np.testing.assert_allclose(totals["score_sum"], by_batch["sum"], rtol=1e-12)


def test_the_file_round_trips_and_is_read_back_per_window(production: tuple[Path, pd.DataFrame],
                                                          tmp_path: Path) -> None:
    path, frame = production
    cells, info = aggregate_production_with_duckdb(path, score_column="p", time_column="scored_at", window="week",
                                                   label_column="clicked", bins=BINS)
    fmt.write_aggregate(cells, info, tmp_path / "windows.parquet")
    again, read_info = fmt.read_aggregate(tmp_path / "windows.parquet", kind="production")
    assert read_info == info
    pd.testing.assert_frame_equal(again.astype({"window": "string", "label": "Int8"}), cells)

    summaries = window_summaries(again, read_info)
    day = frame["scored_at"].dt.floor("D")
    week = (day - pd.to_timedelta(day.dt.weekday, unit="D")).dt.strftime("%Y-%m-%d")
    assert [s.window for s in summaries] == list(info.windows)
    for summary in summaries:
        rows = frame[week == summary.window]
        assert summary.rows == len(rows)
        assert summary.labelled == rows["clicked"].notna().sum()
        assert summary.positives == (rows["clicked"] == 1).sum()
        assert math.isclose(summary.mean_score, rows["p"].mean(), rel_tol=1e-12)
        for q, found in zip((0.1, 0.5, 0.9), (summary.p10, summary.p50, summary.p90), strict=True):
            exact = float(np.quantile(rows["p"], q, method="inverted_cdf"))
            assert abs(found - exact) <= 1 / BINS + 1e-12  # within one bin's width, as documented


def test_a_percentile_is_placed_inside_the_bin_that_holds_it() -> None:
    # four scores 0.1, 0.2, 0.8, 0.9 in three bins of width 1/3: counts 2, 0, 2
    counts, edges = [2, 0, 2], [0, 1 / 3, 2 / 3, 1]
    assert histogram_quantile(counts, edges, 0.5) == pytest.approx(1 / 3)  # the 2nd score (0.2) ends bin 0
    assert histogram_quantile(counts, edges, 0.25) == pytest.approx(1 / 6)  # the 1st score: half into bin 0
    assert histogram_quantile(counts, edges, 0.9) == pytest.approx(1.0)  # the 4th score: the end of bin 2
    assert histogram_quantile(counts, edges, 0.0) == pytest.approx(1 / 6)  # the smallest score's bin
    rng = np.random.default_rng(0)
    scores = rng.beta(0.5, 0.5, 5_001)  # piled up near 0 and 1, where a bin holds many scores
    counted = np.bincount(np.minimum(np.floor(scores * 50), 49).astype(int), minlength=50)
    for q in (0.01, 0.1, 0.5, 0.9, 0.99):
        exact = float(np.quantile(scores, q, method="inverted_cdf"))
        assert abs(histogram_quantile(counted, np.linspace(0, 1, 51), q) - exact) <= 1 / 50


@pytest.mark.parametrize(("change", "message"), [
    ({"p": [0.2, float("nan"), 1.5, 0.3]}, "2 rows of the production scores have a score that is missing"),
    ({"scored_at": [pd.Timestamp("2026-11-02", tz="UTC"), pd.NaT, pd.NaT, pd.NaT]},
     "3 rows of the production scores have no time"),
    ({"clicked": pd.array([1, 0, 2, None], dtype="Int64")}, "holds more than two different values"),
    ({"clicked": pd.array([3, 0, None, None], dtype="Int64")}, "the positive value '1' is not one of the labels"),
])
def test_rows_a_window_cannot_hold_are_refused_with_their_count(tmp_path: Path, change: dict[str, object],
                                                                 message: str) -> None:
    frame = pd.DataFrame({"scored_at": pd.Timestamp("2026-11-02 10:00", tz="UTC"), "p": [0.2, 0.4, 0.6, 0.8],
                          "clicked": pd.array([1, 0, None, None], dtype="Int64")} | change)
    frame.to_parquet(tmp_path / "bad.parquet", index=False)
    with pytest.raises(AggregateError, match=message) as raised:
        aggregate_production_with_duckdb(tmp_path / "bad.parquet", score_column="p", time_column="scored_at",
                                         label_column="clicked", bins=10)
    assert str(raised.value.location).endswith("bad.parquet") and raised.value.hint


def test_a_window_is_cut_from_a_time_or_named_by_a_column_never_both(production: tuple[Path, pd.DataFrame]) -> None:
    path, _ = production
    with pytest.raises(AggregateError, match="not both"):
        aggregate_production_with_duckdb(path, score_column="p", time_column="scored_at", window_column="batch")
    with pytest.raises(AggregateError, match="not neither"):
        aggregate_production_with_duckdb(path, score_column="p")
    with pytest.raises(AggregateError, match="window must be 'day' or 'week', not 'month'"):
        aggregate_production_with_duckdb(path, score_column="p", time_column="scored_at",
                                         window="month")  # type: ignore[arg-type]
    with pytest.raises(AggregateError, match=re.escape("the time column 'when' is not in scores.parquet; its "
                                                       "columns are 'scored_at', 'p', 'clicked', 'batch'")):
        aggregate_production_with_duckdb(path, score_column="p", time_column="when")


def test_the_python_api_writes_the_file_and_says_where_a_mistake_is(production: tuple[Path, pd.DataFrame],
                                                                     tmp_path: Path) -> None:
    path, _ = production
    made = storybook.aggregate_production(path, tmp_path / "windows.parquet", score="p", time="scored_at",
                                          window="week", label="clicked", bins=BINS, threads=2)
    cells, info = fmt.read_aggregate(made.path, kind="production")
    direct, direct_info = aggregate_production_with_duckdb(path, score_column="p", time_column="scored_at",
                                                           window="week", label_column="clicked", bins=BINS)
    assert info == direct_info and made.info == info and made.cells == len(direct) == len(cells)
    assert_same_cells(cells.astype({"window": "string", "label": "Int8"}), direct)
    with pytest.raises(ConfigError, match=r"should end in \.parquet") as raised:
        storybook.aggregate_production(path, tmp_path / "windows.csv", score="p", time="scored_at")
    assert raised.value.location is not None and raised.value.location.path.name == "test_production.py"
    with pytest.raises(ConfigError, match="would replace them"):
        storybook.aggregate_production(path, path, score="p", time="scored_at")
    with pytest.raises(AggregateError, match=r"the score column 'chance' is not in scores\.parquet") as missing:
        storybook.aggregate_production(path, tmp_path / "other.parquet", score="chance", time="scored_at")
    assert missing.value.location is not None and missing.value.location.path.name == "test_production.py"
    assert not (tmp_path / "other.parquet").exists()


# --- logging to MLflow ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def _database(tmp_path_factory: pytest.TempPathFactory) -> str:
    return tracking_uri(tmp_path_factory.mktemp("production-windows"))


@pytest.fixture
def store(_database: str) -> Iterator[str]:
    use_experiment(_database, "production-windows")
    yield _database


def _windows_file(folder: Path, frame: pd.DataFrame, name: str = "windows.parquet") -> tuple[Path, list[str]]:
    frame.to_parquet(folder / f"{name}.rows.parquet", index=False)
    cells, info = aggregate_production_with_duckdb(folder / f"{name}.rows.parquet", score_column="p",
                                                   time_column="scored_at", window="day", bins=BINS)
    return fmt.write_aggregate(cells, info, folder / name), list(info.windows)


def test_windows_are_logged_as_an_artifact_and_metric_histories(store: str, tmp_path: Path) -> None:
    import mlflow
    from mlflow.tracking import MlflowClient

    rng = np.random.default_rng(8)
    days = pd.to_datetime(["2026-11-02", "2026-11-03", "2026-11-05"], utc=True)  # no scores on 4 November
    frame = pd.DataFrame({"scored_at": np.repeat(days, [300, 200, 100]) + pd.Timedelta(hours=9),
                          "p": rng.beta(2, 5, 600)})
    path, _ = _windows_file(tmp_path, frame)
    with mlflow.start_run() as run:
        logged = storybook.log_production_windows(path)
    assert logged.windows == logged.new_windows == ("2026-11-02", "2026-11-03", "2026-11-05")
    client = MlflowClient(store, store)
    assert [a.path for a in client.list_artifacts(run.info.run_id, "production")] == ["production/windows.parquet"]
    fetched = Path(client.download_artifacts(run.info.run_id, "production/windows.parquet", str(tmp_path / "got")))
    assert fetched.read_bytes() == path.read_bytes()

    history = {key: client.get_metric_history(run.info.run_id, key) for key in logged.keys}
    assert set(history) == {"production_rows", "production_mean_score", "production_score_p10",
                            "production_score_p50", "production_score_p90"}
    starts = [int(datetime(2026, 11, d, tzinfo=UTC).timestamp() * 1000) for d in (2, 3, 5)]
    assert [m.timestamp for m in history["production_rows"]] == starts  # each reading at its day, the gap kept
    assert [m.value for m in history["production_rows"]] == [300, 200, 100]
    for metric, day in zip(history["production_mean_score"], days, strict=True):
        assert metric.value == pytest.approx(frame.loc[frame["scored_at"].dt.floor("D") == day, "p"].mean())
    for metric, day in zip(history["production_score_p50"], days, strict=True):
        exact = np.quantile(frame.loc[frame["scored_at"].dt.floor("D") == day, "p"], 0.5, method="inverted_cdf")
        assert abs(metric.value - exact) <= 1 / BINS

    # the next day's job logs a file holding every day so far: only the new day becomes a reading
    more = pd.concat([frame, pd.DataFrame({"scored_at": pd.Timestamp("2026-11-06 08:00", tz="UTC"),
                                           "p": rng.beta(2, 5, 50)})], ignore_index=True)
    later, _ = _windows_file(tmp_path, more, "later.parquet")
    again = storybook.log_production_windows(later, run_id=run.info.run_id, prefix="prod")
    assert again.new_windows == ("2026-11-02", "2026-11-03", "2026-11-05", "2026-11-06")  # a new prefix: all new
    third = storybook.log_production_windows(later, run_id=run.info.run_id)
    assert third.new_windows == ("2026-11-06",)
    rows = client.get_metric_history(run.info.run_id, "production_rows")
    assert [m.value for m in rows] == [300, 200, 100, 50] and [m.step for m in rows] == [1, 2, 3, 4]


def test_windows_that_are_not_dates_or_a_file_that_is_not_one_are_refused(store: str, tmp_path: Path) -> None:
    import mlflow

    pd.DataFrame({"p": [0.1, 0.2], "batch": ["first", "second"]}).to_parquet(tmp_path / "rows.parquet")
    cells, info = aggregate_production_with_duckdb(tmp_path / "rows.parquet", score_column="p",
                                                   window_column="batch", bins=10)
    path = fmt.write_aggregate(cells, info, tmp_path / "named.parquet")
    with mlflow.start_run(), pytest.raises(LoggingError, match="window 'first' is not named by a date") as raised:
        storybook.log_production_windows(path)
    assert raised.value.location is not None and raised.value.location.path.name == "test_production.py"
    with mlflow.start_run(), pytest.raises(LoggingError, match="not a storybook aggregate"):
        storybook.log_production_windows(tmp_path / "rows.parquet")
    dated, _ = _windows_file(tmp_path, pd.DataFrame({"scored_at": [pd.Timestamp("2026-11-02", tz="UTC")],
                                                     "p": [0.5]}))
    with pytest.raises(LoggingError, match="found no active MLflow run"):
        storybook.log_production_windows(dated)
    with pytest.raises(TrackingError, match=f"MLflow could not log the production windows to run {'0' * 32}: "):
        storybook.log_production_windows(dated, run_id="0" * 32)


def test_a_story_reads_the_logged_windows_in_its_guardrail_and_its_estimate(store: str, tmp_path: Path) -> None:
    """End to end on the real store: windows counted by DuckDB and logged with log_production_windows are what
    a story's guardrail judges (readings at each day) and what its estimate before labels reads (the file)."""
    import mlflow

    from storybook.analyse.story import analyse_story
    from storybook.resolve.mlflow_source import MlflowSource
    from storybook.sources.loader import load_story
    from tests.stores import story, write_project

    rng = np.random.default_rng(21)
    evaluation = rng.beta(1.4, 2.2, 1500)
    days = ["2026-11-02", "2026-11-03", "2026-11-04"]
    scores = [rng.beta(1.4, 2.2, 500), rng.beta(1.4, 2.2, 500), rng.beta(3.0, 2.0, 500)]  # day 3: scores jump
    rows = pd.DataFrame({"scored_at": np.repeat(pd.to_datetime(days, utc=True), 500) + pd.Timedelta(hours=12),
                         "p": np.concatenate(scores)})
    rows.to_parquet(tmp_path / "live.parquet", index=False)
    with mlflow.start_run() as run:
        storybook.log_scored_set(pd.DataFrame({"label": (rng.random(1500) < evaluation).astype(int),
                                               "score": evaluation}), label="label", score="score")
        mlflow.log_metric("recall", 0.7)
    made = storybook.aggregate_production(tmp_path / "live.parquet", tmp_path / "windows.parquet", score="p",
                                          time="scored_at")
    storybook.log_production_windows(made.path, run_id=run.info.run_id)

    root = Path(store.removeprefix("sqlite:///")).parent
    evaluation_keys = {"artifact": "evaluation/scored.csv", "label_column": "label", "score_column": "score",
                       "positive_value": "1", "threshold": 0.5, "unit": "patients", "positive_means": "have cancer",
                       "negative_means": "do not have cancer", "flagged_means": "sent for a biopsy"}
    trust = {"owner": "Screening team", "production_scores": "production/windows.parquet",
             "guardrails": [{"series": "production_mean_score", "name": "the average predicted chance",
                             "lower": 0.2, "upper": 0.5}]}
    told = story("m", "champion", [{"key": "recall", "label": "Cancers found", "kind": "recall"}], evaluation_keys,
                 trust=trust)
    told["model"] = {"run_id": run.info.run_id}
    write_project(root, {"windows-story": told})
    source = load_story(root, root / "stories" / "windows-story")
    analysis = analyse_story(source, MlflowSource(store, root / ".cache").resolve(source))

    assert analysis.trust is not None
    guarded = analysis.trust.guarded[0].series
    assert [p.value for p in guarded.points] == pytest.approx([float(s.mean()) for s in scores], rel=1e-12)
    assert [p.timestamp_ms for p in guarded.points] == [
        int(pd.Timestamp(day, tz="UTC").timestamp() * 1000) for day in days]
    verdicts = [e for level in analysis.trust.levels for e in level.evidence if e.check == "system.guardrails"]
    assert len(verdicts) == 1 and verdicts[0].passed is False
    assert verdicts[0].sentence == ("The average predicted chance first broke its guardrails (0.20 to 0.50) on 4 "
                                    f"November 2026, reading {scores[2].mean():.2f}; 1 of 3 readings were outside.")

    estimate = analysis.estimate
    assert estimate is not None and estimate.report is not None
    windows = estimate.report.windows
    assert [w.window for w in windows] == days and [w.cases for w in windows] == [500, 500, 500]
    for window, day_scores in zip(windows, scores, strict=True):
        assert window.expected.tp == pytest.approx(day_scores[day_scores >= 0.5].sum(), abs=1e-9)
        assert window.expected.fn == pytest.approx(day_scores[day_scores < 0.5].sum(), abs=1e-9)
