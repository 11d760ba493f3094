"""Plain-Python domain model (stdlib only)."""
