"""The printer layer behind the core's printing ports (``labdesk.ports``).

The core never imports ``printers``; front ends (the app, the command line, the bench)
build a ``PrintSetup`` with :func:`open_spool_printer` and :class:`LabelRendererAdapter`.
The ports are Protocols, so these satisfy them structurally.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import get_args

from labdesk.domain.printing import LabelContent
from printers.errors import PrinterConfigError
from printers.jobs import RenderedJob, render_job
from printers.presets import get_preset
from printers.transports import Language, Printer, open_printer

LANGUAGES: tuple[str, ...] = get_args(Language)


def open_spool_printer(uri: str) -> Printer:
    """Return the printer for ``uri`` (no connection is made).

    Raises:
        PrinterConfigError: for a malformed or unsupported address.
    """
    return open_printer(uri)


class LabelRendererAdapter:
    """Lays out labels once and renders them as ZPL or PDF plus a PNG preview."""

    def render(
        self,
        contents: Sequence[LabelContent],
        preset: str,
        *,
        copies: int = 1,
        language: str = "zpl",
        preview: bool = True,
    ) -> RenderedJob:
        """Render ``contents`` on preset ``preset`` in the printer's ``language``.

        Raises:
            PresetError: if there is no preset called ``preset``.
            LabelDoesNotFit: if a label cannot be laid out on it.
            PrinterConfigError: if ``language`` is neither ``zpl`` nor ``pdf``.
        """
        if language == "zpl":
            return render_job(
                contents, get_preset(preset), language="zpl", copies=copies, preview=preview
            )
        if language == "pdf":
            return render_job(
                contents, get_preset(preset), language="pdf", copies=copies, preview=preview
            )
        raise PrinterConfigError(
            f"Printers speaking '{language}' are not supported.",
            hint=f"Use a printer that takes {' or '.join(LANGUAGES)}.",
        )
