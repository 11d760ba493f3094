"""Label printing: jobs per container, the spooler, label content and per-station printers."""
