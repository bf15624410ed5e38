"""Pinned values: a story's resolved MLflow data written to ``snapshot.json``, and read back without MLflow.

A snapshot is to a story what a lockfile is to a package: ``storybook pin`` writes it, builds read it, and a
change to it is a reviewable diff. The file is stable and diff-friendly (sorted keys, indent 2, floats as
``repr`` so they round-trip) and serialises :class:`ResolvedStory` generically, by walking the fields of its
frozen dataclasses: a field added to ``resolved.py`` is pinned without touching this module. A pandas
DataFrame field is written as a CSV file beside the snapshot (``snapshot/<field>.csv``), referenced from the
JSON by its sha256, which is verified on every read.

Nothing here imports mlflow.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import math
import os
import re
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import pandas as pd

from storybook.errors import Location, ReferenceNotFound, SourceError
from storybook.files import SNAPSHOT_DIR, SNAPSHOT_FILE, FileTooLarge, csv_text, file_mode, read_at_most
from storybook.resolve.readings import check_figures, check_readings
from storybook.resolve.resolved import ResolvedStory
from storybook.sources.loader import StorySource
from storybook.typed_json import NOT_MINE, Mismatch, decode, stored_fields

__all__ = [
    "FORMAT_VERSION",
    "SNAPSHOT_DIR",
    "SNAPSHOT_FILE",
    "SnapshotChange",
    "SnapshotSource",
    "atomic_write",
    "decode_resolved",
    "encode_resolved",
    "flatten",
    "has_snapshot",
    "line_of",
    "load_snapshot",
    "snapshot_files",
    "snapshot_path",
    "write_snapshot",
]

FORMAT_VERSION = 1
MAX_SNAPSHOT_BYTES = 50 * 1024 * 1024
MAX_TABLE_BYTES = 512 * 1024 * 1024  # a pinned table (e.g. the scored set): the same cap as reading it from MLflow
_FIX = "run `storybook pin --story {slug}` to write it again from MLflow (and review the diff)"


def snapshot_path(story_dir: Path) -> Path:
    return story_dir / SNAPSHOT_FILE


def has_snapshot(story_dir: Path) -> bool:
    return snapshot_path(story_dir).is_file()


def snapshot_files(story_dir: Path) -> list[Path]:
    """The snapshot and the CSV files it references (those that exist), for hashing and review."""
    files = [snapshot_path(story_dir)] if has_snapshot(story_dir) else []
    folder = story_dir / SNAPSHOT_DIR
    if folder.is_dir():
        files.extend(sorted(p for p in folder.iterdir() if p.suffix == ".csv" and p.is_file()))
    return files


# -- writing ------------------------------------------------------------------------------------------------


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` all at once: a temp file in the same folder, fsync, then os.replace."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(handle, file_mode())  # mkstemp's 0600 would make the snapshot private
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    try:
        folder = os.open(path.parent, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory fds
        return
    try:
        os.fsync(folder)
    finally:
        os.close(folder)


def _float(value: float) -> float | str:
    """Finite floats stay numbers (json writes them with repr); NaN and infinities become strings."""
    if math.isfinite(value):
        return value
    return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")


def encode_resolved(resolved: ResolvedStory, write_frame: Callable[[str, pd.DataFrame], dict[str, Any]],
                    scrub: Callable[[str], str] = lambda text: text) -> Any:
    """Plain JSON data for ``resolved``; each DataFrame is handed to ``write_frame(field_path, frame)``."""

    def encode(value: Any, where: str) -> Any:
        if value is None or isinstance(value, bool):
            return value
        if isinstance(value, int):
            return value
        if isinstance(value, float):
            return _float(value)
        if isinstance(value, str):
            return scrub(value)
        if isinstance(value, pd.DataFrame):
            return write_frame(where, value)
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            return {f.name: encode(getattr(value, f.name), f"{where}.{f.name}" if where else f.name)
                    for f in stored_fields(value)}
        if isinstance(value, dict):
            return {str(k): encode(v, f"{where}.{k}") for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [encode(item, f"{where}.{index}") for index, item in enumerate(value)]
        raise TypeError(f"cannot pin a value of type {type(value).__name__} at {where}")

    return encode(resolved, "")


def _frame_csv(frame: pd.DataFrame) -> bytes:
    return csv_text(frame).encode("utf-8")


@dataclass(frozen=True)
class SnapshotChange:
    """What ``pin`` changed: dotted paths of the snapshot, with old and new values (None when absent)."""

    path: Path
    created: bool
    changes: tuple[tuple[str, Any, Any], ...]

    @property
    def changed(self) -> bool:
        return self.created or bool(self.changes)


def write_snapshot(story: StorySource, resolved: ResolvedStory, *, source: str,
                   scrub: Callable[[str], str] = lambda text: text) -> SnapshotChange:
    """Write ``stories/<slug>/snapshot.json`` (and its CSV files) for ``resolved``; say what changed.

    ``source`` is the tracking URI as it may be shown (no credentials); ``scrub`` removes any secret from
    the strings that are written.
    """
    target = snapshot_path(story.directory)
    _refuse_links(story.directory)
    old: Any = None
    if target.is_file():
        try:
            old = json.loads(target.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            old = None
    frames: dict[str, bytes] = {}

    def write_frame(where: str, frame: pd.DataFrame) -> dict[str, Any]:
        data = _frame_csv(frame)
        name = f"{SNAPSHOT_DIR}/{_file_name(where)}.csv"
        if name in frames:  # two field paths that read the same once made safe
            name = f"{SNAPSHOT_DIR}/{_file_name(where)}-{hashlib.sha256(where.encode()).hexdigest()[:8]}.csv"
        frames[name] = data
        return {
            "csv": name,
            "sha256": hashlib.sha256(data).hexdigest(),
            "rows": len(frame),
            "columns": {str(column): str(dtype) for column, dtype in frame.dtypes.items()},
            "column_order": [str(column) for column in frame.columns],
        }

    document = {
        "format": FORMAT_VERSION,
        "written_by": "storybook pin",
        "story": story.slug,
        "source": scrub(source),
        "model": story.config.model.describe(),
        "resolved": encode_resolved(resolved, write_frame, scrub),
    }
    text = json.dumps(document, sort_keys=True, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
    for name, data in sorted(frames.items()):
        atomic_write(story.directory / name, data)
    atomic_write(target, text.encode("utf-8"))
    # CSV files of fields that are gone would be hashed into sign-offs and confuse reviewers.
    folder = story.directory / SNAPSHOT_DIR
    if folder.is_dir():
        for stale in folder.glob("*.csv"):
            if f"{SNAPSHOT_DIR}/{stale.name}" not in frames:
                stale.unlink()
    new = json.loads(text)
    changes = _changes(flatten(old.get("resolved")) if isinstance(old, dict) else {},
                       flatten(new["resolved"])) if old is not None else ()
    return SnapshotChange(path=target, created=old is None, changes=tuple(changes))


def _refuse_links(story_dir: Path) -> None:
    """Refuse to pin through a link: a ``snapshot/`` link (one a pull request adds) would have the tables written
    into, and every other CSV file deleted from, a folder outside the project; a ``snapshot.json`` link outside
    the story is refused when read, so it is refused here too."""
    folder = story_dir / SNAPSHOT_DIR
    if folder.is_symlink() or (folder.exists() and not folder.resolve().is_relative_to(story_dir.resolve())):
        raise SourceError(f"{SNAPSHOT_DIR}/ is a link; storybook writes a snapshot's tables only into a folder of "
                          "the story", location=Location(folder),
                          hint="delete the link; `storybook pin` makes the folder")
    target = snapshot_path(story_dir)
    if target.is_symlink() and not target.resolve().is_relative_to(story_dir.resolve()):
        raise SourceError(f"{SNAPSHOT_FILE} is a link to a file outside the story folder; storybook does not "
                          "follow it", location=Location(target), hint="delete the link, then pin again")


def _file_name(where: str) -> str:
    """A field path (``evaluation``, ``tables.data/train.csv``) as one safe file name."""
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "-", where).strip(".-") or "table"
    safe = re.sub(r"\.csv$", "", safe)
    return safe[:100]


def flatten(data: Any, prefix: str = "") -> dict[str, Any]:
    """``{"run": {"metrics": {"x": 1}}}`` → ``{"run.metrics.x": 1}``; lists by index."""
    flat: dict[str, Any] = {}
    if isinstance(data, dict):
        if "csv" in data and "sha256" in data:  # a DataFrame: its content is its hash
            flat[prefix] = f"{data['csv']} (sha256 {str(data['sha256'])[:12]}, {data.get('rows')} rows)"
            return flat
        for key, value in data.items():
            flat.update(flatten(value, f"{prefix}.{key}" if prefix else str(key)))
    elif isinstance(data, list) and data:
        for index, value in enumerate(data):
            flat.update(flatten(value, f"{prefix}.{index}" if prefix else str(index)))
    else:
        flat[prefix] = data
    return flat


def _changes(old: dict[str, Any], new: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    return [(key, old.get(key), new.get(key)) for key in sorted(set(old) | set(new))
            if old.get(key) != new.get(key)]


# -- reading ------------------------------------------------------------------------------------------------


_Malformed = Mismatch  # raised while decoding; turned into a located SourceError by the caller


def load_snapshot(story_dir: Path, slug: str | None = None, *,
                  path: Path | None = None) -> tuple[dict[str, Any], ResolvedStory]:
    """Read and verify ``story_dir/snapshot.json`` (or ``path``, whose tables are read from ``story_dir``):
    its document and the ResolvedStory it pins."""
    slug = slug or story_dir.name
    fix = _FIX.format(slug=slug)
    if path is None:
        path = snapshot_path(story_dir)
        if (path.exists() or path.is_symlink()) and not path.resolve().is_relative_to(story_dir.resolve()):
            raise SourceError("snapshot.json is a link to a file outside the story folder; storybook does not "
                              "follow it", location=Location(path),
                              hint=f"replace the link with the file itself, or {fix}")
    try:
        raw = read_at_most(path, MAX_SNAPSHOT_BYTES)  # its size is checked before it is read
    except FileNotFoundError:
        raise SourceError("this story has no pinned snapshot", location=Location(path),
                          hint=f"run `storybook pin --story {slug}` while MLflow is reachable") from None
    except FileTooLarge as exc:
        raise SourceError(f"the snapshot is {exc.size:,} bytes, more than {MAX_SNAPSHOT_BYTES:,}",
                          location=Location(path), hint=fix) from None
    except OSError as exc:
        raise SourceError(f"cannot read the snapshot ({exc.strerror or exc})", location=Location(path),
                          hint=fix) from None
    try:
        document = json.loads(raw.decode("utf-8"), parse_constant=_refuse_constant)
    except UnicodeDecodeError as exc:
        raise SourceError(f"the snapshot is not valid UTF-8 (byte {exc.start})",
                          location=Location(path, raw.count(b"\n", 0, exc.start) + 1), hint=fix) from None
    except json.JSONDecodeError as exc:
        raise SourceError(f"the snapshot is not valid JSON: {exc.msg}", location=Location(path, exc.lineno),
                          hint=fix) from None
    except ValueError as exc:
        raise SourceError(f"the snapshot is not valid JSON: {exc}", location=Location(path), hint=fix) from None
    if not isinstance(document, dict) or document.get("format") != FORMAT_VERSION:
        found = document.get("format") if isinstance(document, dict) else None
        raise SourceError(f"the snapshot has format {found!r}; this storybook reads format {FORMAT_VERSION}",
                          location=Location(path, 1), hint=fix)
    text = raw.decode("utf-8")
    try:
        resolved = _decode(ResolvedStory, document.get("resolved"), "resolved", _FrameReader(story_dir))
    except _Malformed as exc:
        raise SourceError(f"the snapshot is malformed at {exc}", location=Location(path, line_of(text, exc.where)),
                          hint=f"{fix}; do not edit snapshots by hand") from None
    if not isinstance(resolved, ResolvedStory):  # pragma: no cover - _decode returns what it was asked for
        raise SourceError("the snapshot holds no resolved story", location=Location(path), hint=fix)
    return document, resolved


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed")


def line_of(text: str, where: str) -> int:
    """The line of a dotted path (``resolved.run.metrics.x.value``) in a snapshot written by ``pin``
    (indent 2), or of the deepest part of it that can be found."""
    lines = text.splitlines()
    line = 0
    for depth, part in enumerate(where.split("."), start=1):
        if not part or part.isdigit():
            continue  # list items carry no key; the next key is searched inside the same parent
        needle = " " * (2 * depth) + json.dumps(part) + ":"
        for index in range(line + 1, len(lines)):
            current = lines[index]
            indent = len(current) - len(current.lstrip(" "))
            if indent < 2 * depth and current.strip() not in ("", "{", "["):
                break  # left the parent without finding the key
            if current.startswith(needle):
                line = index
                break
        else:
            break
    return line + 1


class _FrameReader:
    """Reads the CSV files a snapshot references, refusing paths outside the story and wrong hashes."""

    def __init__(self, story_dir: Path) -> None:
        self.story_dir = story_dir

    def __call__(self, data: Any, where: str) -> pd.DataFrame:
        if not isinstance(data, dict) or not isinstance(data.get("csv"), str) \
                or not isinstance(data.get("sha256"), str):
            raise _Malformed(where, "expected a table reference {csv, sha256}")
        name = PurePosixPath(data["csv"])
        if name.is_absolute() or ".." in name.parts or len(name.parts) != 2 or name.parts[0] != SNAPSHOT_DIR:
            raise _Malformed(where, f"table path {data['csv']!r} must be {SNAPSHOT_DIR}/<name>.csv")
        path = self.story_dir.joinpath(*name.parts)
        if not path.resolve().is_relative_to(self.story_dir.resolve()) or not path.is_file():
            raise _Malformed(where, f"table file {data['csv']} is missing")
        try:
            raw = read_at_most(path, MAX_TABLE_BYTES)  # its size is checked before it is read
        except FileTooLarge as exc:
            raise _Malformed(where, f"{data['csv']} is {exc.size:,} bytes, more than {MAX_TABLE_BYTES:,}") from None
        except OSError as exc:
            raise _Malformed(where, f"{data['csv']} cannot be read ({exc.strerror or exc})") from None
        if hashlib.sha256(raw).hexdigest() != data["sha256"]:
            raise _Malformed(where, f"{data['csv']} does not match its sha256 in the snapshot "
                                    "(the table was changed after it was pinned)")
        try:
            frame = pd.read_csv(io.BytesIO(raw))
        except Exception as exc:
            raise _Malformed(where, f"{data['csv']} is not a readable CSV ({type(exc).__name__})") from None
        order = data.get("column_order")
        if isinstance(order, list) and [str(c) for c in frame.columns] != order:
            raise _Malformed(where, f"{data['csv']} has columns {list(frame.columns)}, expected {order}")
        columns = data.get("columns")
        if isinstance(columns, dict):
            for column, dtype in columns.items():
                if column in frame.columns and str(frame[column].dtype) != dtype:
                    try:
                        frame[column] = frame[column].astype(dtype)
                    except (TypeError, ValueError):
                        raise _Malformed(where, f"column {column!r} cannot be read as {dtype}") from None
        return frame


def _decode(tp: Any, data: Any, where: str, frames: _FrameReader) -> Any:
    """``data`` read as ``tp``; DataFrames are the pinned CSV files ``frames`` reads and verifies."""
    return decode(tp, data, where, lambda kind, value, at: frames(value, at) if kind is pd.DataFrame else NOT_MINE)


def decode_resolved(data: Any, story_dir: Path) -> ResolvedStory:
    """A ResolvedStory from already-parsed snapshot data (``document["resolved"]``)."""
    try:
        resolved = _decode(ResolvedStory, data, "resolved", _FrameReader(story_dir))
    except _Malformed as exc:
        raise SourceError(f"the snapshot is malformed at {exc}", location=Location(snapshot_path(story_dir)),
                          hint=_FIX.format(slug=story_dir.name)) from None
    assert isinstance(resolved, ResolvedStory)
    return resolved


# -- the source ---------------------------------------------------------------------------------------------


class SnapshotSource:
    """Resolves stories from their pinned snapshots: the same ``resolve`` as MlflowSource, with no MLflow."""

    def resolve(self, story: StorySource) -> ResolvedStory:
        document, resolved = load_snapshot(story.directory, story.slug)
        path = snapshot_path(story.directory)
        pinned_model = document.get("model")
        wanted = story.config.model.describe()
        if pinned_model != wanted:
            raise SourceError(
                f"the snapshot pins {pinned_model}, but story.yaml now names {wanted}",
                location=story.yaml.location(("model",)),
                hint=f"run `storybook pin --story {story.slug}` to pin the model the story names")
        for problem, location in _missing(story, resolved):
            raise ReferenceNotFound(f"{problem} is not in the pinned snapshot {path.name}", location=location,
                                    hint=f"run `storybook pin --story {story.slug}` to pin what the story uses")
        for series in resolved.series.values():
            check_readings(series, Location(path), fix=f"run `storybook pin --story {story.slug}` to pin the series "
                           "again from MLflow; do not edit snapshots by hand")
        check_figures(story, resolved.run.metrics, fix="log the figure as a number and pin again, or leave it out "
                      "of metrics:")
        return resolved


def _missing(story: StorySource, resolved: ResolvedStory) -> Iterator[tuple[str, Location]]:
    config = story.config
    for index, metric in enumerate(config.metrics):
        if metric.key not in resolved.run.metrics:
            yield f"metric {metric.key!r}", story.yaml.location(("metrics", index, "key"))
    for index, spec in enumerate(config.series):
        if spec.key not in resolved.series:
            yield f"series {spec.key!r}", story.yaml.location(("series", index, "key"))
    evaluation = config.evaluation
    if evaluation is not None and evaluation.artifact is not None and resolved.evaluation is None:
        yield f"the evaluation set {evaluation.artifact!r}", story.yaml.location(("evaluation", "artifact"))
    if evaluation is not None and evaluation.aggregate is not None and (
            resolved.aggregate is None or resolved.aggregate_info is None):
        yield f"the aggregate {evaluation.aggregate!r}", story.yaml.location(("evaluation", "aggregate"))
    if evaluation is not None and evaluation.counts is not None:
        for name in ("tp", "fp", "tn", "fn"):
            key = getattr(evaluation.counts, name)
            if key not in resolved.run.metrics:
                yield f"metric {key!r}", story.yaml.location(("evaluation", "counts", name))
    only_counts = evaluation is not None and evaluation.aggregate is not None and evaluation.artifact is None
    if config.drivers is not None and resolved.drivers is None and not (
            only_counts and config.drivers.source == "model"):  # no rows to shuffle: left out, the page says why
        yield "what drives the predictions (drivers)", story.yaml.location(("drivers",))
    if config.history is not None and resolved.history is None:
        yield "the model's history", story.yaml.location(("history",))
