"""A tracking URI whose password holds an unencoded '/' (``http://u:p@ss/w@host``) is refused before any request.

storybook shows such a URI as meant (host ``host``), but MLflow's HTTP client splits it at the first '/': it sent
every request, with part of the password as Basic credentials, to the host named inside the password, and the
build then said the model "is not in the model registry at http://host" — a server it never asked.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from storybook.cli import app
from storybook.errors import ConfigError
from storybook.resolve.tracking import tracking_uri
from tests.test_credentials import listener

runner = CliRunner()


def _project(root: Path) -> Path:
    (root / "stories" / "s").mkdir(parents=True)
    (root / "storybook.yaml").write_text("title: T\npdf: false\ntracking_uri: ${TEAM_URI}\n")
    (root / "stories" / "s" / "story.yaml").write_text(
        "title: t\nsummary: s\naudience: a\nowner: o\nmodel: {name: m, alias: champion}\n"
        "intended_use: {primary: p, users: [u], out_of_scope: [x]}\n"
        "metrics: [{key: test_recall, label: Found, kind: recall}]\n"
        "evaluation: {artifact: scored.csv, threshold: 0.5, positive_means: p, negative_means: n}\n")
    for name in ("ethical-considerations.md", "caveats-and-recommendations.md"):
        (root / "stories" / "s" / name).write_text("People decide.\n")
    return root


def test_a_password_with_an_unencoded_slash_sends_nothing_anywhere(tmp_path: Path) -> None:
    project = _project(tmp_path)
    with listener() as (port, seen):
        uri = f"http://alice:Tr0ub@127.0.0.1:{port}/dor@127.0.0.1:9"  # the password is Tr0ub@127.0.0.1:<port>/dor
        result = runner.invoke(app, ["build", str(project), "--jobs", "1"], env={"TEAM_URI": uri})
    assert seen == []  # before: three registry searches reached the listener with Basic alice:Tr0ub
    assert result.exit_code == 2, result.output
    assert "storybook.yaml:3: tracking_uri: the password in the tracking URI holds an unencoded '/'" in result.output
    assert "another host than http://127.0.0.1:9" in result.output
    for piece in ("Tr0ub", "dor", str(port)):
        assert piece not in result.output


def test_the_same_password_percent_encoded_is_read(tmp_path: Path) -> None:
    assert tracking_uri("http://alice:Tr0ub%40x%2Fdor@127.0.0.1:9", tmp_path) == \
        "http://alice:Tr0ub%40x%2Fdor@127.0.0.1:9"
    with pytest.raises(ConfigError, match="MLFLOW_TRACKING_URI: the password"):
        tracking_uri(None, tmp_path, env={"MLFLOW_TRACKING_URI": "http://alice:Tr0ub@x/dor@127.0.0.1:9"})
