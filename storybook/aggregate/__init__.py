"""Aggregates of scored sets of any size: counts per slice x label x score bin, with Poisson bootstrap replicates.

A leaf package (it imports only storybook.errors, files, typed_json, numpy, pandas and pyarrow; DuckDB and
PySpark only inside the engine functions). :mod:`storybook.aggregate.format` is the file format shared by every
engine; :mod:`storybook.aggregate.duckdb_engine` aggregates Parquet or CSV files on one machine.
"""
