"""Code 128 module patterns from python-barcode, shared by the PDF and PNG renderers."""

from __future__ import annotations

from barcode.codex import Code128

from labdesk.domain.errors import ValidationError

QUIET_ZONE_MODULES = 10  # CLSI AUTO02 / ISO 15417: at least 10 X on each side.


def code128_modules(data: str) -> str:
    """Return the bar pattern of ``data`` as a string of ``1`` (bar) and ``0`` (space).

    One character is one module. Start, check and stop characters are included; quiet zones
    are not. python-barcode picks subset C for runs of digits, so a ten-digit accession ID
    is 5 symbol characters, 90 modules, the same width as Zebra's ``^BC`` in mode ``A``.

    Raises:
        ValidationError: if ``data`` is empty or not printable ASCII.
    """
    if not data or not data.isascii() or not data.isprintable():
        raise ValidationError(f"Bar code data {data!r} must be non-empty printable ASCII.")
    pattern = str(Code128(data).build()[0])
    if set(pattern) - {"0", "1"}:  # pragma: no cover - guards a python-barcode change
        raise ValidationError(f"Unexpected Code 128 pattern for {data!r}.")
    return pattern


def bar_runs(modules: str) -> list[tuple[int, int]]:
    """Return ``(start_module, width_in_modules)`` for each bar in a module pattern."""
    runs: list[tuple[int, int]] = []
    start = -1
    for index, module in enumerate(modules + "0"):
        if module == "1" and start < 0:
            start = index
        elif module == "0" and start >= 0:
            runs.append((start, index - start))
            start = -1
    return runs
