"""The tracking URI: where it comes from, and how it is shown without credentials."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlsplit, urlunsplit

from storybook.errors import ConfigError

__all__ = ["SECRET_ENV_VARS", "Secrets", "display_uri", "tracking_uri"]

SECRET_ENV_VARS = (
    "MLFLOW_TRACKING_TOKEN", "MLFLOW_TRACKING_PASSWORD", "MLFLOW_TRACKING_USERNAME",
    "MLFLOW_TRACKING_CLIENT_CERT_PATH", "DATABRICKS_TOKEN", "AWS_SECRET_ACCESS_KEY",
)
_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def tracking_uri(configured: str | None, root: Path, env: Mapping[str, str] | None = None) -> str:
    """The URI to use: the project's setting (with ${VAR} expanded) or MLFLOW_TRACKING_URI.

    A relative sqlite path or a relative folder is taken relative to the project, not the working directory.
    """
    env = os.environ if env is None else env
    uri = configured if configured is not None else env.get("MLFLOW_TRACKING_URI")
    if not uri:
        raise ConfigError(
            "no MLflow tracking URI: storybook.yaml has no tracking_uri and MLFLOW_TRACKING_URI is not set",
            hint="set tracking_uri in storybook.yaml (e.g. sqlite:///mlflow/mlflow.db) or export "
            "MLFLOW_TRACKING_URI",
        )

    def expand(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in env:
            raise ConfigError(f"tracking_uri refers to ${{{name}}}, which is not set in the environment",
                              hint=f"export {name}=... before running storybook")
        return env[name]

    uri = _VARIABLE.sub(expand, uri)
    if uri.startswith("sqlite:///") and not uri.startswith("sqlite:////"):
        return "sqlite:///" + str((root / uri.removeprefix("sqlite:///")).resolve())
    if "://" not in uri and not uri.startswith("databricks"):
        return str((root / uri).resolve())
    return uri


def display_uri(uri: str) -> str:
    """The URI as it may appear anywhere a person can read it: no user, password or query string."""
    try:
        parts = urlsplit(uri)
    except ValueError:  # e.g. an unclosed IPv6 bracket: cut by hand rather than fail or show it whole
        return re.split(r"[?#]", re.sub(r"(?<=//)[^/?#]*@", "", uri, count=1), maxsplit=1)[0]
    if not parts.scheme or parts.scheme == "sqlite" or "://" not in uri:
        return uri
    # The host as written (IPv6 brackets, port) after the last '@'; parts.port would raise on a bad port.
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def _uri_secrets(uri: str) -> set[str]:
    """User, password and query values of ``uri``, as written and percent-decoded."""
    try:
        parts = urlsplit(uri)
        userinfo = parts.netloc.rpartition("@")[0]
        query = parts.query
    except ValueError:
        match = re.search(r"//([^/?#]*)@", uri)
        userinfo = match.group(1) if match else ""
        query = uri.partition("?")[2].partition("#")[0]
    user, _, password = userinfo.partition(":")
    found = {user, password, query}
    found.update(value for _, value in parse_qsl(query, keep_blank_values=True))
    found.update(unquote(value) for value in list(found))
    return {value for value in found if value}


class Secrets:
    """Every credential storybook knows of, so that any text can be scrubbed before it is shown."""

    def __init__(self, uri: str, env: Mapping[str, str] | None = None) -> None:
        env = os.environ if env is None else env
        found = _uri_secrets(uri)
        for name in SECRET_ENV_VARS:
            if env.get(name):
                found.add(env[name])
        self._values = sorted((s for s in found if len(s) >= 3), key=len, reverse=True)
        self._uri = uri
        self._shown = display_uri(uri)

    def scrub(self, text: str) -> str:
        if self._uri and self._uri != self._shown:
            text = text.replace(self._uri, self._shown)
        for secret in self._values:
            text = text.replace(secret, "***")
        return re.sub(r"(://)[^/@\s:]+:[^/@\s]+@", r"\1***@", text)
