"""New sqlite MLflow stores in the test process get their tables from a template, not from MLflow's migrations.

MLflow builds the tables of a new sqlite store by running its alembic migrations one by one: 2-6 s per store on
this 2-core machine, and the suite makes well over a hundred stores. The first new store of a test process is
made by MLflow as always; its tables and rows, straight after MLflow made them (``sqlite3``'s ``iterdump``), are
then replayed into every later new store of the same process. The result is what the migrations write, byte for
byte in schema and rows, made by the same MLflow in the same run: a real store, made faster. Stores made in
subprocesses (``storybook example``, ``mlflow server``) and non-sqlite stores are made by MLflow as always.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["tables_from_a_template"]


@contextmanager
def tables_from_a_template() -> Iterator[None]:
    import mlflow.store.db.utils as db_utils
    import mlflow.store.model_registry.sqlalchemy_store as registry_store

    original: Callable[[Any], None] = db_utils._initialize_tables
    template: list[str] = []

    def initialize(engine: Any) -> None:
        if engine.dialect.name != "sqlite":
            original(engine)
            return
        raw = engine.raw_connection()
        try:
            connection = raw.driver_connection
            if template:
                db_utils._logger.info("Creating initial MLflow database tables...")
                connection.executescript(template[0])
                return
            original(engine)
            template.append("\n".join(connection.iterdump()))
        finally:
            raw.close()

    db_utils._initialize_tables = initialize
    registry_store._initialize_tables = initialize  # type: ignore[attr-defined]
    try:
        yield
    finally:
        db_utils._initialize_tables = original
        registry_store._initialize_tables = original  # type: ignore[attr-defined]
