"""Permutation drops kept between builds: a story's drivers are computed once per model and scored set.

Shuffling each feature and scoring the model again takes seconds, and loading the model imports its framework
(skops, scikit-learn). A build with nothing changed must do neither, so the drops a model gave are kept under
``<project>/.storybook/cache/drivers/`` by a key over everything they depend on:

- the **model**: a digest of the downloaded model's files (names and bytes), kept beside the download in
  ``<model folder>.sha256.json`` together with each file's size and modification time, and hashed again when
  one of those changes;
- the **scored set**: a digest of the evaluation table (columns, types and values) and of what the story reads
  from it (what happened on each row, what the logged set says the model gave it, the threshold or classes);
- the **drivers settings** that change the figures (metric, repeats, seed, features, model path, by slice, the
  slice columns) and not those that only change the words (``show``, ``names``);
- **storybook**: its version and the bytes of the code that computes the drops.

An entry is written atomically (temp file, rename). One that cannot be read, decoded or does not match its key
is ignored and computed again; the cache never fails a build.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from storybook.files import write_atomically

__all__ = ["DROPS_FORMAT", "CachedDrops", "drops_key", "model_digest", "model_folder", "read_drops", "write_drops"]

DROPS_FORMAT = 1
_CODE = (Path(__file__).resolve().parent / "drivers.py", Path(__file__).resolve().parent.parent / "metrics"
         / "importance.py")
_COLUMNS = ("slice", "group", "feature", "repeat", "drop")
_TEXT = ("object", "str", "string")  # how pandas keeps text columns (its version decides: kept with the entry)
_TYPES = {"slice": _TEXT, "group": _TEXT, "feature": _TEXT, "repeat": ("int64",), "drop": ("float64",)}


@dataclass(frozen=True)
class CachedDrops:
    """What a cache entry gives back: the drops table, the evaluation rows they were measured on, the baseline."""

    table: pd.DataFrame
    rows: int
    baseline: float


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("storybook-ml")
    except PackageNotFoundError:  # pragma: no cover - a source tree that was never installed
        return "unknown"


def model_folder(cache_dir: Path, shown_uri: str, uri: str) -> Path:
    """Where the model ``uri`` (``models:/<name>/<version>`` or ``runs:/<run>/<path>``) of the store at
    ``shown_uri`` is downloaded in the project's cache, once (storybook.resolve.drivers)."""
    return cache_dir / "models" / hashlib.sha256(json.dumps([shown_uri, uri]).encode()).hexdigest()[:24]


def model_digest(folder: Path) -> str:
    """sha256 over the names and bytes of the files of a downloaded model, remembered beside the folder while
    no file's size or modification time changes."""
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    stats: list[list[Any]] = [[p.relative_to(folder).as_posix(), p.stat().st_size, p.stat().st_mtime_ns] for p in files]
    remembered = folder.with_name(folder.name + ".sha256.json")
    try:
        known = json.loads(remembered.read_text(encoding="utf-8"))
        if isinstance(known, dict) and known.get("files") == stats and isinstance(known.get("sha256"), str):
            return str(known["sha256"])
    except (OSError, ValueError):
        pass
    digest = hashlib.sha256(b"storybook model files\n")
    for path, (name, size, _) in zip(files, stats, strict=True):
        digest.update(f"{len(name)}:{name}\n{size}:".encode())
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    text = digest.hexdigest()
    write_atomically(remembered, json.dumps({"files": stats, "sha256": text}).encode("utf-8"))
    return text


def _array_digest(digest: Any, values: npt.NDArray[Any]) -> None:
    array = np.asarray(values)
    digest.update(f"{array.dtype.str} {array.shape}\n".encode())
    if array.dtype.kind == "O":
        digest.update(json.dumps([str(v) for v in array.ravel()]).encode("utf-8"))
    else:
        digest.update(np.ascontiguousarray(array).tobytes())


def drops_key(*, model: str, evaluation: pd.DataFrame, truth: npt.NDArray[Any], logged: npt.NDArray[Any],
              settings: dict[str, Any]) -> str:
    """The key of one story's drops (see the module docstring); ``settings`` holds the drivers settings, the
    task, the threshold or classes and the slice columns, as plain JSON data."""
    digest = hashlib.sha256(f"storybook drivers {DROPS_FORMAT}\nversion {_version()}\nmodel {model}\n".encode())
    for path in _CODE:
        digest.update(path.read_bytes())
    digest.update(json.dumps(settings, sort_keys=True, default=str).encode("utf-8"))
    digest.update(json.dumps([[str(c), str(t)] for c, t in evaluation.dtypes.items()]).encode("utf-8"))
    _array_digest(digest, pd.util.hash_pandas_object(evaluation, index=False).to_numpy())
    _array_digest(digest, truth)
    _array_digest(digest, logged)
    return digest.hexdigest()


def _path(directory: Path, key: str) -> Path:
    return directory / key[:2] / f"{key}.json"


def read_drops(directory: Path, key: str) -> CachedDrops | None:
    """The entry stored under ``key``, or None when there is none or it is broken (then it is computed again)."""
    try:
        document = json.loads(_path(directory, key).read_bytes())
        if not isinstance(document, dict) or document.get("key") != key:
            return None
        columns, types = document["columns"], document["dtypes"]
        if not isinstance(columns, dict) or not isinstance(types, dict) or list(columns) != list(_COLUMNS):
            return None
        if not all(isinstance(v, list) for v in columns.values()) or len({len(v) for v in columns.values()}) != 1:
            return None
        if not all(isinstance(v, str) for name in ("slice", "group", "feature") for v in columns[name]):
            return None
        if not all(types.get(name) in _TYPES[name] for name in _COLUMNS):
            return None
        table = pd.DataFrame({name: pd.Series(columns[name]).astype(types[name]) for name in _COLUMNS})
        rows, baseline = document["rows"], document["baseline"]
        if not isinstance(rows, int) or isinstance(rows, bool) or not isinstance(baseline, (int, float)):
            return None
        return CachedDrops(table=table, rows=rows, baseline=float(baseline))
    except (OSError, ValueError, KeyError, TypeError, RecursionError):
        return None


def write_drops(directory: Path, key: str, drops: CachedDrops) -> None:
    """Store an entry atomically; a table of another shape or a folder that cannot be written is skipped."""
    if list(drops.table.columns) != list(_COLUMNS):
        return
    document = {"key": key, "rows": drops.rows, "baseline": drops.baseline,
                "dtypes": {name: str(drops.table[name].dtype) for name in _COLUMNS},
                "columns": {name: drops.table[name].tolist() for name in _COLUMNS}}
    try:
        data = json.dumps(document).encode("utf-8")
    except (TypeError, ValueError):
        return
    write_atomically(_path(directory, key), data)
