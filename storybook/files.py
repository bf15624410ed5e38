"""Permissions of the files storybook writes for its users: like any file the user writes, they follow the
umask (a temporary file made with :mod:`tempfile` is private, 0600, and would otherwise keep that mode)."""

from __future__ import annotations

import os

__all__ = ["file_mode", "folder_mode", "umask"]


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
