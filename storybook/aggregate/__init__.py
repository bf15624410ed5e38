"""Aggregates of scored sets of any size: counts per slice x label x score bin, with Poisson bootstrap replicates.

A leaf package (it imports only storybook.errors, files, typed_json, numpy, pandas and pyarrow; DuckDB and
PySpark only inside the engine functions). :mod:`storybook.aggregate.format` is the file format shared by every
engine; :mod:`storybook.aggregate.duckdb_engine` aggregates Parquet or CSV files on one machine;
:mod:`storybook.aggregate.spark_engine` runs the same SQL on a Spark DataFrame or table (local or a cluster);
:mod:`storybook.aggregate.production` counts production scores per day, week or window, on either engine.
"""
