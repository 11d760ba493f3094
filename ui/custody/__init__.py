"""Widgets and table models of the custody screens (courier pickup, lab receiving)."""
