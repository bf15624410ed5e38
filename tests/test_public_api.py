"""storybook/__init__.py: the small Python API, each name imported on first use."""

from __future__ import annotations

import subprocess
import sys

import pytest

import storybook


def test_importing_the_package_imports_none_of_the_api_s_heavy_parts() -> None:
    done = subprocess.run([sys.executable, "-c", "import sys, storybook; "
                           "print(sorted({'numpy', 'pandas', 'pyarrow', 'duckdb'} & set(sys.modules)))"],
                          capture_output=True, text=True, timeout=120, check=True)
    assert done.stdout.strip() == "[]"


def test_every_name_of_the_api_resolves_to_its_module_s_object() -> None:
    import importlib

    assert sorted(storybook.__all__) == sorted(storybook._EXPORTS)
    for name, module in storybook._EXPORTS.items():
        assert getattr(storybook, name) is getattr(importlib.import_module(module), name)
    with pytest.raises(AttributeError, match="no attribute 'log_everything'"):
        storybook.log_everything  # noqa: B018
