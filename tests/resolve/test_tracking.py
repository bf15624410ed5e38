"""The tracking URI: where it comes from, how it is shown, and scrubbing credentials out of any text."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from storybook.errors import ConfigError
from storybook.resolve.tracking import Secrets, artifact_refusal, display_uri, tracking_uri


@pytest.mark.parametrize(
    ("uri", "shown"),
    [
        ("https://alice:s3cret@mlflow.example.org:5000/api?token=abc#frag", "https://mlflow.example.org:5000/api"),
        ("http://token-only@mlflow.example.org/", "http://mlflow.example.org/"),
        ("https://mlflow.example.org", "https://mlflow.example.org"),
        ("postgresql://user:pw@db.internal:5432/mlflow", "postgresql://db.internal:5432/mlflow"),
        ("mysql+pymysql://user:pw@db/mlflow?ssl=1", "mysql+pymysql://db/mlflow"),
        ("http://user:p@ss@host/", "http://host/"),
        ("http://user:pw@[::1]:5000/x", "http://[::1]:5000/x"),
        ("http://user:pw@host:99999/", "http://host:99999/"),
        ("http://user:pw@[::1/x?token=abc", "http://[::1/x"),
        ("sqlite:////abs/mlflow.db", "sqlite:////abs/mlflow.db"),
        ("databricks", "databricks"),
        ("/abs/mlruns", "/abs/mlruns"),
    ],
)
def test_display_uri_drops_credentials_and_query(uri: str, shown: str) -> None:
    assert display_uri(uri) == shown


@settings(max_examples=200, deadline=None)
@given(user=st.text(st.characters(codec="ascii", exclude_characters="/?#@[]\\"), min_size=3, max_size=12),
       password=st.text(st.characters(codec="ascii", exclude_characters="/?#@[]\\"), min_size=3, max_size=12),
       host=st.sampled_from(["mlflow.example.org", "10.0.0.1:5000", "[::1]:8080"]))
def test_display_uri_never_shows_the_password(user: str, password: str, host: str) -> None:
    uri = f"https://{user}:{password}@{host}/path?token={password}"
    shown = display_uri(uri)
    assert "@" not in shown and "?" not in shown
    assert shown == f"https://{host}/path"


def test_scrub_removes_uri_credentials_everywhere() -> None:
    uri = "https://alice:s3cret-pw@mlflow.example.org/?token=t0k3n-value&x=1"
    secrets = Secrets(uri, env={})
    text = (f"request to {uri} failed: password s3cret-pw rejected for alice; token t0k3n-value expired; "
            "also https://bob:other-pw@elsewhere.example/ failed")
    scrubbed = secrets.scrub(text)
    for secret in ("s3cret-pw", "t0k3n-value", "alice", "other-pw"):
        assert secret not in scrubbed
    assert "https://mlflow.example.org/" in scrubbed
    assert "https://***@elsewhere.example/" in scrubbed


def test_scrub_removes_percent_decoded_passwords() -> None:
    secrets = Secrets("https://alice:p%40ssw0rd@host/", env={})
    scrubbed = secrets.scrub("server said: bad password 'p@ssw0rd' (p%40ssw0rd)")
    assert "p@ssw0rd" not in scrubbed and "p%40ssw0rd" not in scrubbed


def test_scrub_removes_tokens_from_the_environment() -> None:
    env = {"MLFLOW_TRACKING_TOKEN": "dapi-1234567890", "MLFLOW_TRACKING_PASSWORD": "hunter22",
           "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI", "DATABRICKS_TOKEN": "dbtok-xyz", "UNRELATED": "keep-me"}
    secrets = Secrets("https://mlflow.example.org", env=env)
    text = ("401 Unauthorized: Bearer dapi-1234567890; basic hunter22; aws wJalrXUtnFEMI; dbx dbtok-xyz; "
            "other keep-me")
    scrubbed = secrets.scrub(text)
    for secret in ("dapi-1234567890", "hunter22", "wJalrXUtnFEMI", "dbtok-xyz"):
        assert secret not in scrubbed
    assert "keep-me" in scrubbed
    assert scrubbed.count("***") == 4


def test_scrub_reads_os_environ_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", "env-token-abc")
    assert "env-token-abc" not in Secrets("http://localhost:5000").scrub("token env-token-abc refused")


def test_longer_secrets_are_scrubbed_before_their_prefixes() -> None:
    secrets = Secrets("https://u:abcdef@h/", env={"MLFLOW_TRACKING_TOKEN": "abcdefghij"})
    assert secrets.scrub("abcdefghij") == "***"


SECRET = st.text(st.characters(codec="ascii", categories=["L", "N"]), min_size=8, max_size=16)


@settings(max_examples=200, deadline=None)
@given(token=SECRET, password=SECRET, before=st.text(max_size=40), after=st.text(max_size=40))
def test_scrub_removes_secrets_from_any_text(token: str, password: str, before: str, after: str) -> None:
    secrets = Secrets(f"https://user:{password}@mlflow.example.org/", env={"MLFLOW_TRACKING_TOKEN": token})
    scrubbed = secrets.scrub(f"{before}{token}{after} {password}{before}")
    assert token not in scrubbed
    assert password not in scrubbed


def test_relative_sqlite_path_resolves_against_the_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # the working directory must not matter
    root = tmp_path / "project"
    assert tracking_uri("sqlite:///mlflow/mlflow.db", root, env={}) == f"sqlite:///{root.resolve()}/mlflow/mlflow.db"
    assert tracking_uri("sqlite:///../shared.db", root, env={}) == f"sqlite:///{tmp_path.resolve()}/shared.db"


def test_absolute_sqlite_path_is_kept(tmp_path: Path) -> None:
    assert tracking_uri("sqlite:////data/mlflow.db", tmp_path, env={}) == "sqlite:////data/mlflow.db"


def test_relative_folder_resolves_against_the_project(tmp_path: Path) -> None:
    assert tracking_uri("mlruns", tmp_path, env={}) == str((tmp_path / "mlruns").resolve())


def test_remote_uri_is_kept(tmp_path: Path) -> None:
    assert tracking_uri("https://mlflow.example.org", tmp_path, env={}) == "https://mlflow.example.org"
    assert tracking_uri("databricks", tmp_path, env={}) == "databricks"


def test_variables_are_expanded(tmp_path: Path) -> None:
    env = {"MLFLOW_HOST": "mlflow.example.org", "PORT": "5000"}
    assert tracking_uri("https://${MLFLOW_HOST}:${PORT}/", tmp_path, env=env) == "https://mlflow.example.org:5000/"


def test_expanded_relative_sqlite_path_still_resolves_against_the_project(tmp_path: Path) -> None:
    assert tracking_uri("sqlite:///${DIR}/m.db", tmp_path, env={"DIR": "data"}) == (
        f"sqlite:///{tmp_path.resolve()}/data/m.db")


def test_missing_variable_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        tracking_uri("https://${NOT_SET_ANYWHERE}/", tmp_path, env={"OTHER": "x"})
    assert "${NOT_SET_ANYWHERE}" in caught.value.message
    assert caught.value.hint is not None and "export NOT_SET_ANYWHERE" in caught.value.hint


def test_falls_back_to_the_environment(tmp_path: Path) -> None:
    assert tracking_uri(None, tmp_path, env={"MLFLOW_TRACKING_URI": "http://localhost:5000"}) == "http://localhost:5000"


@pytest.mark.parametrize("env", [{}, {"MLFLOW_TRACKING_URI": ""}])
def test_no_uri_at_all_is_a_config_error(tmp_path: Path, env: dict[str, str]) -> None:
    with pytest.raises(ConfigError, match="no MLflow tracking URI"):
        tracking_uri(None, tmp_path, env=env)


@pytest.mark.parametrize(("uri", "shown"), [
    ("http://u:p@ss/w@mlflow.example.org", "http://mlflow.example.org"),
    ("https://u:p@ss/w@mlflow.example.org:5000/api?x=1", "https://mlflow.example.org:5000/api"),
    ("http://u:pa/ss@mlflow.example.org/x", "http://mlflow.example.org/x"),
    ("http://mlflow.example.org/path/with@sign", "http://mlflow.example.org/path/with@sign"),
    ("http://mlflow.example.org:5000/a@b", "http://mlflow.example.org:5000/a@b"),
])
def test_display_uri_takes_a_password_with_an_unencoded_slash_as_a_password(uri: str, shown: str) -> None:
    assert display_uri(uri) == shown


def test_scrub_removes_every_form_a_credential_takes() -> None:
    import base64
    import json

    env = {"MLFLOW_TRACKING_USERNAME": "alice", "MLFLOW_TRACKING_PASSWORD": "pw/with@odd\"chars",
           "MLFLOW_TRACKING_TOKEN": "tok-abcdef-123"}
    secrets = Secrets("http://bob:p@ss/w0rd@mlflow.example.org", env=env)
    basic = base64.b64encode(b"alice:pw/with@odd\"chars").decode()
    uri_basic = base64.b64encode(b"bob:p@ss/w0rd").decode()
    echoed = (f"you sent Authorization: Basic {basic}; also {uri_basic}; Bearer tok-abcdef-123; "
              f"json {json.dumps(env['MLFLOW_TRACKING_PASSWORD'])}; encoded pw%2Fwith%40odd%22chars; "
              "raw p@ss/w0rd; url http://bob:p@ss/w0rd@mlflow.example.org/api; other Bearer eyJhbGciOiJIUzI1")
    scrubbed = secrets.scrub(echoed)
    for secret in (basic, uri_basic, "tok-abcdef-123", "pw/with@odd", "pw%2Fwith", "p@ss/w0rd", "w0rd",
                   "eyJhbGciOiJIUzI1"):
        assert secret not in scrubbed, (secret, scrubbed)
    assert "http://mlflow.example.org/api" in scrubbed  # the URI is still told, without its credentials


@pytest.mark.parametrize(("artifact", "tracking", "allowed", "refused"), [
    ("mlflow-artifacts:/1/abc/artifacts", "http://mlflow.example.org:5000", (), False),
    ("mlflow-artifacts://mlflow.example.org:5000/1/abc", "https://u:p@mlflow.example.org:5000", (), False),
    ("mlflow-artifacts://other.example.org:5000/1/abc", "http://mlflow.example.org:5000", (), True),
    ("mlflow-artifacts://mlflow.example.org:5001/1/abc", "http://mlflow.example.org:5000", (), True),
    ("http://mlflow.example.org:5000/files/x", "http://mlflow.example.org:5000", (), False),
    ("http://mlflow.example.org:80/files/x", "http://mlflow.example.org", (), False),
    ("https://mlflow.example.org:5000/files/x", "http://mlflow.example.org:5000", (), True),
    ("http://attacker.example/x", "http://mlflow.example.org", (), True),
    ("s3://team-bucket/mlflow/1/abc", "http://mlflow.example.org", (), True),
    ("s3://team-bucket/mlflow/1/abc", "http://mlflow.example.org", ("s3://team-bucket/mlflow",), False),
    ("s3://team-bucket/mlflowx/1", "http://mlflow.example.org", ("s3://team-bucket/mlflow",), True),
    ("s3://team-bucket/mlflow/../other", "http://mlflow.example.org", ("s3://team-bucket/mlflow",), True),
    ("http://u:p@mlflow.example.org/x", "http://mlflow.example.org", (), True),
    ("/srv/mlruns/1/abc/artifacts", "sqlite:////srv/mlflow.db", (), False),
    ("file:///srv/mlruns/1/abc/artifacts", "http://mlflow.example.org", (), False),
    ("file://fileserver/share/x", "sqlite:////srv/mlflow.db", (), True),
    ("http://attacker.example/x", "postgresql://db.internal/mlflow", (), True),
])
def test_artifacts_are_read_only_from_the_tracking_server_this_machine_or_a_listed_store(
        artifact: str, tracking: str, allowed: tuple[str, ...], refused: bool) -> None:
    assert (artifact_refusal(artifact, tracking, allowed) is not None) == refused
