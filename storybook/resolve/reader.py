"""What the MLflow helpers (drivers, a model's history) may ask of the source that reads MLflow.

:class:`storybook.resolve.mlflow_source.MlflowSource` has all of it. The helpers are typed against this small
public interface instead of the class, so they neither reach into its private parts nor import it back (the
source calls them, so that import would be a circle).
"""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import pandas as pd

from storybook.errors import Location
from storybook.resolve.batch import Registered
from storybook.resolve.tracking import Secrets
from storybook.sources.loader import StorySource

if TYPE_CHECKING:
    from mlflow.tracking import MlflowClient

__all__ = ["MlflowReader"]


class MlflowReader(Protocol):
    """Reads from one tracking URI; every failure becomes a scrubbed, located StorybookError."""

    uri: str
    shown_uri: str  # the tracking URI without credentials, as pages show it
    secrets: Secrets
    cache_dir: Path
    artifact_locations: tuple[str, ...]

    @property
    def client(self) -> MlflowClient: ...

    def registered_model(self, name: str) -> Registered | None:
        """A registered model as the batched registry read found it; None if absent."""
        ...

    def runs(self, run_ids: Iterable[str]) -> dict[str, Any]:
        """MLflow runs by id, read in batches; absent ids left out."""
        ...

    def evaluation_table(self, run_id: str, artifact: str, location: Location) -> pd.DataFrame:
        """A run's table artifact (CSV or Parquet), read once and copied for each caller."""
        ...

    def reading(self, story: StorySource, location: Location) -> AbstractContextManager[None]:
        """A block whose MLflow and network failures become TrackingErrors located at ``location``."""
        ...
