"""Resolve a registered model's history: every version, its run's headline figures, and the alias moves.

Reads, in a fixed number of requests whatever the number of versions: the registered model (its current
aliases and the ``storybook.alias.*`` tags a promotion step wrote, see :mod:`storybook.resolve.alias_tags`)
and the versions' runs through the source's batch reader (one ``search_runs`` for the runs it has not read yet).
The scored evaluation sets of the versions the story names (its own, and the one it compares with) are read
too (one artifact per version, cached), so their figures get ranges; ``history.scored_sets: true`` reads every
shown version's, ``false`` none.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd

from storybook.errors import Location, SourceError
from storybook.metrics.multiclass import MulticlassScores
from storybook.metrics.regression import RegressionScores
from storybook.resolve.alias_tags import alias_events
from storybook.resolve.resolved import HistoryVersion, ModelHistory, ModelVersionRecord, Provenance, ResolvedRun
from storybook.resolve.scored import AnyScoredSet, ScoredSet, checked_columns, task_set
from storybook.resolve.scored_columns import missing_column
from storybook.sources.loader import StorySource

if TYPE_CHECKING:
    from storybook.resolve.reader import MlflowReader

__all__ = ["resolve_history"]

def resolve_history(source: MlflowReader, story: StorySource, run: ResolvedRun,
                    versions: tuple[ModelVersionRecord, ...], *, known: dict[str, AnyScoredSet] | None = None,
                    ) -> ModelHistory | None:
    """The story's model history, or None when the story does not ask for one. ``known`` holds the scored sets
    checked already (the story's version's, the compared version's), by run id: reused, not read again."""
    spec = story.config.history
    name = story.config.model.name
    if spec is None or name is None:
        return None
    location = story.yaml.location(("history",))
    keys = spec.metrics or [m.key for m in story.config.metrics]
    evaluation = story.config.evaluation
    with source.reading(story, location):
        registered = source.client.get_registered_model(name)
        tags = {str(k): str(v) for k, v in (getattr(registered, "tags", None) or {}).items()}
        aliases = {str(a): int(v) for a, v in (getattr(registered, "aliases", None) or {}).items()}
        shown = sorted(versions, key=lambda v: v.version)[-spec.last:]
        runs = _runs(source, [v.run_id for v in shown if v.run_id])
        entries = []
        for version in shown:
            found = runs.get(version.run_id)
            metrics = dict(found.data.metrics) if found is not None else {}
            params = {str(k): str(v) for k, v in (found.data.params if found is not None else {}).items()}
            entries.append(HistoryVersion(
                model=version, run_name=(found.info.run_name or version.run_id) if found is not None else "",
                run_start_ms=int(found.info.start_time or 0) if found is not None else 0,
                metrics={k: float(metrics[k]) for k in keys if k in metrics}
                | _count_metrics(story, metrics),
                params=params, threshold=_threshold(story, params)))
        scored = None
        # A story told from an aggregate has no row-level sets to give ranges from (its sample is not the set).
        if spec.scored_sets is not False and evaluation is not None and evaluation.artifact is not None \
                and evaluation.aggregate is None:
            artifact_location = story.yaml.location(("evaluation", "artifact"))
            named = _named_versions(story, versions, aliases)
            read = [v for v in shown if v.run_id in runs and (spec.scored_sets or v.version in named)]
            scored = _scored_sets(source, story, read, artifact_location, known=known)
    return ModelHistory(name=name, versions=tuple(entries), events=alias_events(tags), aliases=aliases,
                        provenance=Provenance(source.shown_uri, run.run_id, "registry", name), scored=scored)


def _named_versions(story: StorySource, versions: tuple[ModelVersionRecord, ...], aliases: dict[str, int],
                    ) -> set[int]:
    """The versions the story names: its own and the one it compares with (history or trust compare_with).

    Only their scored sets are read unless ``history.scored_sets: true`` asks for every shown version's: a
    version nobody named (anyone who can write to the tracking server can register one) is not read without
    the story saying so.
    """
    config = story.config
    ref = config.model
    named = {ref.version} if ref.version is not None else set()
    for alias in (ref.alias, config.history.compare_with if config.history is not None else None,
                  config.trust.model.compare_with if config.trust is not None else None):
        if alias is not None and alias in aliases:
            named.add(aliases[alias])
        elif alias is not None:
            named.update(v.version for v in versions if alias in v.aliases)
    return {number for number in named if number is not None}


def _runs(source: MlflowReader, run_ids: list[str]) -> dict[str, Any]:
    """The versions' runs by id, through the source's batch reader: the runs it has read already cost nothing,
    the others one search_runs (per 500 ids) over all experiments."""
    return source.runs(sorted(set(run_ids)))


def _count_metrics(story: StorySource, metrics: dict[str, Any]) -> dict[str, float]:
    """The confusion-count metrics, when the story reads its evaluation from counts (for ranges)."""
    evaluation = story.config.evaluation
    if evaluation is None or evaluation.counts is None:
        return {}
    keys = [getattr(evaluation.counts, n) for n in ("tp", "fp", "tn", "fn")]
    return {k: float(metrics[k]) for k in keys if k in metrics}


def _threshold(story: StorySource, params: dict[str, str]) -> float | None:
    evaluation = story.config.evaluation
    if evaluation is None:
        return None
    if evaluation.threshold is not None:
        return evaluation.threshold
    try:
        return float(params[str(evaluation.threshold_param)])
    except (KeyError, ValueError):
        return None


def _scored_sets(source: MlflowReader, story: StorySource, versions: list[ModelVersionRecord],
                 location: Location, *, known: dict[str, AnyScoredSet] | None = None) -> pd.DataFrame | None:
    """Each version's scored evaluation set, reduced to what ranges need: version, positive (0/1), score, and
    case_id when the story declares ``evaluation.id_column`` (to compare two versions case by case)."""
    evaluation = story.config.evaluation
    assert evaluation is not None and evaluation.artifact is not None
    frames = []
    for version in versions:
        checked = (known or {}).get(version.run_id)
        if checked is not None:  # the story's own version: read and checked once already
            frame = checked.frame
            reduced = _reduced(checked, version)
        else:
            frame = source.evaluation_table(version.run_id, evaluation.artifact, location)
        if checked is not None:
            pass
        elif story.config.task != "binary":
            try:
                reduced = _task_rows(story, frame, version)
            except SourceError as error:
                if len(versions) < 2:
                    raise
                hint = ((error.hint + "; ") if error.hint else "") + (
                    "every version the history shows needs the same columns (or set history.scored_sets: false)")
                raise SourceError(error.message, location=error.location, hint=hint) from None
        else:
            for key, column in (("label_column", evaluation.label_column),
                                ("score_column", evaluation.score_column)):
                if column not in frame.columns:
                    raise _missing_column(story, version, frame, key, column, shown=len(versions))
            positive, scores = checked_columns(story, frame, which=f"version {version.version}")  # two labels
            reduced = pd.DataFrame({"version": version.version, "positive": positive.astype(int), "score": scores})
        if evaluation.id_column is not None:   # to pair two versions' cases (missing: never paired)
            reduced["case_id"] = (frame[evaluation.id_column].astype("string").to_numpy()
                                  if evaluation.id_column in frame.columns else pd.NA)
        frames.append(reduced)
    return pd.concat(frames, ignore_index=True) if frames else None


def _task_rows(story: StorySource, frame: pd.DataFrame, version: ModelVersionRecord) -> pd.DataFrame:
    """A multiclass or regression version's checked set, reduced to what ranges need: version and, for a
    regression, actual, predicted (and lower, upper when logged); for a multiclass set, truth and predicted (class
    indices in the story's order) and chance_<i> for each class when the run logged chances."""
    return _reduced(task_set(story, frame, {}, version.run_id, which=f"version {version.version}"), version)


def _reduced(checked: AnyScoredSet, version: ModelVersionRecord) -> pd.DataFrame:
    """A checked set reduced to what the history's ranges need (see :func:`_task_rows`; binary: positive as 0/1
    and score)."""
    if isinstance(checked, ScoredSet):
        return pd.DataFrame({"version": version.version, "positive": checked.labels.astype(int),
                             "score": checked.scores})
    scores = checked.scores
    if isinstance(scores, RegressionScores):
        columns: dict[str, object] = {"actual": scores.actual, "predicted": scores.predicted}
        if scores.lower is not None and scores.upper is not None:
            columns |= {"lower": scores.lower, "upper": scores.upper}
    else:
        assert isinstance(scores, MulticlassScores)
        columns = {"truth": scores.truth, "predicted": scores.predicted}
        if scores.probabilities is not None:
            columns |= {f"chance_{i}": scores.probabilities[:, i] for i in range(scores.k)}
    return pd.DataFrame({"version": version.version, **columns})


def _missing_column(story: StorySource, version: ModelVersionRecord, frame: pd.DataFrame, key: str, column: str,
                    *, shown: int) -> SourceError:
    """The located error for a version's scored set without the story's label or score column."""
    evaluation = story.config.evaluation
    assert evaluation is not None
    error = missing_column(story, frame, (key,), column,
                           f"the evaluation set {evaluation.artifact!r} of version {version.version}")
    if shown > 1:
        return SourceError(error.message, location=error.location, hint=f"{error.hint}; every version the history "
                           "shows needs the same columns (or set history.scored_sets: false)")
    return error
