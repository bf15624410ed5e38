"""Shared names for review tests (the pinned-project fixtures live in tests/conftest.py)."""

from __future__ import annotations

STORY = "breast-cancer-screening"
