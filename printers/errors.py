"""Printer error hierarchy: everything the printing layer raises on purpose."""

from __future__ import annotations

from labdesk.domain.errors import LabdeskError


class PrinterError(LabdeskError):
    """Base for every expected printing failure."""


class PrinterUnreachable(PrinterError):
    """The printer could not be reached (refused, no route, unknown host, link lost)."""


class PrinterRejected(PrinterError):
    """The printer or spooler refused the job."""


class PrinterTimeout(PrinterError):
    """The printer accepted the connection but stopped taking data in time."""


class PrinterConfigError(PrinterError):
    """A printer address or installation problem the user has to fix in the settings."""


class PresetError(PrinterError):
    """An unknown or malformed label preset."""


class LabelDoesNotFit(PrinterError):
    """The label content cannot be laid out on the chosen label size."""
