"""Synthetic data: the demo clinic (never real patients)."""
