"""The example story built through a real ``mlflow server`` gives the same figures as the sqlite store."""

from __future__ import annotations

import re
from pathlib import Path

from typer.testing import CliRunner

from storybook.cli import app
from tests.mlflow_server import mlflow_server

runner = CliRunner()
STORY = "breast-cancer-screening"


def _figures(page: str) -> dict[str, str]:
    return dict(re.findall(r'data-metric="([^"]+)">([^<]+)<', page))


def test_build_through_mlflow_server_matches_sqlite(project_copy: Path, tmp_path: Path) -> None:
    assert runner.invoke(app, ["build", str(project_copy), "--no-pdf"]).exit_code == 0
    from_sqlite = (project_copy / "site" / f"{STORY}.html").read_text()

    backend = f"sqlite:///{project_copy / 'mlflow' / 'mlflow.db'}"
    with mlflow_server(backend, tmp_path / "served", tmp_path / "server.log") as url:
        config = project_copy / "storybook.yaml"
        config.write_text(config.read_text().replace("sqlite:///mlflow/mlflow.db", url))
        result = runner.invoke(app, ["build", str(project_copy), "--no-pdf", "--out", str(tmp_path / "site")])
        assert result.exit_code == 0, result.output
    from_server = (tmp_path / "site" / f"{STORY}.html").read_text()
    assert _figures(from_server) == _figures(from_sqlite)
    assert len(_figures(from_server)) == 5
    assert url in from_server  # provenance names the server it read from


def test_server_that_is_down_gives_a_clear_error(project_copy: Path) -> None:
    from tests.mlflow_server import free_port

    config = project_copy / "storybook.yaml"
    config.write_text(config.read_text().replace("sqlite:///mlflow/mlflow.db",
                                                 f"http://user:s3cret-pass@127.0.0.1:{free_port()}"))
    result = runner.invoke(app, ["build", str(project_copy), "--no-pdf"])
    assert result.exit_code == 1
    assert re.search(r"story\.yaml:\d+: MLflow at http://127\.0\.0\.1:\d+ could not be reached "
                     r"\(connection refused\) while resolving model breast-cancer-screening@champion", result.output)
    assert "s3cret-pass" not in result.output and "user:" not in result.output
    assert "Traceback" not in result.output


def test_credentials_never_reach_the_site_or_the_terminal(project_copy: Path, tmp_path: Path) -> None:
    backend = f"sqlite:///{project_copy / 'mlflow' / 'mlflow.db'}"
    with mlflow_server(backend, tmp_path / "served", tmp_path / "server.log") as url:
        config = project_copy / "storybook.yaml"
        with_password = url.replace("http://", "http://alice:hunter2-secret@")
        config.write_text(config.read_text().replace("sqlite:///mlflow/mlflow.db", "${TEAM_MLFLOW_URI}"))
        result = runner.invoke(app, ["build", str(project_copy), "--pdf"],
                               env={"TEAM_MLFLOW_URI": with_password, "MLFLOW_TRACKING_TOKEN": "tok-98765-secret"})
        assert result.exit_code == 0, result.output
    assert "hunter2" not in result.output and "alice" not in result.output
    for path in (project_copy / "site").rglob("*"):
        if path.is_file():
            content = path.read_bytes()
            assert b"hunter2" not in content and b"alice:" not in content and b"tok-98765" not in content, path
    page = (project_copy / "site" / f"{STORY}.html").read_text()
    assert url in page

    from pypdf import PdfReader

    pdf_text = "".join(p.extract_text() for p in PdfReader(project_copy / "site" / f"{STORY}.pdf").pages)
    assert "Where the numbers come from" in pdf_text
    assert "hunter2" not in pdf_text and "alice" not in pdf_text
