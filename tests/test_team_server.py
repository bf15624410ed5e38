"""Team scale: a shared ``mlflow server`` on PostgreSQL with proxied artifacts, with and without basic auth.

Debian's PostgreSQL runs as a throwaway cluster (tests/postgres.py); a real ``mlflow server --serve-artifacts``
stores runs in it, and the example is really trained into that server, so every artifact travels through the
server's artifact proxy (``mlflow-artifacts:/`` URIs). The story built from there must tell the same numbers
as the one built from the local sqlite store. A second server on the same store runs MLflow's basic-auth app:
storybook builds with the right credentials, fails clearly with wrong ones, and never shows them.
"""

from __future__ import annotations

import base64
import html
import json
import os
import re
import secrets
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from storybook.cli import app
from tests.conftest import copy_example_project
from tests.mlflow_server import mlflow_server
from tests.postgres import PASSWORD as PG_PASSWORD
from tests.postgres import Cluster, postgres_bin, postgres_cluster

PG_BIN = postgres_bin()
pytestmark = [
    pytest.mark.server,
    pytest.mark.skipif(PG_BIN is None, reason="PostgreSQL's server binaries (initdb, pg_ctl) are not installed; "
                       "scripts/setup.sh installs Debian's postgresql package"),
]

runner = CliRunner()
STORY = "breast-cancer-screening"
ADMIN, ADMIN_PASSWORD = "admin", "Adm1n-pass-0451"
READER, READER_PASSWORD = "analyst-reader", "Re4der-pass-7731"
WRONG_PASSWORD = "Wr0ng-pass-9902"
# Everything that must never be shown: the users' and the database's credentials.
SECRETS = (READER, READER_PASSWORD, WRONG_PASSWORD, ADMIN_PASSWORD, PG_PASSWORD)
# MLflow's background job runner (GenAI evaluation jobs) is not what storybook needs, and it takes ~10 s to stop.
NO_JOBS = {"MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
NO_CREDENTIALS = {"MLFLOW_TRACKING_USERNAME": None, "MLFLOW_TRACKING_PASSWORD": None, "MLFLOW_TRACKING_TOKEN": None,
                  "MLFLOW_TRACKING_URI": None}


@dataclass(frozen=True)
class TeamStore:
    cluster: Cluster
    backend: str
    artifacts: Path
    url: str  # ``mlflow server --serve-artifacts`` without authentication
    auth_url: str  # a second server on the same store, behind MLflow's basic-auth app


@pytest.fixture(scope="module")
def team_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TeamStore]:
    """PostgreSQL + ``mlflow server --serve-artifacts``, with the example trained into it through the server.

    The basic-auth server starts (a subprocess) while the example trains, to keep the wait short; once it is up,
    the admin creates a user through the auth REST API, who reads everything (default_permission = READ).
    """
    from storybook.example import train_into

    assert PG_BIN is not None
    base = tmp_path_factory.mktemp("team")
    with ExitStack() as stack:
        cluster = stack.enter_context(postgres_cluster(PG_BIN))
        cluster.create_database("mlflow")
        cluster.create_database("mlflow_auth")
        backend = cluster.uri("mlflow")
        artifacts = base / "artifacts"
        url = stack.enter_context(mlflow_server(backend, artifacts, base / "server.log", extra=["--serve-artifacts"],
                                                env=NO_JOBS))

        config = base / "basic_auth.ini"
        config.write_text("[mlflow]\ndefault_permission = READ\n"
                          f"database_uri = {cluster.uri('mlflow_auth')}\n"
                          f"admin_username = {ADMIN}\nadmin_password = {ADMIN_PASSWORD}\n"
                          "authorization_function = mlflow.server.auth:authenticate_request_basic_auth\n"
                          # Check each password once a minute, not on every request (PBKDF2 is slow on purpose).
                          "auth_cache_ttl_seconds = 60\n")
        auth_server = mlflow_server(backend, artifacts, base / "auth-server.log",
                                    extra=["--serve-artifacts", "--app-name", "basic-auth"],
                                    env={**NO_JOBS, "MLFLOW_AUTH_CONFIG_PATH": str(config),
                                         "MLFLOW_FLASK_SERVER_SECRET_KEY": secrets.token_hex(16)})
        with ThreadPoolExecutor(1) as pool, _mlflow_globals_kept():
            starting = pool.submit(auth_server.__enter__)
            try:
                summary = train_into(url)
            finally:
                auth_url = starting.result()
                stack.push(auth_server)
        assert f"logged to {url} as {STORY}" in summary
        _api(auth_url, "POST", "users/create", {"username": READER, "password": READER_PASSWORD},
             (ADMIN, ADMIN_PASSWORD))
        yield TeamStore(cluster, backend, artifacts, url, auth_url)


@contextmanager
def _mlflow_globals_kept() -> Iterator[None]:
    """Training sets MLflow's process-wide tracking and registry URIs (and their environment variables); the
    server is gone after this module, so later tests get back what they had."""
    import mlflow.tracking._model_registry.utils as registry_utils
    import mlflow.tracking._tracking_service.utils as tracking_utils

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(tracking_utils, "_tracking_uri", tracking_utils._tracking_uri)
        patch.setattr(registry_utils, "_registry_uri", registry_utils._registry_uri)
        for name in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI"):
            if name in os.environ:
                patch.setenv(name, os.environ[name])
            else:  # recorded as absent, so that undoing deletes what training sets
                patch.setenv(name, "")
                patch.delenv(name)
        yield


@pytest.fixture
def auth_url(team_store: TeamStore) -> str:
    return team_store.auth_url


def _api(url: str, method: str, endpoint: str, body: dict[str, str], user: tuple[str, str]) -> object:
    token = base64.b64encode(f"{user[0]}:{user[1]}".encode()).decode()
    request = urllib.request.Request(f"{url}/api/2.0/mlflow/{endpoint}", data=json.dumps(body).encode(),
                                     method=method, headers={"Authorization": f"Basic {token}",
                                                             "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read() or b"{}")


@pytest.fixture(scope="module")
def sqlite_page(trained_project: Path, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The story built from the local sqlite store (the trained_project fixture), as the reference."""
    out = tmp_path_factory.mktemp("sqlite-site")
    result = runner.invoke(app, ["build", str(trained_project), "--no-pdf", "--out", str(out)])
    assert result.exit_code == 0, result.output
    return (out / f"{STORY}.html").read_text()


def _project(tmp_path: Path, tracking_uri: str) -> Path:
    """The example project (stories only, no local store) pointing at ``tracking_uri``."""
    root = copy_example_project(tmp_path / "project")
    config = root / "storybook.yaml"
    text = config.read_text()
    assert "tracking_uri: sqlite:///mlflow/mlflow.db" in text
    config.write_text(text.replace("sqlite:///mlflow/mlflow.db", tracking_uri))
    return root


def _figures(page: str) -> dict[str, str]:
    return dict(re.findall(r'data-metric="([^"]+)">([^<]+)<', page))


def _text(page: str) -> str:
    page = re.sub(r"<(script|style|svg)\b.*?</\1>", " ", page, flags=re.S)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page)))


def _cost_of_error(page: str) -> str:
    """The text of the cost-of-error section: natural frequencies ('Out of 1,000 patients, ...') and costs."""
    match = re.search(r'<section id="cost-of-error">(.*?)(?=<section id=)', page, flags=re.S)
    assert match is not None, "the page has no cost-of-error section"
    return _text(match.group(1)).strip()


def _same_story(page: str, reference: str) -> None:
    assert _figures(page) == _figures(reference)
    assert len(_figures(page)) == 5
    told = _cost_of_error(page)
    assert re.search(r"Out of 1,000 patients, \d+ are put at the front of the queue: \d+ of them have a malignant "
                     r"tumour and \d+ do not\.", told), told
    assert re.search(r"costs about [\d,]+ hours of specialist time for every 1,000 patients", told), told
    assert told == _cost_of_error(reference)


def _assert_no_secrets(output: str, *folders: Path) -> None:
    for secret in SECRETS:
        assert secret not in output, secret
    for folder in folders:
        for path in folder.rglob("*"):
            if not path.is_file():
                continue
            content = path.read_bytes()
            for secret in SECRETS:
                assert secret.encode() not in content, (secret, path)
            if path.suffix == ".pdf":
                from pypdf import PdfReader

                text = "".join(page.extract_text() for page in PdfReader(path).pages)
                # The text was read (a sentinel of each version), so the secret checks below mean something.
                sentinel = "One-page summary" if path.name.endswith(".summary.pdf") else "Where the numbers come from"
                assert sentinel in text
                for secret in SECRETS:
                    assert secret not in text, (secret, path)


def test_example_logged_through_the_server_keeps_artifacts_behind_its_proxy(team_store: TeamStore) -> None:
    from mlflow.tracking import MlflowClient

    client = MlflowClient(team_store.url, team_store.url)
    champion = client.get_model_version_by_alias(STORY, "champion")
    run = client.get_run(str(champion.run_id))
    assert run.info.artifact_uri.startswith("mlflow-artifacts:/"), run.info.artifact_uri
    assert run.data.params["seed"] == "7"
    stored = list(team_store.artifacts.rglob(f"{champion.run_id}/artifacts/evaluation/scored.csv"))
    assert len(stored) == 1  # written by the server into --artifacts-destination, not by the client


def test_build_from_postgres_server_matches_sqlite(team_store: TeamStore, sqlite_page: str, tmp_path: Path) -> None:
    project = _project(tmp_path, team_store.url)
    result = runner.invoke(app, ["build", str(project), "--no-pdf"], env=NO_CREDENTIALS)
    assert result.exit_code == 0, result.output
    page = (project / "site" / f"{STORY}.html").read_text()
    _same_story(page, sqlite_page)
    assert team_store.url in page  # provenance names the server it read from
    assert "postgresql" not in page and PG_PASSWORD not in page  # the server's own store stays behind it
    # The evaluation set came through the proxy into storybook's cache.
    assert list((project / ".storybook").rglob("scored.csv"))


def test_basic_auth_with_credentials_from_the_environment(auth_url: str, sqlite_page: str, tmp_path: Path) -> None:
    project = _project(tmp_path, auth_url)
    result = runner.invoke(app, ["build", str(project), "--pdf"],
                           env={**NO_CREDENTIALS, "MLFLOW_TRACKING_USERNAME": READER,
                                "MLFLOW_TRACKING_PASSWORD": READER_PASSWORD})
    assert result.exit_code == 0, result.output
    assert (project / "site" / f"{STORY}.pdf").is_file()
    page = (project / "site" / f"{STORY}.html").read_text()
    _same_story(page, sqlite_page)
    assert auth_url in page
    _assert_no_secrets(result.output, project / "site")


def test_basic_auth_with_credentials_referred_to_in_storybook_yaml(auth_url: str, sqlite_page: str,
                                                                  tmp_path: Path) -> None:
    project = _project(tmp_path, auth_url.replace("http://", "http://${TEAM_USER}:${TEAM_PASSWORD}@"))
    env = {**NO_CREDENTIALS, "TEAM_USER": READER, "TEAM_PASSWORD": READER_PASSWORD}
    result = runner.invoke(app, ["build", str(project), "--no-pdf"], env=env)
    assert result.exit_code == 0, result.output
    _same_story((project / "site" / f"{STORY}.html").read_text(), sqlite_page)

    # Pin through the server: the snapshot names the server without credentials, and builds offline the same.
    pinned = runner.invoke(app, ["pin", str(project)], env=env)
    assert pinned.exit_code == 0, pinned.output
    snapshot = (project / "stories" / STORY / "snapshot.json").read_text()
    assert auth_url in snapshot
    offline = runner.invoke(app, ["build", str(project), "--no-pdf", "--offline", "--out", str(tmp_path / "off")],
                            env=NO_CREDENTIALS)
    assert offline.exit_code == 0, offline.output
    _same_story((tmp_path / "off" / f"{STORY}.html").read_text(), sqlite_page)
    _assert_no_secrets(result.output + pinned.output + offline.output, project / "site", project / "stories",
                       tmp_path / "off")


@pytest.mark.parametrize("how", ["environment", "uri", "none"])
def test_basic_auth_refuses_wrong_credentials_clearly(auth_url: str, tmp_path: Path, how: str) -> None:
    env: dict[str, str | None] = dict(NO_CREDENTIALS)
    uri = auth_url
    if how == "environment":
        env |= {"MLFLOW_TRACKING_USERNAME": READER, "MLFLOW_TRACKING_PASSWORD": WRONG_PASSWORD}
    elif how == "uri":
        uri = auth_url.replace("http://", "http://${TEAM_USER}:${TEAM_PASSWORD}@")
        env |= {"TEAM_USER": READER, "TEAM_PASSWORD": WRONG_PASSWORD}
    project = _project(tmp_path, uri)
    result = runner.invoke(app, ["build", str(project), "--pdf"], env=env)
    assert result.exit_code == 1, result.output
    assert re.search(r"story\.yaml:\d+: MLflow at http://127\.0\.0\.1:\d+ refused the credentials while resolving "
                     r"model breast-cancer-screening@champion", result.output), result.output
    assert "Traceback" not in result.output
    assert not (project / "site" / f"{STORY}.html").exists()
    _assert_no_secrets(result.output, project)

