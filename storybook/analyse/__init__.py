"""Analyse: pure functions on plain data. No I/O, no clock, no unseeded randomness."""
