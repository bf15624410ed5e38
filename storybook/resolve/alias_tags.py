"""The alias-tag convention, shared by the writer (:mod:`storybook.promote`) and the reader
(:mod:`storybook.resolve.registry_history`).

MLflow keeps where an alias points now, not when it moved. A promotion step records each move as one
registered-model tag:

    storybook.alias.<alias>.<epoch milliseconds> = <version>      (or "removed")

e.g. ``storybook.alias.champion.1788220800000 = 1``. This module only names and parses those tags; it writes
nothing and reads nothing from MLflow.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from storybook.resolve.resolved import AliasEvent

__all__ = ["ALIAS_TAG_PREFIX", "REMOVED", "alias_events", "alias_tag"]

ALIAS_TAG_PREFIX = "storybook.alias."
REMOVED = "removed"
_TAG = re.compile(r"^storybook\.alias\.([A-Za-z0-9_-]{1,200})\.([0-9]{1,15})$")
_LAST_MS = 253_402_300_799_999  # 31 December 9999: a later time is no calendar date


def alias_tag(alias: str, at_ms: int) -> str:
    """The tag key that records ``alias`` moving at ``at_ms`` (milliseconds since 1970, UTC)."""
    return f"{ALIAS_TAG_PREFIX}{alias}.{at_ms}"


def alias_events(tags: Mapping[str, str]) -> tuple[AliasEvent, ...]:
    """The alias moves recorded in a registered model's tags, oldest first. Other tags are ignored; a
    record whose value is neither a version number (ASCII digits) nor "removed", or whose time is past the
    year 9999, is skipped."""
    events = []
    for key, value in tags.items():
        match = _TAG.match(key)
        if match is None:
            continue
        text = str(value).strip()
        if text == REMOVED:
            version = None
        elif text.isascii() and text.isdigit():  # "²" and "١٢" are digits to isdigit(), not to everything else
            version = int(text)
        else:
            continue
        at_ms = int(match.group(2))
        if at_ms > _LAST_MS:
            continue
        events.append(AliasEvent(alias=match.group(1), version=version, at_ms=at_ms, tag=key))
    return tuple(sorted(events, key=lambda e: (e.at_ms, e.alias)))
