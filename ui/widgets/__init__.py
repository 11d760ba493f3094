"""Shared widgets: the row table model and views, feedback, messages, page header, error text."""
