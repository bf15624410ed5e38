"""Build a project through the CLI in a new Python process, to see which heavy packages a build imports."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

HEAVY = ("mlflow", "weasyprint", "altair")
MODEL_LOADING = ("sklearn", "skops")  # what loading a logged scikit-learn model imports

_CODE = """
import json, sys
from typer.testing import CliRunner
from storybook.cli import app
result = CliRunner().invoke(app, ['build', *sys.argv[1:]])
heavy = sorted({name.split('.')[0] for name in sys.modules} & set(json.loads(sys.stdin.read())))
print(json.dumps({'exit_code': result.exit_code, 'output': result.output, 'heavy': heavy}))
"""


def build_in_fresh_process(project: Path, *options: str, cwd: Path | None = None,
                           heavy: tuple[str, ...] = HEAVY) -> list[str]:
    """Run ``storybook build PROJECT OPTIONS`` in a fresh interpreter (no MLFLOW_TRACKING_URI); assert it built,
    and return the heavy packages (``heavy``: by default mlflow, weasyprint, altair) it imported."""
    done = subprocess.run([sys.executable, "-c", _CODE, str(project), *options], input=json.dumps(heavy),
                          capture_output=True, text=True, timeout=300, cwd=cwd,
                          env={**os.environ, "MLFLOW_TRACKING_URI": ""})
    assert done.returncode == 0, done.stdout + done.stderr
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert found["exit_code"] == 0, found["output"]
    return list(found["heavy"])
