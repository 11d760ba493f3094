"""The test catalog as a table: one row per orderable test."""

from __future__ import annotations

from PySide6.QtCore import QT_TRANSLATE_NOOP, QCoreApplication

from labdesk.domain.catalog import Handling, TemperatureClass
from labdesk.kernel.dto import CatalogRow
from ui.catalog_labels import temperature_label
from ui.widgets.table_model import RIGHT, Column, RowTableModel

_CONTEXT = "CatalogTableModel"
_NO_STAT = 10**9  # sorts tests without a STAT turnaround last


def format_minutes(minutes: int | None) -> str:
    """A turnaround as staff say it: ``45 min``, ``24 h``, ``1 h 30 min``; ``—`` for none."""
    if minutes is None:
        return "—"
    hours, rest = divmod(minutes, 60)
    if not hours:
        return QCoreApplication.translate(_CONTEXT, "{m} min").format(m=rest)
    if not rest:
        return QCoreApplication.translate(_CONTEXT, "{h} h").format(h=hours)
    return QCoreApplication.translate(_CONTEXT, "{h} h {m} min").format(h=hours, m=rest)


def _name_tooltip(row: CatalogRow) -> str:
    notes = [Handling(code).label for code in row.handling.split(";") if code]
    return "\n".join([row.name, row.specimen_type, *notes])


class CatalogTableModel(RowTableModel[CatalogRow]):
    """Rows of ``CatalogRow`` as ``list_catalog`` returns them."""

    translation_context = _CONTEXT
    columns = (
        Column[CatalogRow](QT_TRANSLATE_NOOP(_CONTEXT, "Code"), lambda r: r.code),
        Column[CatalogRow](
            QT_TRANSLATE_NOOP(_CONTEXT, "Name"),
            lambda r: r.name,
            tooltip=_name_tooltip,
            stretch=True,
        ),
        Column[CatalogRow](QT_TRANSLATE_NOOP(_CONTEXT, "LOINC"), lambda r: r.loinc),
        Column[CatalogRow](
            QT_TRANSLATE_NOOP(_CONTEXT, "Container"),
            lambda r: r.container_name,
            sort_key=lambda r: r.draw_rank,  # order of draw, not alphabetical
            tooltip=lambda r: f"{r.container_name} ({r.container_code})",
            stretch=True,
        ),
        Column[CatalogRow](QT_TRANSLATE_NOOP(_CONTEXT, "Cap"), lambda r: r.cap_colour),
        Column[CatalogRow](
            QT_TRANSLATE_NOOP(_CONTEXT, "Volume mL (min)"),
            lambda r: f"{r.preferred_volume_ml:g} ({r.minimum_volume_ml:g})",
            sort_key=lambda r: r.preferred_volume_ml,
            alignment=RIGHT,
        ),
        Column[CatalogRow](
            QT_TRANSLATE_NOOP(_CONTEXT, "Transport"),
            lambda r: temperature_label(r.transport_temperature),
            sort_key=lambda r: list(TemperatureClass).index(r.transport_temperature),
        ),
        Column[CatalogRow](
            QT_TRANSLATE_NOOP(_CONTEXT, "Routine TAT"),
            lambda r: format_minutes(r.routine_tat_min),
            sort_key=lambda r: r.routine_tat_min,
            alignment=RIGHT,
        ),
        Column[CatalogRow](
            QT_TRANSLATE_NOOP(_CONTEXT, "STAT TAT"),
            lambda r: format_minutes(r.stat_tat_min),
            sort_key=lambda r: _NO_STAT if r.stat_tat_min is None else r.stat_tat_min,
            alignment=RIGHT,
        ),
    )
