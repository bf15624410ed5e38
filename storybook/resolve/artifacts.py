"""Run artifacts as local files: downloaded once per (run, path) into the cache, or read where they are.

A run whose artifacts are a folder on this machine (a sqlite or file store) is read in place: nothing to download.
Otherwise the file is downloaded straight from the run's artifact URI (no ``runs:/`` lookup, which costs a
``runs/get`` and a ``logged-models/search`` per file) into ``<cache>/artifacts/<key>/<name>``, through a
temporary folder and an atomic rename, so no reader ever sees half a file. A cached file costs no request. Two
needs of one file, in two threads or two builds at once, download it once: the other waits on a lock and reads
the cached copy. A download that failed during a prefetch is remembered and told at each story's own location.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import tempfile
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import Any

from storybook.errors import Location, ReferenceNotFound, SourceError, StorybookError
from storybook.resolve.tracking import artifact_refusal, display_uri

__all__ = ["ARTIFACT_LOCATION_HINT", "DOWNLOAD_THREADS", "ArtifactFiles"]

DOWNLOAD_THREADS = 4
ARTIFACT_LOCATION_HINT = ("ask who logged the run why its artifacts are there (anyone who can write to the "
                          "tracking server can set an experiment's artifact location); if that store is your "
                          "team's, list it under artifact_locations in storybook.yaml")


class ArtifactFiles:
    """The artifacts of runs at one tracking URI, as files. ``run(run_id)`` gives the MLflow run (or None).

    Artifacts are read only where :func:`~storybook.resolve.tracking.artifact_refusal` allows (the tracking
    server, or this machine for a local store, or a location in ``allowed``); a run whose artifact location
    is elsewhere fails with a located error before any request goes there. A file in a local artifact folder
    must resolve inside the run's folder: a symlink out of it is refused.
    """

    def __init__(self, uri: str, cache_dir: Path, run: Callable[[str], Any | None],
                 allowed: tuple[str, ...] = ()) -> None:
        self.uri = uri
        self.allowed = allowed
        self.shown_uri = display_uri(uri)
        self.cache_dir = cache_dir
        self._run = run
        self._repositories: dict[str, Any] = {}
        self._failures: dict[tuple[str, str], Exception] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._locks_guard = threading.Lock()
        # When a list: every local file :meth:`path` gives is added to it (what one story read, for the freshness
        # probe: storybook.resolve.freshness).
        self.noted: list[Path] | None = None

    def prefetch(self, needed: list[tuple[str, str]]) -> None:
        """Fetch each (run id, path) once, a few at a time; failures are kept for :meth:`path` to raise. A run
        whose artifacts are a folder here has nothing to fetch: its files are read in place when asked for."""
        missing = [key for key in dict.fromkeys(needed)
                   if not self._in_place(key[0]) and not self._cache_path(*key).is_file()]
        if len(missing) > 1:
            with ThreadPoolExecutor(DOWNLOAD_THREADS, thread_name_prefix="storybook-artifacts") as pool:
                list(pool.map(lambda key: self._prefetch_one(*key), missing))
        elif missing:
            self._prefetch_one(*missing[0])

    def _prefetch_one(self, run_id: str, artifact: str) -> None:
        try:
            self.path(run_id, artifact, None)
        except Exception as exc:  # remembered: the stories that need it fail with their own location
            self._failures[(run_id, artifact)] = exc

    def path(self, run_id: str, artifact: str, location: Location | None) -> Path:
        """The artifact as a local file (see the module docstring); located errors when it cannot be had."""
        found = self._path(run_id, artifact, location)
        if self.noted is not None:
            self.noted.append(found)
        return found

    def _path(self, run_id: str, artifact: str, location: Location | None) -> Path:
        pure = PurePosixPath(artifact)
        if pure.is_absolute() or ".." in pure.parts or not pure.parts:
            raise SourceError(f"artifact path {artifact!r} must be relative to the run, without '..'",
                              location=location)
        cached = self._cache_path(run_id, artifact)
        if cached.is_file():
            return cached
        failure = self._failures.get((run_id, artifact))
        if failure is not None:
            raise _located(failure, location)
        local = self._local_file(run_id, pure, location)
        if local is not None:
            return local
        with self._lock(cached.parent.name), _file_lock(cached.parent.with_name(cached.parent.name + ".lock")):
            if not cached.is_file():
                self._download(run_id, pure, cached, location)
        return cached

    def _cache_path(self, run_id: str, artifact: str) -> Path:
        key = hashlib.sha256(json.dumps([self.shown_uri, run_id, artifact]).encode()).hexdigest()[:24]
        return self.cache_dir / "artifacts" / key / PurePosixPath(artifact).name

    def _in_place(self, run_id: str) -> bool:
        """Whether the run's artifacts are a folder on this machine (False when that cannot be told now: the
        download path then finds and remembers what is wrong)."""
        try:
            return self._local_root(run_id, None) is not None
        except Exception:
            return False

    def _local_root(self, run_id: str, location: Location | None) -> Path | None:
        run = self._run(run_id)
        if run is None:
            return None
        from mlflow.store.artifact.local_artifact_repo import LocalArtifactRepository

        repository = self._repository(run_id, run.info.artifact_uri, location)
        return Path(repository.artifact_dir) if isinstance(repository, LocalArtifactRepository) else None

    def _local_file(self, run_id: str, pure: PurePosixPath, location: Location | None) -> Path | None:
        root = self._local_root(run_id, location)
        if root is None:
            return None
        path = root / pure
        kind = _kind_below(root, pure)
        if kind == "link" and (path.exists() or path.is_symlink()) \
                and not path.resolve().is_relative_to(root.resolve()):
            raise SourceError(f"artifact {str(pure)!r} of run {run_id} is a link to a file outside the run's "
                              "artifact folder; storybook does not follow it", location=location,
                              hint="log the file itself as the artifact, not a symlink to it")
        return path if kind == "file" or (kind == "link" and path.is_file()) else None

    def _download(self, run_id: str, pure: PurePosixPath, cached: Path, location: Location | None) -> None:
        run = self._run(run_id)
        if run is None:
            raise ReferenceNotFound(f"run {run_id} does not exist at {self.shown_uri}", location=location,
                                    hint="check the run id in the MLflow UI")
        from mlflow.exceptions import MlflowException

        repository = self._repository(run_id, run.info.artifact_uri, location)
        artifact = str(pure)
        cached.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix=".download-", dir=cached.parent.parent) as temp:
            try:
                downloaded = Path(repository.download_artifacts(artifact, temp))
            except (MlflowException, OSError) as exc:
                if isinstance(exc, OSError) or not_found(exc):
                    listed = [f.path for f in repository.list_artifacts(str(pure.parent))
                              if pure.parent.parts] or [f.path for f in repository.list_artifacts()]
                    raise ReferenceNotFound(
                        f"run {run_id} has no artifact {artifact!r}", location=location,
                        hint=f"artifacts there: {', '.join(listed) or 'none'}",
                    ) from None
                raise
            if not downloaded.is_file():
                raise ReferenceNotFound(f"artifact {artifact!r} of run {run_id} is a folder, not a file",
                                        location=location)
            os.replace(downloaded, cached)

    def _repository(self, run_id: str, artifact_uri: str, location: Location | None) -> Any:
        refusal = artifact_refusal(artifact_uri, self.uri, self.allowed)
        if refusal is not None:
            raise SourceError(f"run {run_id} keeps its artifacts where storybook does not read them: {refusal}",
                              location=location, hint=ARTIFACT_LOCATION_HINT)
        if artifact_uri not in self._repositories:
            from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository

            self._repositories[artifact_uri] = get_artifact_repository(artifact_uri, tracking_uri=self.uri)
        return self._repositories[artifact_uri]

    def _lock(self, key: str) -> threading.Lock:
        with self._locks_guard:
            return self._locks.setdefault(key, threading.Lock())


@contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    """An exclusive lock on ``path`` (created if need be) between processes; a no-op without fcntl."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        yield
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+b") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _kind_below(root: Path, pure: PurePosixPath) -> str:
    """What ``root / pure`` is, looking only at the parts below ``root`` (``pure`` has no '..'): "file" (a regular
    file, reached through no link, so inside ``root`` wherever ``root`` itself leads), "link" (some part is a
    symbolic link: where it leads must be checked), or "other" (missing, or not a regular file)."""
    path, mode = root, 0
    for part in pure.parts:
        path = path / part
        try:
            mode = os.lstat(path).st_mode
        except OSError:
            return "other"
        if stat.S_ISLNK(mode):
            return "link"
    return "file" if stat.S_ISREG(mode) else "other"


def _located(error: Exception, location: Location | None) -> Exception:
    """A remembered error, told at this story's location (a prefetched read has none of its own)."""
    if isinstance(error, StorybookError) and location is not None and error.location is None:
        return type(error)(error.message, location=location, hint=error.hint)
    return error


def not_found(exc: Exception) -> bool:
    """Whether an MlflowException says the thing asked for is not there."""
    code = str(getattr(exc, "error_code", ""))
    return "RESOURCE_DOES_NOT_EXIST" in code or "NOT_FOUND" in code or "INVALID_PARAMETER_VALUE" in code
