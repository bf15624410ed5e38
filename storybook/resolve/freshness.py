"""The freshness probe: a live story read from a local sqlite store is taken back from the last build, without
opening MLflow (without even importing it), when nothing it was read from has changed.

A story resolved live is kept under ``<project>/.storybook/cache/resolved/<slug>.json.z`` with what it was read
from. The next build takes it back only when all of these are as they were:

- the **store**: the sqlite database's header (its *file change counter*, bytes 24-27, which SQLite moves on
  every committed write in rollback-journal mode: a metric logged, a version registered, an alias moved, a tag
  set) and the database file's size, modification and change times, inode and device;
- every **artifact file** the story read (the scored set, other tables, the drivers table) and every file of a
  downloaded model whose drops it told: size, modification and change times, inode and device (logging a file to
  an existing run writes no row, so the counter does not tell it);
- the story's **story.yaml**: its bytes (read before it is parsed and again when it is kept) for a story whose
  page is cached, which is then not even parsed; else, parsed, all of it but the keys that only hold words for
  the page (:data:`WORDS_ONLY`: title, summary, ...), so a wording change renders from the kept story. The project's
  configuration (storybook.yaml, as this build parsed it), the
  tracking URI (hashed with the rest: only a digest is kept, never the URI, which may carry a password), the
  ``MLFLOW_*`` environment variables, storybook's own code (every module's bytes) and the libraries that read
  and compute (their ``__init__.py`` files: an upgrade replaces them).

Anything the probe cannot vouch for means no probe, and the story is resolved against MLflow as before: another
kind of tracking URI (a server, a folder, Databricks), a sqlite URI with a query, a database in WAL mode (header
byte 18 is 2: the counter does not move per transaction there), a ``-journal``, ``-wal`` or ``-shm`` file beside
the database (a write under way, or WAL), an artifact downloaded from a store that is not a folder on this
machine, a file changed less than :data:`SETTLE_SECONDS` before the build began (two writes within one tick of the
file system's clock can leave the same times behind: such an entry is not kept, and the next build keeps it), a
store that changed while the story was read, tables too large to keep (:data:`MAX_TABLE_CHARACTERS`), or an
entry that does not read back as exactly what was resolved.

Resolving reads no clock: a resolved story holds timestamps (when a figure was logged, when a version was
registered), never an age, so a kept story cannot grow stale by time alone.

The entry holds the resolved story (its tables as CSV text, their types and column order) and the fingerprint
of the resolved values the page cache keys on (:func:`resolved_fingerprint`), so a build with nothing changed
asks the page cache without parsing the story or decoding the entry (as for a pinned story), and a build after a
Markdown edit renders the page from the kept story. A decoded entry is used only when its fingerprint is the
kept one, so a story that does not read back as exactly what was resolved (a text column of "007" comes back as
the number 7) is resolved again instead. Entries are written atomically; one that cannot be read or decoded is
ignored and written again.
"""

from __future__ import annotations

import hashlib
import importlib.util
import io
import json
import os
import time
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from storybook.errors import StorybookError
from storybook.files import CACHE_DIR, cache_secret, csv_text, read_at_most, write_atomically
from storybook.resolve.tracking import tracking_uri
from storybook.sources.loader import STORY_FILE
from storybook.sources.yaml_loader import MAX_YAML_BYTES

if TYPE_CHECKING:
    import pandas as pd

    from storybook.resolve.resolved import ResolvedStory
    from storybook.sources.loader import StorySource
    from storybook.sources.schema import ProjectConfig

__all__ = ["FRESHNESS_FORMAT", "MAX_TABLE_CHARACTERS", "RESOLVED_DIR", "SETTLE_SECONDS", "WORDS_ONLY", "FreshStory",
           "Freshness", "TableTexts", "resolved_fingerprint", "store_state"]

FRESHNESS_FORMAT = 1
RESOLVED_DIR = f"{CACHE_DIR}/resolved"
SETTLE_SECONDS = 2.0  # coarser than any file system clock storybook may meet (ext3 and HFS+ keep whole seconds)
MAX_TABLE_CHARACTERS = 64 * 1024 * 1024  # the CSV text of one story's tables, kept in one entry
MAX_ENTRY_BYTES = 256 * 1024 * 1024
_PACKAGE = Path(__file__).resolve().parent.parent
# Libraries whose upgrade could change what a story resolves to: the reader, the tables, the drivers' model.
_LIBRARIES = ("mlflow", "sqlalchemy", "pandas", "numpy", "pyarrow", "sklearn", "skops")
# Set by storybook itself while it reads MLflow (storybook.resolve.mlflow_source): they bound HTTP waits and
# quieten progress bars and telemetry, and never change what a local store holds.
_STORYBOOK_SETS = ("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "MLFLOW_DISABLE_TELEMETRY", "MLFLOW_HTTP_REQUEST_TIMEOUT",
                   "MLFLOW_HTTP_REQUEST_MAX_RETRIES", "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR")

Stamp = list[int]  # size, modification time, change time (ns), inode, device
# story.yaml's keys that only hold words for the page: resolving a story reads none of them (a test holds the
# resolve package to that), so a change to them is rendered from the kept story.
WORDS_ONLY = ("title", "summary", "audience", "owner", "intended_use", "glossary", "claims", "decision", "versions",
              "signoffs")


def sqlite_file(uri: str) -> Path | None:
    """The database file of a local sqlite tracking URI (as :func:`tracking_uri` gives it, absolute); None for
    any other URI, an in-memory database, or one written with a query or percent-escapes."""
    if not uri.startswith("sqlite:////") or any(mark in uri for mark in "?#%"):
        return None
    return Path(uri.removeprefix("sqlite:///"))


def store_state(database: Path) -> Stamp | None:
    """The sqlite file change counter and the file's stamp; None when the probe cannot vouch for the store: WAL
    mode, a journal or WAL file beside it, not a SQLite file, or unreadable."""
    for suffix in ("-journal", "-wal", "-shm"):
        if os.path.lexists(f"{database}{suffix}"):
            return None
    try:
        with open(database, "rb") as handle:
            header = handle.read(100)
            status = os.fstat(handle.fileno())
    except OSError:
        return None
    if len(header) < 100 or not header.startswith(b"SQLite format 3\x00") or header[18] != 1 or header[19] != 1:
        return None  # bytes 18-19: 1 for a rollback journal, 2 for WAL
    return [int.from_bytes(header[24:28], "big"), status.st_size, status.st_mtime_ns, status.st_ctime_ns,
            status.st_ino, status.st_dev]


def _stamp(path: Path) -> Stamp | None:
    try:
        status = os.stat(path)
    except OSError:
        return None
    return [status.st_size, status.st_mtime_ns, status.st_ctime_ns, status.st_ino, status.st_dev]


def _seen(path: Path) -> Any:
    """What a read file (its stamp) or a model folder (each file's name and stamp) looks like now."""
    if path.is_dir():
        files = []
        for folder, _, names in os.walk(path):
            for name in names:
                full = Path(folder, name)
                files.append([full.relative_to(path).as_posix(), _stamp(full)])
        return {"tree": sorted(files, key=lambda item: str(item[0]))}
    return {"file": _stamp(path)}


def _newest_change(seen: Any) -> int:
    stamps = [stamp for _, stamp in seen["tree"]] if "tree" in seen else [seen["file"]]
    return max((stamp[2] for stamp in stamps if stamp is not None), default=0)


@dataclass(frozen=True)
class FreshStory:
    """A kept story whose inputs have not changed: the fingerprint the page cache keys on, and the story."""

    slug: str
    fingerprint: str
    data: Any

    def resolved(self) -> ResolvedStory | None:
        """The resolved story as it was kept; None when the entry does not decode, or not to what was resolved
        (its fingerprint is not the kept one): the story is then resolved again."""
        try:
            resolved = _decode(self.data)
        except (ValueError, TypeError, KeyError, RecursionError):
            return None
        return resolved if resolved_fingerprint(resolved) == self.fingerprint else None


class Freshness:
    """The probe for one build of the project at ``root``: :meth:`start` before anything is read from MLflow,
    :meth:`probe` for each live story, :meth:`keep` for each story resolved from MLflow."""

    def __init__(self, root: Path, config: ProjectConfig) -> None:
        self.root = root
        self.directory = root / RESOLVED_DIR
        try:
            uri: str | None = tracking_uri(config.tracking_uri, root)
        except StorybookError:  # no URI: resolving says so, with its fix
            uri = None
        self.database = sqlite_file(uri) if uri is not None else None
        self._uri = uri or ""
        self._config = config
        self._project: str | None = None  # worked out on first use: a project of pinned stories needs none
        self._before: Stamp | None = None
        self._started_ns = 0
        self.broken = 0  # entries that could not be read, ignored

    def _common(self, uri: str, config: ProjectConfig) -> str:
        """The part of every story's key that the project, the environment and storybook decide."""
        digest = hashlib.sha256(f"storybook resolved {FRESHNESS_FORMAT}\nmachine {cache_secret()}\n".encode())
        digest.update(f"tracking {uri}\nregistry {uri}\n".encode())  # MlflowSource reads both at the one URI
        digest.update(config.model_dump_json().encode())
        environment = sorted((name, value) for name, value in os.environ.items()
                             if name.startswith("MLFLOW_") and name not in _STORYBOOK_SETS)
        digest.update(json.dumps(environment).encode())
        for library in _LIBRARIES:
            try:
                spec = importlib.util.find_spec(library)
            except (ImportError, ValueError):
                spec = None
            origin = spec.origin if spec is not None else None
            digest.update(json.dumps([library, origin, _stamp(Path(origin)) if origin else None]).encode())
        for path in sorted(_PACKAGE.rglob("*.py")):
            if "__pycache__" not in path.parts:
                name = path.relative_to(_PACKAGE).as_posix().encode()
                data = path.read_bytes()
                digest.update(b"%d:%s\n%d:" % (len(name), name, len(data)))
                digest.update(data)
        return digest.hexdigest()

    def story_key(self, directory: Path) -> str | None:
        """The key of the story in ``directory``: its story.yaml's bytes with what every story's key holds; None
        when the probe cannot vouch for this project's stories. Taken before the story is parsed, and again when
        it is kept: a story.yaml saved in between is not kept under its new bytes."""
        if self.database is None:
            return None
        if self._project is None:
            self._project = self._common(self._uri, self._config)
        try:
            data = read_at_most(directory / STORY_FILE, MAX_YAML_BYTES)
        except (OSError, ValueError):
            return None
        digest = hashlib.sha256(f"{self._project}\nstory {directory.name}\n".encode())
        digest.update(data)
        return digest.hexdigest()

    def _path(self, slug: str) -> Path:
        return self.directory / f"{slug}.json.z"

    def start(self) -> None:
        """Read the store's state, before MLflow reads anything (a write after this is seen by :meth:`keep`)."""
        self._started_ns = time.time_ns()
        self._before = store_state(self.database) if self.database is not None else None

    def figures_key(self, story: StorySource) -> str | None:
        """The key of what the parsed story asks MLflow for: its story.yaml without the keys that only hold
        words (:data:`WORDS_ONLY`), so a wording change renders the page again from the kept story."""
        if self.database is None:
            return None
        if self._project is None:
            self._project = self._common(self._uri, self._config)
        asked = story.config.model_dump_json(exclude=set(WORDS_ONLY))
        return hashlib.sha256(f"{self._project}\nstory {story.slug}\n{asked}".encode()).hexdigest()

    def probe(self, slug: str, key: str | None, *, by: str = "key") -> FreshStory | None:
        """The story ``slug`` as kept, when nothing it was read from has changed; None otherwise (resolve it
        live). ``key`` is its :meth:`story_key` (``by="key"``) or its :meth:`figures_key` (``by="figures"``)."""
        if self._before is None or key is None:
            return None
        path = self._path(slug)
        try:
            if path.stat().st_size > MAX_ENTRY_BYTES:
                return None
            document = json.loads(zlib.decompress(path.read_bytes()))
            if not isinstance(document, dict) or document.get("format") != FRESHNESS_FORMAT:
                raise ValueError("not a freshness entry")
            kept, store, reads, fingerprint = (document[name] for name in (by, "store", "reads", "fingerprint"))
            if not isinstance(reads, list) or not isinstance(fingerprint, str) or "resolved" not in document:
                raise ValueError("not a freshness entry")
            if kept != key or store != self._before:
                return None
            for read in reads:
                name, seen = read
                if not isinstance(name, str) or _seen(Path(name)) != seen:
                    return None
        except FileNotFoundError:
            return None
        except (OSError, ValueError, TypeError, KeyError, zlib.error, RecursionError):
            self.broken += 1
            return None
        return FreshStory(slug, fingerprint, document["resolved"])

    def rekey(self, directory: Path, key: str | None) -> bool:
        """Keep the entry of the story in ``directory``, found by :meth:`figures_key` after a change to
        story.yaml's words only, under story.yaml's new bytes (``key``, its :meth:`story_key` before it was
        parsed): the next build with nothing changed then takes the page from the cache without parsing the
        story. False when it was not rewritten (story.yaml or the store changed meanwhile, or the entry does
        not read)."""
        if self._before is None or self.database is None or key is None:
            return False
        path = self._path(directory.name)
        try:
            document = json.loads(zlib.decompress(path.read_bytes()))
            if not isinstance(document, dict) or document.get("format") != FRESHNESS_FORMAT:
                return False
            document["key"] = key
            text = json.dumps(document, ensure_ascii=False, allow_nan=False)
        except (OSError, ValueError, TypeError, zlib.error, RecursionError):
            return False
        if self.story_key(directory) != key:
            return False  # story.yaml changed since it was parsed
        if store_state(self.database) != self._before:
            return False
        return write_atomically(path, zlib.compress(text.encode("utf-8"), 1))

    def keep(self, story: StorySource, key: str | None, resolved: ResolvedStory, fingerprint: str,
             reads: Iterable[Path], downloads: Path, texts: Callable[[pd.DataFrame], str] | None = None) -> bool:
        """Keep ``story`` (its :meth:`story_key` before it was parsed: ``key``) as ``resolved``,
        whose page-cache fingerprint is ``fingerprint``, with what it was read from: ``reads``, the files and
        model folders resolving it read. Not kept (False) when the probe could not vouch for it next time (see the
        module docstring); ``downloads`` is where artifacts from other stores are downloaded to. ``texts`` gives
        each table's CSV text (the :class:`TableTexts` that made the fingerprint, so each is written once)."""
        if self._before is None or self.database is None or store_state(self.database) != self._before:
            return False
        directory = story.directory
        if key is None or self.story_key(directory) != key:
            return False  # story.yaml changed since it was parsed
        files = sorted({Path(path) for path in reads})
        if any(path.is_relative_to(downloads) for path in files):
            return False  # read from a store that is not a folder here: it can change without the database
        seen = [[str(path), _seen(path)] for path in files]
        if any(item == {"file": None} for _, item in seen):
            return False  # a file read is gone already: resolving again says so
        if any(_newest_change(item) > self._started_ns - SETTLE_SECONDS * 1e9 for _, item in seen):
            return False
        try:
            data = _encode(resolved, texts or TableTexts())
            if data is None:
                return False  # tables too large to keep
            document = {"format": FRESHNESS_FORMAT, "key": key, "figures": self.figures_key(story),
                        "store": self._before, "reads": seen,
                        "fingerprint": fingerprint, "resolved": data}
            text = json.dumps(document, ensure_ascii=False, allow_nan=False)
        except Exception:  # a value it cannot keep (the cache never fails a build): resolved again next time
            return False
        if store_state(self.database) != self._before:
            return False  # the store changed while the story was read
        return write_atomically(self._path(directory.name), zlib.compress(text.encode("utf-8"), 1))


# -- the resolved story as JSON, its tables as CSV text ------------------------------------------------------


class TableTexts:
    """Each table's CSV text, written once however many encodings of one resolved story ask for it (its
    fingerprint and its freshness entry both do)."""

    def __init__(self) -> None:
        self._texts: dict[int, tuple[pd.DataFrame, str]] = {}  # the table is held, so its id is not reused

    def __call__(self, table: pd.DataFrame) -> str:
        known = self._texts.get(id(table))
        if known is not None and known[0] is table:
            return known[1]
        text = csv_text(table)
        self._texts[id(table)] = (table, text)
        return text


def resolved_fingerprint(resolved: ResolvedStory, texts: Callable[[pd.DataFrame], str] | None = None) -> str:
    """A stable hash of everything a story resolved to: every value, and each table's CSV and dtypes. The page
    cache keys a live story's page on it; a kept story is used again only when it decodes to the same one."""
    from storybook.resolve.snapshot import encode_resolved

    text_of = texts or TableTexts()

    def frame(where: str, table: pd.DataFrame) -> dict[str, Any]:
        return {"sha256": hashlib.sha256(text_of(table).encode("utf-8")).hexdigest(),
                "dtypes": {str(c): str(t) for c, t in table.dtypes.items()}}

    data = encode_resolved(resolved, frame)
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _encode(resolved: ResolvedStory, texts: Callable[[pd.DataFrame], str]) -> Any:
    """Plain JSON data for ``resolved``; None when its tables hold more than :data:`MAX_TABLE_CHARACTERS`."""
    from storybook.resolve.snapshot import encode_resolved

    budget = [MAX_TABLE_CHARACTERS]

    def frame(where: str, table: pd.DataFrame) -> dict[str, Any]:
        text = texts(table)
        budget[0] -= len(text)
        if budget[0] < 0:
            raise _TooLarge
        return {"csv": text, "dtypes": {str(c): str(t) for c, t in table.dtypes.items()},
                "columns": [str(c) for c in table.columns]}

    try:
        return encode_resolved(resolved, frame)
    except _TooLarge:
        return None


class _TooLarge(Exception):
    pass


def _decode(data: Any) -> ResolvedStory:
    """The inverse of :func:`_encode`; ValueError when the data does not fit."""
    import pandas as pd

    from storybook.resolve.resolved import ResolvedStory
    from storybook.typed_json import NOT_MINE, Mismatch, decode

    def frame(kind: Any, value: Any, where: str) -> Any:
        if kind is not pd.DataFrame:
            return NOT_MINE
        if not isinstance(value, dict) or not isinstance(value.get("csv"), str):
            raise Mismatch(where, "expected a table")
        table = pd.read_csv(io.StringIO(value["csv"])) if value["csv"].strip() else pd.DataFrame()
        if [str(c) for c in table.columns] != value.get("columns"):
            raise Mismatch(where, "the table's columns differ")
        dtypes = value.get("dtypes")
        if not isinstance(dtypes, dict):
            raise Mismatch(where, "expected the table's types")
        for column, dtype in dtypes.items():
            if str(table[column].dtype) != dtype:
                table[column] = table[column].astype(dtype)
        return table

    try:
        resolved = decode(ResolvedStory, data, "resolved", frame)
    except Mismatch as exc:
        raise ValueError(str(exc)) from None
    if not isinstance(resolved, ResolvedStory):
        raise ValueError("not a resolved story")
    return resolved
