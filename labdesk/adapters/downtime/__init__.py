"""Storage of downtime-proof stations: the station's local file and the server side of sync."""
