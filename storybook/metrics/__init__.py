"""Metrics: estimates with intervals from scored sets or aggregates. A leaf below everything."""
