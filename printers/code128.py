"""Code 128 module patterns from python-barcode, shared by the PDF and PNG renderers."""

from __future__ import annotations

from barcode.charsets import code128 as charsets
from barcode.codex import Code128

from labdesk.domain.errors import ValidationError

QUIET_ZONE_MODULES = 10  # CLSI AUTO02 / ISO 15417: at least 10 X on each side.
_SWITCH_TO_A_OR_B = (charsets.C["TO_A"], charsets.C["TO_B"])


class _FixedCode128(Code128):  # type: ignore[misc]  # python-barcode ships no type hints.
    """Code128 without the leading-"99" bug.

    WORKAROUND: python-barcode <= 0.16.1 folds START C + code 99 into one start code, as if
    99 were a charset switch, so "9900000010" scans as "00000010"
    (https://github.com/WhyNotHugo/python-barcode/issues/251, fixed upstream by PR #263).
    In subset C, 99 is data; only 100 and 101 switch to B and A. Drop once released.
    """

    def _try_to_optimize(self, encoded: list[int]) -> list[int]:
        if len(encoded) > 1 and encoded[1] in _SWITCH_TO_A_OR_B:
            encoded[:2] = [charsets.TO[encoded[1]]]
        return encoded


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
    pattern = str(_FixedCode128(data).build()[0])
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
