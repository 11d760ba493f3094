"""Label presets (size, resolution, bar module width) loaded from resources/labels/presets.json."""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, TypeVar

from printers.errors import PresetError
from resources import resource

logger = logging.getLogger(__name__)

PRESETS_RESOURCE = ("labels", "presets.json")
_KINDS = ("label", "sheet")

_T = TypeVar("_T")


@dataclass(frozen=True, kw_only=True)
class SheetGeometry:
    """Where labels sit on a laser/inkjet sheet, in inches from the page's top-left corner."""

    page_width_in: float
    page_height_in: float
    columns: int
    rows: int
    left_margin_in: float
    top_margin_in: float
    column_pitch_in: float
    row_pitch_in: float

    @property
    def labels_per_page(self) -> int:
        """Number of label positions on one page."""
        return self.columns * self.rows


@dataclass(frozen=True, kw_only=True)
class Preset:
    """One label stock: its size in printer dots and how bar codes are printed on it.

    Attributes:
        name: Key in presets.json, e.g. ``2x1-203``.
        description: Human description for settings screens.
        dpi: Dots per inch of the printhead (or the design grid of a sheet label).
        width_dots: Label width in dots (ZPL ^PW).
        height_dots: Label length in dots (ZPL ^LL).
        margin_dots: Unprinted border kept on every side.
        module_dots: Narrowest bar width in dots (ZPL ^BY).
        zpl_font: ZPL font letter for text; ``0`` is the resident scalable font. Sites with
            CJK patient names load a Unicode TTF on the printer and name it here.
        sheet: Page geometry for sheet presets; None for roll labels (one label per page).
    """

    name: str
    description: str
    dpi: int
    width_dots: int
    height_dots: int
    margin_dots: int
    module_dots: int
    zpl_font: str = "0"
    sheet: SheetGeometry | None = None

    @property
    def width_in(self) -> float:
        """Label width in inches."""
        return self.width_dots / self.dpi

    @property
    def height_in(self) -> float:
        """Label height in inches."""
        return self.height_dots / self.dpi


def parse_presets(text: str) -> dict[str, Preset]:
    """Parse the presets JSON document.

    Args:
        text: JSON object mapping preset names to their fields.

    Returns:
        Presets by name, in file order.

    Raises:
        PresetError: if the document or any preset is malformed.
    """
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise PresetError(f"Label presets file is not valid JSON: {exc}") from exc
    if not isinstance(raw, dict) or not raw:
        raise PresetError("Label presets file must be a non-empty JSON object.")
    return {name: _parse_preset(name, fields) for name, fields in raw.items()}


@functools.cache
def load_presets() -> Mapping[str, Preset]:
    """Return the shipped presets by name (read once, then cached).

    Raises:
        PresetError: if the shipped file is missing or malformed.
    """
    try:
        text = resource(*PRESETS_RESOURCE).read_text(encoding="utf-8")
    except OSError as exc:
        raise PresetError(
            f"Cannot read the label presets file resources/{'/'.join(PRESETS_RESOURCE)}.",
            hint="Reinstall LabDesk; the package data is incomplete.",
        ) from exc
    return MappingProxyType(parse_presets(text))


def preset_names() -> tuple[str, ...]:
    """Return the names of all shipped presets."""
    return tuple(load_presets())


def get_preset(name: str) -> Preset:
    """Return the preset called ``name``.

    Raises:
        PresetError: if there is no such preset; the message lists the known ones.
    """
    presets = load_presets()
    try:
        return presets[name]
    except KeyError:
        known = ", ".join(presets)
        raise PresetError(
            f"Unknown label preset '{name}'. Known presets: {known}.",
            hint="Pick one of the known presets in the printer settings.",
        ) from None


def _parse_preset(name: str, fields: Any) -> Preset:
    if not isinstance(fields, dict):
        raise PresetError(f"Label preset '{name}' must be a JSON object.")
    kind = _get(name, fields, "kind", str)
    if kind not in _KINDS:
        raise PresetError(f"Label preset '{name}': kind must be one of {', '.join(_KINDS)}.")
    sheet = _parse_sheet(name, fields.get("sheet")) if kind == "sheet" else None
    preset = Preset(
        name=name,
        description=_get(name, fields, "description", str),
        dpi=_positive(name, fields, "dpi"),
        width_dots=_positive(name, fields, "width_dots"),
        height_dots=_positive(name, fields, "height_dots"),
        margin_dots=_get(name, fields, "margin_dots", int),
        module_dots=_positive(name, fields, "module_dots"),
        zpl_font=str(fields.get("zpl_font", "0")),
        sheet=sheet,
    )
    if sheet is not None:
        _check_sheet_fits(preset, sheet)
    return preset


def _parse_sheet(name: str, fields: Any) -> SheetGeometry:
    if not isinstance(fields, dict):
        raise PresetError(f"Sheet preset '{name}' needs a 'sheet' object with the page geometry.")
    return SheetGeometry(
        page_width_in=_get(name, fields, "page_width_in", float),
        page_height_in=_get(name, fields, "page_height_in", float),
        columns=_positive(name, fields, "columns"),
        rows=_positive(name, fields, "rows"),
        left_margin_in=_get(name, fields, "left_margin_in", float),
        top_margin_in=_get(name, fields, "top_margin_in", float),
        column_pitch_in=_get(name, fields, "column_pitch_in", float),
        row_pitch_in=_get(name, fields, "row_pitch_in", float),
    )


def _check_sheet_fits(preset: Preset, sheet: SheetGeometry) -> None:
    right = sheet.left_margin_in + (sheet.columns - 1) * sheet.column_pitch_in + preset.width_in
    bottom = sheet.top_margin_in + (sheet.rows - 1) * sheet.row_pitch_in + preset.height_in
    # A small tolerance absorbs rounding of the label size to whole dots.
    if right > sheet.page_width_in + 0.01 or bottom > sheet.page_height_in + 0.01:
        raise PresetError(f"Sheet preset '{preset.name}': the labels run off the page.")


def _get(name: str, fields: dict[str, Any], key: str, kind: type[_T]) -> _T:
    value = fields.get(key)
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, kind) or isinstance(value, bool):
        raise PresetError(f"Label preset '{name}': '{key}' must be a {kind.__name__}.")
    return value


def _positive(name: str, fields: dict[str, Any], key: str) -> int:
    value = _get(name, fields, key, int)
    if value <= 0:
        raise PresetError(f"Label preset '{name}': '{key}' must be positive.")
    return value
