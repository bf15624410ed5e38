"""Permissions of the files storybook writes for its users: like any file the user writes, they follow the
umask (a temporary file made with :mod:`tempfile` is private, 0600, and would otherwise keep that mode)."""

from __future__ import annotations

import csv
import functools
import os
import secrets
import stat
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["CACHE_DIR", "SNAPSHOT_DIR", "SNAPSHOT_FILE", "FileTooLarge", "cache_secret", "csv_text", "file_mode",
           "folder_mode", "read_at_most", "umask", "write_atomically"]

# storybook's cache inside a project (downloaded artifacts; rendered pages, charts and PDFs), relative to its
# root. Defined once, here in a leaf, for resolve (storybook.resolve.source) and render (render/cache.py).
CACHE_DIR = ".storybook/cache"
# A pinned story's snapshot (stories/<slug>/snapshot.json) and the folder of its tables; here so that knowing
# whether a story is pinned imports no snapshot code (storybook.resolve.snapshot reads and writes them).
SNAPSHOT_FILE = "snapshot.json"
SNAPSHOT_DIR = "snapshot"


@functools.cache
def cache_secret() -> str:
    """A random key of this user's, kept outside every project (``$XDG_CACHE_HOME/storybook/cache-key``, else
    ``~/.cache/storybook/cache-key``, mode 0600), mixed into every key of storybook's caches. A cached page, chart,
    PDF or kept story is then found only on the machine (and by the user) that wrote it: a file someone else put
    under ``.storybook/cache`` (committed in a pull request, say) is never looked up, whatever it holds. Where the
    key cannot be kept, one for this process alone (the caches then last one command)."""
    try:
        folder = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "storybook"
        path = folder / "cache-key"
        for _ in range(2):
            try:
                with open(os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0)), encoding="ascii") as handle:
                    key = handle.read(100).strip()
                if len(key) == 64 and all(c in "0123456789abcdef" for c in key):
                    return key
                return secrets.token_hex(32)  # a file that is not a key: not trusted, not replaced
            except FileNotFoundError:
                folder.mkdir(mode=0o700, parents=True, exist_ok=True)
                try:
                    made = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
                except FileExistsError:  # another process made it first: read theirs
                    continue
                with open(made, "w", encoding="ascii") as handle:
                    handle.write(secrets.token_hex(32) + "\n")
    except (OSError, RuntimeError, UnicodeDecodeError):  # no home, a folder not writable, a link: this process only
        pass
    return secrets.token_hex(32)


def umask() -> int:
    """The process's umask, read without changing it where the system tells it (Linux), else set and restored."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    current = os.umask(0o022)
    os.umask(current)
    return current


def file_mode() -> int:
    """What ``open()`` would give a new file: 0666 less the umask. A file written again gets it too, so a
    snapshot that an earlier storybook wrote private (0600) follows the umask once it is pinned again."""
    return 0o666 & ~umask()


def folder_mode() -> int:
    """What ``mkdir`` would give a new folder: 0777 less the umask."""
    return 0o777 & ~umask()


class FileTooLarge(ValueError):
    """A file is larger than its reader allows; ``size`` is its size in bytes (at least ``limit`` + 1)."""

    def __init__(self, path: Path, size: int, limit: int) -> None:
        self.path, self.size, self.limit = path, size, limit
        super().__init__(f"{path} is {size:,} bytes, more than {limit:,}")


def read_at_most(path: Path, limit: int) -> bytes:
    """The bytes of the regular file ``path``, refused (:class:`FileTooLarge`) before reading when its size on
    disk is over ``limit``, and never reading more than ``limit`` + 1 bytes (a file that grows while read).

    Opened without blocking, so a named pipe or device in place of a file is refused (OSError), not waited on.
    """
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    try:
        status = os.fstat(fd)
        if not stat.S_ISREG(status.st_mode):
            raise OSError(f"{path} is not a regular file")
        if status.st_size > limit:
            raise FileTooLarge(path, status.st_size, limit)
        with os.fdopen(os.dup(fd), "rb") as stream:
            data = stream.read(limit + 1)
    finally:
        os.close(fd)
    if len(data) > limit:
        raise FileTooLarge(path, len(data), limit)
    return data


def write_atomically(path: Path, data: bytes) -> bool:
    """A cache entry written whole or not at all: a temp file in the same folder (with the user's file mode, not
    mkstemp's private 0600), then a rename; False, and nothing left behind, when it cannot be written."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temp = tempfile.mkstemp(prefix=f".{path.name[:8]}-", suffix=".tmp", dir=path.parent)
    except OSError:
        return False
    try:
        os.fchmod(handle, file_mode())
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
        os.replace(temp, path)
    except OSError:
        Path(temp).unlink(missing_ok=True)
        return False
    return True


def csv_text(frame: pd.DataFrame) -> str:
    """``frame`` as CSV text (no index, lines ending in LF) that ``pandas.read_csv`` reads back into the same rows.

    Python's CSV writer quotes a field only when it holds a character of the line ending it writes, so with LF
    a carriage return in a value or a column name (text pasted from another system) goes out bare, and the
    reader takes it for the end of a row. A table that holds one is written with every field quoted.
    """
    text = frame.to_csv(index=False, lineterminator="\n")
    if "\r" not in text:
        return text  # the common case: the same bytes as before, so pinned tables keep their hashes
    return frame.to_csv(index=False, lineterminator="\n", quoting=csv.QUOTE_ALL)
