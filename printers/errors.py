"""Printer error hierarchy: everything the printing layer raises on purpose.

Every class says what a failed send means for a spooled job (``delivery``, see
``labdesk.domain.printing.Delivery``): retry later, fail with the reason, or leave the job
unconfirmed because the label may have printed.
"""

from __future__ import annotations

from labdesk.domain.printing import Delivery, PrintDeliveryError


class PrinterError(PrintDeliveryError):
    """Base for every expected printing failure."""


class PrinterUnreachable(PrinterError):
    """The link to the printer was lost while sending: part of the job may have printed."""

    delivery = Delivery.UNCERTAIN


class PrinterOffline(PrinterUnreachable):
    """The printer could not be reached at all (refused, no route, unknown host): nothing sent."""

    delivery = Delivery.RETRY


class PrinterNotReady(PrinterError):
    """The printer answered the status check before the job as not ready (paper out, head
    open, paused) or did not answer it: nothing of the job was sent, so it waits for a retry."""

    delivery = Delivery.RETRY


class PrinterUnconfirmed(PrinterError):
    """Every byte was written but the printer did not then report a healthy state: the label
    may be missing, partial or fine, so a person checks the tube."""

    delivery = Delivery.UNCERTAIN


class PrinterRejected(PrinterError):
    """The printer or spooler refused the job."""


class PrinterTimeout(PrinterError):
    """The printer accepted the connection but stopped taking data in time."""

    delivery = Delivery.UNCERTAIN


class PrinterConfigError(PrinterError):
    """A printer address or installation problem the user has to fix in the settings."""


class PresetError(PrinterError):
    """An unknown or malformed label preset."""


class LabelDoesNotFit(PrinterError):
    """The label content cannot be laid out on the chosen label size."""
