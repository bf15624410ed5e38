"""The one door to a project's data: :func:`open_source` decides, for every command, where a story's figures
come from.

- A story with a pinned snapshot (``stories/<slug>/snapshot.json``) resolves from it, with no MLflow at all.
- A story without one resolves against the project's tracking server, opened only when a story needs it.
- ``offline=True`` never opens MLflow: a story without a snapshot fails with the located "run storybook pin"
  error.

``storybook pin`` and ``storybook check --online`` read MLflow even for pinned stories; they take
:attr:`ProjectSource.mlflow`, built here like every other reader of the tracking server. Downloaded artifacts
and rendered pages live under one cache folder, :data:`CACHE_DIR`.

Commands that need to know more than "the story's figures" ask here too, never the snapshot module or the file
system: :func:`is_pinned` (does the story read its snapshot?), :func:`pinned_hash` (which snapshot?),
:func:`resolve_pinned` (its pinned figures, checked against story.yaml: what a worker process reads for a pinned
story) and :func:`read_pinned` (the pinned figures as written, even when story.yaml has moved on: what ``diff``
compares and ``check`` looks names up in); :func:`read_snapshot_file` reads a snapshot file named by its path.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from storybook.files import CACHE_DIR, SNAPSHOT_FILE
from storybook.sources.loader import BrokenStory, Project, StorySource

if TYPE_CHECKING:
    from mlflow.tracking import MlflowClient

    from storybook.resolve.mlflow_source import MlflowSource
    from storybook.resolve.resolved import ResolvedStory
    from storybook.resolve.snapshot import SnapshotSource

__all__ = ["CACHE_DIR", "ProjectSource", "Source", "bounded_client", "cache_dir", "is_pinned", "open_source",
           "pinned_hash", "read_pinned", "read_snapshot_file", "resolve_pinned"]


def cache_dir(root: Path) -> Path:
    """The project's cache folder."""
    return root / CACHE_DIR


def is_pinned(directory: Path) -> bool:
    """Whether the story in ``directory`` has a pinned snapshot: then every command reads its figures from it."""
    return (directory / SNAPSHOT_FILE).is_file()


def resolve_pinned(story: StorySource) -> ResolvedStory:
    """The story's pinned figures, checked against what story.yaml asks for; the located "run storybook pin"
    error when it has no snapshot, and a located error when the snapshot is unreadable or out of date."""
    from storybook.resolve.snapshot import SnapshotSource

    return SnapshotSource().resolve(story)


def pinned_hash(directory: Path) -> str | None:
    """The sha256 of the story's snapshot file, shown in the provenance appendix; None when it is not pinned."""
    snapshot = directory / SNAPSHOT_FILE
    return hashlib.sha256(snapshot.read_bytes()).hexdigest() if snapshot.is_file() else None


def read_pinned(story: StorySource) -> ResolvedStory:
    """The story's pinned figures as the snapshot holds them, even when story.yaml now asks for others; a
    located error when it has no snapshot or the snapshot cannot be read."""
    from storybook.resolve.snapshot import load_snapshot

    return load_snapshot(story.directory, story.slug)[1]


def read_snapshot_file(path: Path) -> ResolvedStory:
    """The figures a snapshot file holds, its tables read from beside it (``storybook diff old.json new.json``)."""
    from storybook.resolve.snapshot import load_snapshot

    return load_snapshot(path.parent, path.parent.name, path=path)[1]


class Source(Protocol):
    """Where stories' figures come from: MlflowSource, SnapshotSource and ProjectSource all resolve this way."""

    def resolve(self, story: StorySource) -> ResolvedStory: ...


class ProjectSource:
    """The snapshot when a story has one, MLflow otherwise (opened only when a story needs it)."""

    def __init__(self, project: Project, *, offline: bool) -> None:
        self.project = project
        self.offline = offline
        self._mlflow: MlflowSource | None = None
        self._snapshots: SnapshotSource | None = None

    def resolve(self, story: StorySource) -> ResolvedStory:
        if self.offline or is_pinned(story.directory):
            return self.snapshots.resolve(story)  # without a snapshot: the located "run storybook pin" error
        return self.mlflow.resolve(story)

    def resolve_live(self, story: StorySource) -> tuple[ResolvedStory, list[Path]]:
        """The story resolved from MLflow, with the local files that resolving it read: its artifacts, and the
        downloaded model whose permutation drops it tells (what the freshness probe watches)."""
        from storybook.resolve.drivers_cache import model_folder

        if self.offline or is_pinned(story.directory):
            return self.resolve(story), []
        mlflow = self.mlflow
        noted: list[Path] = []
        mlflow.artifacts.noted = noted
        try:
            resolved = mlflow.resolve(story)
        finally:
            mlflow.artifacts.noted = None
        drivers = resolved.drivers
        if drivers is not None and drivers.origin == "model":
            noted.append(model_folder(mlflow.cache_dir, mlflow.shown_uri, drivers.provenance.key))
        return resolved, noted

    def prefetch(self, stories: Iterable[StorySource | BrokenStory]) -> None:
        """Batched MLflow reads for the stories without a snapshot; none (and no mlflow import) if all have one."""
        live = [s for s in stories if isinstance(s, StorySource) and not is_pinned(s.directory)]
        if live and not self.offline:
            self.mlflow.prefetch(live)

    @property
    def snapshots(self) -> SnapshotSource:
        """The pinned snapshots' reader (imported on first use: a build whose pages are all cached reads none)."""
        if self._snapshots is None:
            from storybook.resolve.snapshot import SnapshotSource

            self._snapshots = SnapshotSource()
        return self._snapshots

    @property
    def mlflow(self) -> MlflowSource:
        """The project's tracking server, as storybook.yaml describes it (opened on first use)."""
        if self._mlflow is None:
            from storybook.resolve.mlflow_source import MlflowSource
            from storybook.resolve.tracking import refuse_missing_store, tracking_uri

            config = self.project.config
            uri = tracking_uri(config.tracking_uri, self.project.root)
            refuse_missing_store(uri, config.tracking_uri, self.project.root)  # MLflow would create an empty one
            self._mlflow = MlflowSource(uri,
                                        cache_dir=cache_dir(self.project.root),
                                        artifact_locations=config.artifact_locations,
                                        timeout=config.tracking_timeout, retries=config.tracking_retries)
        return self._mlflow



@contextmanager
def bounded_client(root: Path, uri: str, timeout: int | None, retries: int | None) -> Iterator[MlflowClient]:
    """An MLflow client at ``uri`` for a command that writes to MLflow (``promote``), within the bounds every read
    has: ``timeout`` seconds per answer, ``retries`` more tries, and the notice when a server is slow to answer."""
    from storybook.resolve.mlflow_source import MlflowSource

    source = MlflowSource(uri, cache_dir(root), timeout=timeout, retries=retries)
    with source.bounded():
        yield source.client

def open_source(project: Project, *, offline: bool = False) -> ProjectSource:
    """The project's source of figures for every command (see the module's docstring)."""
    return ProjectSource(project, offline=offline)
