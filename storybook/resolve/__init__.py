"""Resolve: the only code that talks to MLflow or reads data artifacts."""
