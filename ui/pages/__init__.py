"""Role pages of the main window."""
