"""Printer screens: the print queue model, printer status monitor, printers panel."""
