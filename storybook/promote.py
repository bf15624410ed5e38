"""Move a registered model's alias and record when: the alias history MLflow itself does not keep.

The MLflow registry knows where each alias points now and when each version was registered, but not when an
alias moved (its webhooks announce ``model_version_alias.created`` to a listener, and keep nothing). So a
promotion step that wants its history told writes it down, one registered-model tag per move:

    storybook.alias.<alias>.<epoch milliseconds> = <version>      (or "removed")

e.g. ``storybook.alias.champion.1788220800000 = 1`` (the convention lives in :mod:`storybook.resolve.alias_tags`).
:func:`promote` sets the alias and writes that tag; anything else that moves aliases (a CI job, a webhook
listener, a person in the MLflow UI who then sets the tag) can write the same tag. storybook reads the tags
back (:func:`alias_events`) and says on the page which dates come from them and which are not known.

This module writes to MLflow and is meant for training and deployment code, never for builds.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from storybook.errors import ReferenceNotFound, TrackingError
from storybook.resolve.alias_tags import ALIAS_TAG_PREFIX, REMOVED, alias_events, alias_tag

__all__ = ["ALIAS_TAG_PREFIX", "REMOVED", "alias_events", "alias_tag", "promote", "promote_in_project", "retire"]


def _millis(at: datetime | None) -> int:
    moment = at if at is not None else datetime.now(UTC)
    if moment.tzinfo is None:
        raise ValueError("give the moment with its time zone, e.g. datetime.now(UTC)")
    return int(moment.timestamp() * 1000)


def promote(client: Any, name: str, alias: str, version: int | str, *, at: datetime | None = None) -> str:
    """Point ``alias`` of registered model ``name`` at ``version`` and record the move; returns the tag key.

    ``client`` is an ``mlflow.MlflowClient``. The tag is written after the alias has moved, so a record
    never claims a move that failed. ``at`` defaults to now.
    """
    at_ms = _millis(at)
    client.set_registered_model_alias(name, alias, str(version))
    key = alias_tag(alias, at_ms)
    client.set_registered_model_tag(name, key, str(int(version)))
    return key


def retire(client: Any, name: str, alias: str, *, at: datetime | None = None) -> str:
    """Remove ``alias`` from registered model ``name`` and record when; returns the tag key."""
    at_ms = _millis(at)
    client.delete_registered_model_alias(name, alias)
    key = alias_tag(alias, at_ms)
    client.set_registered_model_tag(name, key, REMOVED)
    return key


def promote_in_project(root: Path, name: str, alias: str, version: int | None) -> str:
    """``storybook promote``: move (or, with ``version`` None, remove) an alias in the project's tracking
    server and record when. Returns a sentence saying what was done; MLflow errors are scrubbed of secrets."""
    from storybook.resolve.tracking import Secrets, display_uri, refuse_missing_store, tracking_uri
    from storybook.sources.loader import find_stories

    project_root, config, _ = find_stories(root)
    uri = tracking_uri(config.tracking_uri, project_root)
    refuse_missing_store(uri, config.tracking_uri, project_root)
    from mlflow.exceptions import MlflowException

    from storybook.resolve.source import bounded_client

    # The same bound as every read: tracking_timeout seconds per answer and tracking_retries more tries (MLflow's
    # own defaults, 120 s and 7 retries, kept a silent server waited on for a quarter of an hour), and the notice.
    try:
        with bounded_client(project_root, uri, config.tracking_timeout, config.tracking_retries) as client:
            if version is None:
                key = retire(client, name, alias)
                return f"removed {alias} from {name} at {display_uri(uri)}; recorded as tag {key}"
            key = promote(client, name, alias, version)
    except MlflowException as exc:
        message = Secrets(uri).scrub(str(exc)).strip().splitlines()[0][:300]
        if "RESOURCE_DOES_NOT_EXIST" in str(getattr(exc, "error_code", "")):
            raise ReferenceNotFound(f"{name} version {version} is not in the registry at {display_uri(uri)} "
                                    f"({message})", hint="check the model name and version in the MLflow UI") from None
        raise TrackingError(f"MLflow at {display_uri(uri)} failed ({message})",
                            hint="check that the tracking server is running and the URI is right") from None
    return f"{alias} of {name} now points at version {version} ({display_uri(uri)}); recorded as tag {key}"
