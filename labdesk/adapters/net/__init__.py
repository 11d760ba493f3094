"""Network helpers: the loopback TCP proxy the downtime drill and tests cut."""
