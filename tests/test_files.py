"""storybook.files: the modes of the files storybook writes follow the umask, and a file is read only up to its
cap: its size is checked before reading (a sparse file of 4 GiB is refused at once), a pipe is never waited on.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from storybook.files import FileTooLarge, cache_secret, file_mode, folder_mode, read_at_most, umask

HUGE = 4 * 2**30


def _sparse(path: Path, size: int = HUGE) -> Path:
    """A file of ``size`` bytes on paper and no blocks on disk: reading it whole would take seconds."""
    with path.open("wb") as handle:
        handle.truncate(size)
    return path


@pytest.fixture
def private_group() -> Iterator[None]:
    previous = os.umask(0o027)
    try:
        yield
    finally:
        os.umask(previous)


def test_modes_are_what_open_and_mkdir_would_give(private_group: None) -> None:
    # 0666 & ~0027 = 0640 and 0777 & ~0027 = 0750, as the system gives a new file and folder.
    assert umask() == 0o027 and umask() == 0o027  # read, not changed
    assert (file_mode(), folder_mode()) == (0o640, 0o750)


def test_a_file_at_its_cap_is_read_and_one_byte_more_is_refused(tmp_path: Path) -> None:
    (tmp_path / "at").write_bytes(b"x" * 1000)
    (tmp_path / "over").write_bytes(b"x" * 1001)
    assert read_at_most(tmp_path / "at", 1000) == b"x" * 1000
    with pytest.raises(FileTooLarge) as raised:
        read_at_most(tmp_path / "over", 1000)
    assert (raised.value.size, raised.value.limit) == (1001, 1000)
    assert str(raised.value) == f"{tmp_path / 'over'} is 1,001 bytes, more than 1,000"
    assert isinstance(raised.value, ValueError)
    with pytest.raises(OSError, match="not a regular file"):
        read_at_most(tmp_path, 1000)


def test_read_at_most_checks_the_size_before_reading(tmp_path: Path) -> None:
    start = time.perf_counter()
    with pytest.raises(FileTooLarge) as raised:
        read_at_most(_sparse(tmp_path / "big"), 1000)
    assert raised.value.size == HUGE
    assert time.perf_counter() - start < 1
    (tmp_path / "small").write_bytes(b"x" * 1000)
    assert read_at_most(tmp_path / "small", 1000) == b"x" * 1000


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes")
def test_a_named_pipe_is_refused_not_waited_on(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe")
    with pytest.raises(OSError, match="not a regular file"):
        read_at_most(tmp_path / "pipe", 1000)


def _secret_in(home: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("XDG_CACHE_HOME", str(home))
    cache_secret.cache_clear()
    return cache_secret()


def test_the_cache_key_is_kept_private_for_this_user_and_never_read_through_a_link(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    try:
        first = _secret_in(tmp_path / "a", monkeypatch)
        kept = tmp_path / "a" / "storybook" / "cache-key"
        assert kept.read_text().strip() == first and len(first) == 64
        assert kept.stat().st_mode & 0o777 == 0o600 and kept.parent.stat().st_mode & 0o077 == 0
        assert _secret_in(tmp_path / "a", monkeypatch) == first  # a new process finds the same key
        assert _secret_in(tmp_path / "b", monkeypatch) != first  # another machine or user has its own
        planted = tmp_path / "c" / "storybook"
        planted.mkdir(parents=True)
        (planted / "cache-key").symlink_to(kept)
        assert _secret_in(tmp_path / "c", monkeypatch) != first  # a link is not followed (a key for this process)
        (tmp_path / "d" / "storybook").mkdir(parents=True)
        (tmp_path / "d" / "storybook" / "cache-key").write_text("not a key\n")
        assert len(_secret_in(tmp_path / "d", monkeypatch)) == 64
        assert (tmp_path / "d" / "storybook" / "cache-key").read_text() == "not a key\n"  # never replaced
    finally:
        cache_secret.cache_clear()
