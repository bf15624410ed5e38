"""The render cache: a story whose inputs have not changed is not analysed or rendered again.

A rendered story is stored under ``<project>/.storybook/cache/pages/`` by a content key: sha256 over

- the *build fingerprint*: this cache format, storybook's version and the bytes of its own code, the shipped
  templates and the project's templates (names and bytes), storybook.yaml, and whether PDFs are linked;
- the story's slug and every file in its folder (story.yaml, the Markdown sections, signoffs.yaml,
  snapshot.json and its CSV tables), names and bytes;
- for a story resolved live from MLflow, a fingerprint of what it resolved to (every value and the content of
  every table: :func:`storybook.resolve.freshness.resolved_fingerprint`), since the same files can resolve to
  other numbers tomorrow.

A PDF is cached by what it is printed from: the build fingerprint, WeasyPrint's version, its file name, the
HTML it prints and the story's charts (the stylesheet is a template, so in the fingerprint). An unchanged
page, or an unchanged one-page summary, is not printed again.

A story built from its snapshot needs nothing else: its key is computed from files alone, without resolving
or even parsing it. The entry holds the whole :class:`RenderedStory`, serialised generically by walking its
dataclass fields (a field added later is cached without touching this module), and what the index shows
(title, audience, model). The page keeps the time it was rendered: a cached page says when it was made, and
the index says when the site was built.

Entries are written atomically (temp file, rename). An entry that cannot be read or decoded is counted as
broken, ignored and rebuilt; the cache never fails a build.
"""

from __future__ import annotations

import hashlib
import importlib.resources
import json
import os
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from storybook.files import CACHE_DIR, cache_secret, write_atomically
from storybook.typed_json import Mismatch, decode, encode

if TYPE_CHECKING:
    from storybook.render.rendered import RenderedStory

__all__ = [
    "CACHE_FORMAT",
    "CHARTS_DIR",
    "PAGES_DIR",
    "PDFS_DIR",
    "CacheStats",
    "CachedStory",
    "PageCache",
    "PdfCache",
    "build_fingerprint",
    "decode_value",
    "encode_value",
    "pdf_key",
    "story_key",
]

CACHE_FORMAT = 1
PAGES_DIR = f"{CACHE_DIR}/pages"
CHARTS_DIR = f"{CACHE_DIR}/charts"
PDFS_DIR = f"{CACHE_DIR}/pdfs"
_PACKAGE = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class CachedStory:
    """One cache entry: the rendered story and the index line's words."""

    page: RenderedStory
    title: str
    audience: str
    model: str


@dataclass
class CacheStats:
    hits: int = 0
    misses: int = 0
    broken: int = 0
    written: int = 0
    site: int = 0  # of the hits: carried over from the previous site without reading the cache (see build)


# -- keys ---------------------------------------------------------------------------------------------------


def _hash_files(digest: Any, base: Path, files: Iterator[Path]) -> None:
    """Each file's name (relative to ``base``), length and bytes, in order of name."""
    prefix = len(str(base)) + 1
    for path in sorted(str(p) for p in files):
        name = path[prefix:].replace(os.sep, "/").encode("utf-8")
        with open(path, "rb") as handle:
            data = handle.read()
        digest.update(b"%d:%s\n%d:" % (len(name), name, len(data)))
        digest.update(data)


def _tree(directory: Path, pattern: str = "*") -> Iterator[Path]:
    if directory.is_dir():
        yield from (p for p in directory.rglob(pattern) if p.is_file() and "__pycache__" not in p.parts)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("storybook-ml")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree that was never installed
        return "unknown"


def build_fingerprint(root: Path, templates_dir: Path, *, pdf: bool) -> str:
    """What every page of this build depends on besides its own story (see the module docstring)."""
    digest = hashlib.sha256(f"storybook render cache {CACHE_FORMAT}\nversion {_version()}\npdf {pdf}\n".encode())
    digest.update(f"machine {cache_secret()}\n".encode())  # entries written elsewhere are never found
    digest.update(b"code\n")
    _hash_files(digest, _PACKAGE, _tree(_PACKAGE, "*.py"))
    shipped = Path(str(importlib.resources.files("storybook.templates")))
    digest.update(b"shipped templates\n")
    _hash_files(digest, shipped, (p for p in _tree(shipped) if p.suffix != ".py"))
    digest.update(b"project templates\n")
    _hash_files(digest, templates_dir, _tree(templates_dir))
    digest.update(b"project\n")
    _hash_files(digest, root, iter([root / "storybook.yaml"]))
    return digest.hexdigest()


def story_key(fingerprint: str, root: Path, story_dir: Path, resolved: str | None = None) -> str | None:
    """The key of one story's page, or None when its folder holds something the cache will not vouch for
    (a link, or a file that cannot be read): such a story is simply built, and its loader reports any problem."""
    digest = hashlib.sha256(f"{fingerprint}\nstory {story_dir.name}\nresolved {resolved}\n".encode())
    try:
        # The stories folder was checked to be inside the project; a story folder that is no link and holds no
        # link holds only files inside it.
        if story_dir.is_symlink():
            return None
        files = _plain_files(story_dir)
        if files is None:
            return None
        _hash_files(digest, story_dir, iter(files))
    except OSError:
        return None
    return digest.hexdigest()


def _plain_files(directory: Path) -> list[Path] | None:
    """Every regular file under ``directory``; None if it holds a link or anything but files and folders."""
    files: list[Path] = []
    pending = [directory]
    while pending:
        with os.scandir(pending.pop()) as entries:
            for entry in entries:
                if entry.is_symlink():
                    return None
                if entry.is_dir(follow_symlinks=False):
                    pending.append(Path(entry.path))
                elif entry.is_file(follow_symlinks=False):
                    files.append(Path(entry.path))
                else:
                    return None
    return files


def pdf_key(fingerprint: str, name: str, html: str, charts: dict[str, str]) -> str:
    """The key of one PDF: what it is printed from (the stylesheet and storybook's code are in ``fingerprint``)."""
    from importlib.metadata import version

    digest = hashlib.sha256(f"{fingerprint}\nweasyprint {version('weasyprint')}\npdf {name}\n".encode())
    for part in (html, *(f"{chart}\n{svg}" for chart, svg in sorted(charts.items()))):
        data = part.encode("utf-8")
        digest.update(b"%d:" % len(data))
        digest.update(data)
    return digest.hexdigest()


# -- generic (de)serialisation of dataclasses -----------------------------------------------------------------


def encode_value(value: Any) -> Any:
    """Plain JSON data for a page (see :func:`storybook.typed_json.encode`)."""
    return encode(value)


def decode_value(tp: Any, data: Any) -> Any:
    """The inverse of :func:`encode_value`, driven by type hints; raises ValueError when the data does not fit."""
    try:
        return decode(tp, data)
    except (Mismatch, TypeError) as exc:
        raise ValueError(f"cache entry does not match {tp}: {exc}") from None


# -- the store ------------------------------------------------------------------------------------------------


@dataclass
class PageCache:
    """Cached stories by key under ``directory`` (None: a disabled cache that never hits and never writes)."""

    directory: Path | None
    stats: CacheStats = field(default_factory=CacheStats)

    def _path(self, key: str) -> Path:
        assert self.directory is not None
        return self.directory / key[:2] / f"{key}.json.z"

    def get(self, key: str | None) -> CachedStory | None:
        if self.directory is None or key is None:
            self.stats.misses += 1
            return None
        try:
            raw = self._path(key).read_bytes()
        except OSError:
            self.stats.misses += 1
            return None
        from storybook.render.rendered import RenderedStory

        try:
            document = json.loads(zlib.decompress(raw))
            if not isinstance(document, dict) or document.get("key") != key:
                raise ValueError("entry holds another key")
            words = [document[name] for name in ("title", "audience", "model")]
            if not all(isinstance(word, str) for word in words):
                raise ValueError("index words are not text")
            cached = CachedStory(decode_value(RenderedStory, document["page"]), *words)
        except (ValueError, KeyError, TypeError, zlib.error, RecursionError):
            self.stats.broken += 1
            self.stats.misses += 1
            return None
        self.stats.hits += 1
        return cached

    def put(self, key: str | None, cached: CachedStory) -> None:
        """Store an entry atomically; a value it cannot encode or a folder it cannot write is skipped."""
        if self.directory is None or key is None:
            return
        try:
            document = {"key": key, "title": cached.title, "audience": cached.audience, "model": cached.model,
                        "page": encode_value(cached.page)}
            data = json.dumps(document, ensure_ascii=False, allow_nan=False)
        except (TypeError, ValueError):
            return
        if write_atomically(self._path(key), zlib.compress(data.encode("utf-8"), 1)):
            self.stats.written += 1


@dataclass
class PdfCache:
    """PDFs by key under ``directory`` (None: disabled). A file that is not a whole PDF is ignored."""

    directory: Path | None
    stats: CacheStats = field(default_factory=CacheStats)

    def get(self, key: str) -> bytes | None:
        if self.directory is None:
            return None
        try:
            data = (self.directory / f"{key}.pdf").read_bytes()
        except OSError:
            self.stats.misses += 1
            return None
        if not data.startswith(b"%PDF-") or b"%%EOF" not in data[-1024:]:
            self.stats.broken += 1
            self.stats.misses += 1
            return None
        self.stats.hits += 1
        return data

    def put(self, key: str, data: bytes) -> None:
        if self.directory is not None and write_atomically(self.directory / f"{key}.pdf", data):
            self.stats.written += 1
