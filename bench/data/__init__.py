"""Synthetic benchmark databases: generated rows, reference data, bulk load and cache."""
