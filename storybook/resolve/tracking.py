"""The tracking URI: where it comes from, and how it is shown without credentials."""

from __future__ import annotations

import base64
import json
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from urllib.parse import parse_qsl, quote, unquote, urlsplit, urlunsplit

from storybook.errors import ConfigError, Location, StorybookError

__all__ = ["SECRET_ENV_VARS", "Secrets", "artifact_refusal", "display_uri", "refuse_missing_store", "scrub_known",
           "tracking_uri"]

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
    _refuse_misread_password(uri, configured, root)
    if uri.startswith("sqlite:///") and not uri.startswith("sqlite:////"):
        return "sqlite:///" + str((root / uri.removeprefix("sqlite:///")).resolve())
    if "://" not in uri and not uri.startswith("databricks"):
        return str((root / uri).resolve())
    return uri


def refuse_missing_store(uri: str, configured: str | None, root: Path) -> None:
    """Raise a located ConfigError when ``uri`` (from :func:`tracking_uri`) names a local store that is not there.

    MLflow opens a missing sqlite file or folder by creating an empty store, behind the user's back, and the
    story then fails with "run ... does not exist". Commands that read (build, check, pin, new, serve, promote)
    call this before opening MLflow; only ``storybook example`` and training code create stores.
    """
    path, kind = _local_store(uri)
    if path is None:
        return
    if kind == "sqlite":
        if path.is_file() and path.stat().st_size > 0:
            return
        problem = "is an empty file, not an MLflow store" if path.is_file() else "does not exist"
    else:
        if path.is_dir():
            return
        problem = "is not a folder" if path.exists() else "does not exist"
    create = ("storybook never creates a store: log to it first from your training code "
              "(mlflow.set_tracking_uri), or run `storybook example` in an empty folder for a sample project")
    if configured is None:
        raise ConfigError(f"MLFLOW_TRACKING_URI names the MLflow {kind} store {path}, which {problem}",
                          hint=f"set MLFLOW_TRACKING_URI to your MLflow store, or set tracking_uri in storybook.yaml; "
                          f"{create}")
    location = _setting_location(root)
    relative = " (a relative path is read from the project folder)" if _is_relative(configured) else ""
    raise ConfigError(f"tracking_uri names the MLflow {kind} store {path}, which {problem}",
                      location=location,
                      hint=f"correct the path in tracking_uri{relative}; {create}")


def _setting_location(root: Path) -> Location:
    """Where storybook.yaml sets tracking_uri (the file alone when it cannot be read again)."""
    from storybook.sources.loader import PROJECT_FILE
    from storybook.sources.yaml_loader import load_yaml

    project_file = root / PROJECT_FILE
    try:
        return load_yaml(project_file).location(("tracking_uri",))
    except StorybookError:  # storybook.yaml changed since it was read: name the file alone
        return Location(project_file)


def _refuse_misread_password(uri: str, configured: str | None, root: Path) -> None:
    """Refuse a URI whose password holds an unencoded '/' (``http://u:p@ss/w@host``): storybook shows it as meant
    (host ``host``), but MLflow's HTTP client splits it at the first '/', so it would send the requests, with part
    of the password, to another host (``ss``), and every message would name the wrong server."""
    if _long_userinfo(uri) is None:
        return
    # The other host is not named: it is a piece of the password.
    problem = (f"the password in the tracking URI holds an unencoded '/', so MLflow would not read the URI as "
               f"written: its requests would go, with part of the password, to another host than {display_uri(uri)}, "
               "or fail")
    fix = ("percent-encode the password's special characters ('@' as %40, '/' as %2F, ':' as %3A), or leave user "
           "and password out of the URI and set MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD")
    if configured is None:
        raise ConfigError(f"MLFLOW_TRACKING_URI: {problem}", hint=fix)
    raise ConfigError(f"tracking_uri: {problem}", location=_setting_location(root), hint=fix)


def _local_store(uri: str) -> tuple[Path | None, str]:
    """The file (kind "sqlite") or folder (kind "folder") a local tracking URI opens; None for a server or memory."""
    if uri.startswith("sqlite://"):
        rest = uri.removeprefix("sqlite://").split("?", 1)[0]
        if not rest.startswith("/") or rest in ("/", "/:memory:"):
            return None, "sqlite"  # "sqlite://" and ":memory:" are in-memory stores: nothing is written
        return Path(unquote(rest[1:])), "sqlite"
    if uri.startswith("file:"):
        return Path(unquote(urlsplit(uri).path)), "folder"
    if "://" not in uri and not uri.startswith("databricks"):
        return Path(uri), "folder"
    return None, ""


def _is_relative(configured: str) -> bool:
    if configured.startswith("sqlite:///"):
        return not configured.startswith("sqlite:////")
    return "://" not in configured and not configured.startswith(("/", "databricks", "file:"))


def display_uri(uri: str) -> str:
    """The URI as it may appear anywhere a person can read it: no user, password or query string."""
    uri = _with_long_userinfo_cut(uri)
    try:
        parts = urlsplit(uri)
    except ValueError:  # e.g. an unclosed IPv6 bracket: cut by hand rather than fail or show it whole
        return re.split(r"[?#]", re.sub(r"(?<=//)[^/?#]*@", "", uri, count=1), maxsplit=1)[0]
    if not parts.scheme or parts.scheme == "sqlite" or "://" not in uri:
        return uri
    # The host as written (IPv6 brackets, port) after the last '@'; parts.port would raise on a bad port.
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def _long_userinfo(uri: str) -> str | None:
    """The user:password part of a URI whose password holds an unencoded '/' (``http://u:p@ss/w@host``).

    Such a URI is not valid, but people write it; the standard split would take ``ss`` for the host and show
    ``/w@host`` as the path. Taken here as everything up to the last '@' before the query, when that holds a '/'
    and the standard split's host part holds an '@' or a port that is not a number.
    """
    match = re.match(r"([A-Za-z][A-Za-z0-9+.-]*://)([^?#]*)@", uri)  # up to the last '@' before the query
    if match is None or "/" not in match.group(2):
        return None  # the standard split is right
    netloc = uri[match.end(1):].split("/", 1)[0]
    host = netloc.rpartition("@")[2]
    port = host.rpartition(":")[2] if ":" in host and not host.endswith("]") else ""
    return match.group(2) if "@" in netloc or (port != "" and not port.isdigit()) else None


def _with_long_userinfo_cut(uri: str) -> str:
    userinfo = _long_userinfo(uri)
    return uri if userinfo is None else uri.replace(userinfo + "@", "", 1)


def _uri_secrets(uri: str) -> set[str]:
    """User, password and query values of ``uri``, as written and percent-decoded, however the URI is split."""
    try:
        parts = urlsplit(uri)
        userinfos = [parts.netloc.rpartition("@")[0]]
        query = parts.query
    except ValueError:
        match = re.search(r"//([^/?#]*)@", uri)
        userinfos = [match.group(1) if match else ""]
        query = uri.partition("?")[2].partition("#")[0]
    userinfos.append(_long_userinfo(uri) or "")
    found = {query}
    for userinfo in userinfos:
        user, _, password = userinfo.partition(":")
        found.update((user, password, userinfo))
    found.update(value for _, value in parse_qsl(query, keep_blank_values=True))
    found.update(unquote(value) for value in list(found))
    return {value for value in found if value}


def _credential_pairs(uri: str, env: Mapping[str, str]) -> list[tuple[str, str]]:
    """(user, password) pairs a client could send as HTTP Basic auth."""
    pairs = []
    for userinfo in (_long_userinfo(uri) or "", re.sub(r"^[^:]*://", "", uri).partition("/")[0].rpartition("@")[0]):
        user, colon, password = unquote(userinfo).partition(":")
        if colon:
            pairs.append((user, password))
    if env.get("MLFLOW_TRACKING_USERNAME") or env.get("MLFLOW_TRACKING_PASSWORD"):
        pairs.append((env.get("MLFLOW_TRACKING_USERNAME", ""), env.get("MLFLOW_TRACKING_PASSWORD", "")))
    return pairs


def _forms(secret: str) -> set[str]:
    """The ways a secret can be written in a message: as is, percent-encoded, JSON- or repr-escaped."""
    forms = {secret, quote(secret, safe=""), quote(secret), json.dumps(secret)[1:-1], repr(secret)[1:-1]}
    return {form for form in forms if form}


class Secrets:
    """Every credential storybook knows of, so that any text can be scrubbed before it is shown.

    Covered: the URI's user, password and query values (as written, percent-decoded and percent-encoded, also
    when the password holds an unencoded '/' or '@'); the secret environment variables (the token, the
    password, cloud keys); the HTTP Basic form of each user:password pair (base64, as a server may echo an
    Authorization header back); and any ``Basic``/``Bearer`` header value, whatever credential it carries.
    """

    def __init__(self, uri: str, env: Mapping[str, str] | None = None) -> None:
        env = os.environ if env is None else env
        found = _uri_secrets(uri)
        for name in SECRET_ENV_VARS:
            if env.get(name):
                found.add(env[name])
        for user, password in _credential_pairs(uri, env):
            encoded = f"{user}:{password}".encode()
            found.update((base64.b64encode(encoded).decode(), base64.urlsafe_b64encode(encoded).decode()))
        every = {form for secret in found for form in _forms(secret)}
        self._values = sorted((s for s in every if len(s) >= 3), key=len, reverse=True)
        self._uri = uri
        self._shown = display_uri(uri)
        _opened.add(uri)

    def scrub(self, text: str, *, headers: bool = True) -> str:
        """``text`` without these credentials. ``headers`` False keeps words after "basic" or "bearer" (for
        text that may hold prose); the known credentials, their Basic form and a URI's user:password go all the
        same."""
        if self._uri and self._uri != self._shown:
            text = text.replace(self._uri, self._shown)
        for secret in self._values:
            text = text.replace(secret, "***")
        if headers:
            text = re.sub(r"(?i)\b(basic|bearer)(\s+|%20|\+)[A-Za-z0-9+/=._~-]{6,}", r"\1 ***", text)
        return re.sub(r"(://)[^/@\s:]+:[^/@\s]+@", r"\1***@", text)


_opened: set[str] = set()  # every tracking URI this process made Secrets for (so, every one it opened)


def scrub_known(text: str) -> str:
    """``text`` without any credential this process knows of: those of MLFLOW_TRACKING_URI and the secret
    environment variables, and those of every tracking URI opened so far (a project's own ``tracking_uri``).
    For text that may come from anywhere (an error, a traceback shown with ``--debug``, check's findings), so
    an author's words after "basic" or "bearer" stay."""
    for uri in sorted({os.environ.get("MLFLOW_TRACKING_URI", ""), *_opened}):
        text = Secrets(uri).scrub(text, headers=False)
    return text


def artifact_refusal(artifact_uri: str, tracking: str, allowed: Sequence[str] = ()) -> str | None:
    """Why storybook will not read artifacts stored at ``artifact_uri`` (None: it may).

    MLflow sends the tracking credentials (``MLFLOW_TRACKING_TOKEN``, user and password) to whatever host an
    artifact location names, and anyone who can write to the tracking server can name any host. So artifacts
    are read only from the tracking server itself (``mlflow-artifacts:`` without a host, or naming the
    server's own host and port; ``http(s)`` URLs on that host and port), from a folder on this machine (no
    request is made: a local store, or a share the server writes to), or from a location that storybook.yaml
    lists under ``artifact_locations`` (a URI prefix, e.g. ``s3://team-bucket/mlflow``).
    """
    try:
        where = urlsplit(artifact_uri)
        server = urlsplit(tracking)
        where_host = _host_port(where.scheme, where.netloc, server.scheme)
        server_host = _host_port(server.scheme, server.netloc, server.scheme)
    except ValueError:
        return "it is not a URI storybook can read"
    if "@" in where.netloc or where.query or where.fragment:
        return "it carries a user name, a password or a query string"
    if ".." in where.path.split("/"):
        return "its path has '..' in it"
    for prefix in allowed:
        stem = prefix.rstrip("/")
        if stem and (artifact_uri == stem or artifact_uri.startswith(stem + "/")):
            return None
    shown = display_uri(artifact_uri)
    if where.scheme in ("", "file") and not where.netloc:
        return None  # a folder on this machine (a local store, or a share the server writes to): nothing is sent
    if server.scheme in ("http", "https"):
        if where.scheme == "mlflow-artifacts" and (not where.netloc or where_host == server_host):
            return None
        if where.scheme == server.scheme and where_host == server_host:
            return None
        return (f"{shown} is not on the tracking server ({display_uri(tracking)}); storybook reads artifacts "
                "only from there, so that no credential goes to a host a run names")
    if tracking.startswith("databricks"):
        return None if where.scheme in ("dbfs", "databricks") and not where.netloc else (
            f"{shown} is not in the Databricks workspace storybook reads from")
    return (f"{shown} is neither a folder on this machine nor a location storybook.yaml lists under "
            "artifact_locations")


def _host_port(scheme: str, netloc: str, server_scheme: str) -> tuple[str, int | None]:
    """(host in lower case, port or the scheme's default port); ValueError on a malformed port."""
    parts = urlsplit(f"//{netloc}")
    default = {"http": 80, "https": 443}.get(server_scheme if scheme == "mlflow-artifacts" else scheme)
    return (parts.hostname or "").lower(), parts.port if parts.port is not None else default
