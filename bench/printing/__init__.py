"""Scenarios over the ``printers`` package: label rendering, printing, the courier manifest."""
