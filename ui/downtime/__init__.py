"""Downtime mode on screen: the offline banner and the mode's signal on the UI thread."""
