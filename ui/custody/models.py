"""Table models of the custody screens: manifest lines, specimens waiting, in-transit flags.

No column shows a patient name or date of birth: the rows carry none.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import QT_TRANSLATE_NOOP, QCoreApplication, QModelIndex, Qt
from PySide6.QtGui import QBrush, QColor

from labdesk.custody.dto import LabState, ManifestRow, ReadySpecimen, TransitFlagRow
from labdesk.domain.specimen import SpecimenStatus
from labdesk.domain.timefmt import format_local
from labdesk.domain.transit import TransitFlag
from ui.catalog_labels import temperature_label
from ui.widgets.colors import ERROR_BACKGROUND, OK_BACKGROUND, WARNING_BACKGROUND
from ui.widgets.table_model import Column, ModelIndex, RowTableModel

_CONTEXT = "CustodyModels"
_AMBER = (LabState.DAMAGED, LabState.RECEIVED_ELSEWHERE, LabState.UNEXPECTED)


def _tr(text: str) -> str:
    return QCoreApplication.translate(_CONTEXT, text)


def outcome_label(row: ManifestRow) -> str:
    """What the lab found for a row, from the specimen's current custody state."""
    state = row.lab_state
    if state is LabState.RECEIVED_ELSEWHERE:
        if row.received_on:
            return _tr("Received on manifest {number}").format(number=row.received_on)
        return _tr("Received elsewhere")
    if state is LabState.REJECTED and row.received_on:
        return _tr("Rejected (received on manifest {number})").format(number=row.received_on)
    if state is LabState.DAMAGED and not row.expected:
        return _tr("Unexpected, damaged")
    labels = {
        LabState.EXPECTED: _tr("Expected"),
        LabState.RECEIVED: _tr("Received"),
        LabState.DAMAGED: _tr("Damaged"),
        LabState.REJECTED: _tr("Rejected"),
        LabState.LOST: _tr("Lost"),
        LabState.UNEXPECTED: _tr("Unexpected"),
        LabState.NOT_SHIPPED: _tr("Not shipped (custody gap)"),
    }
    return labels[state]


def flag_label(flag: TransitFlag) -> str:
    """Translated in-transit flag."""
    return {
        TransitFlag.OVERDUE: _tr("Overdue in transit"),
        TransitFlag.BEYOND_STABILITY: _tr("Beyond stability"),
    }[flag]


class _TimeZoned(RowTableModel[Any]):
    """A row model that formats times in the clinic's zone and colours some rows."""

    def __init__(self, timezone: str, parent: Any = None) -> None:
        super().__init__(parent)
        self.timezone = timezone

    def when(self, value: Any) -> str:
        """Local ``HH:MM`` (with the date when not today is irrelevant: lists are same-day)."""
        return format_local(value, self.timezone, "%Y-%m-%d %H:%M")

    def background(self, row: Any) -> QColor | None:
        """Row colour (None: the view's default)."""
        return None

    def data(self, index: ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        """Adds a background colour to the base model's roles."""
        if role == Qt.ItemDataRole.BackgroundRole and index.isValid():
            colour = self.background(self.row_at(index.row()))
            return QBrush(colour) if colour is not None else None
        return super().data(index, role)

    def replace_or_add(self, rows: Sequence[Any], key: str) -> None:
        """Update rows with the same ``key`` attribute in place, append the others."""
        current = {getattr(r, key): n for n, r in enumerate(self._rows)}
        for row in rows:
            n = current.get(getattr(row, key))
            if n is None:
                self.beginInsertRows(QModelIndex(), len(self._rows), len(self._rows))
                self._rows.append(row)
                self.endInsertRows()
                current[getattr(row, key)] = len(self._rows) - 1
            else:
                self._rows[n] = row
                self.dataChanged.emit(self.index(n, 0), self.index(n, self.columnCount() - 1))

    def remove_where(self, key: str, values: set[Any]) -> None:
        """Drop rows whose ``key`` attribute is in ``values``."""
        for n in range(len(self._rows) - 1, -1, -1):
            if getattr(self._rows[n], key) in values:
                self.beginRemoveRows(QModelIndex(), n, n)
                del self._rows[n]
                self.endRemoveRows()


class ManifestRowModel(_TimeZoned):
    """Lines of a manifest: pickup (no outcome column needed) or lab receipt."""

    translation_context = _CONTEXT
    columns = (
        Column[ManifestRow](QT_TRANSLATE_NOOP(_CONTEXT, "Specimen ID"), lambda r: r.accession),
        Column[ManifestRow](QT_TRANSLATE_NOOP(_CONTEXT, "Container"), lambda r: r.container_code),
        Column[ManifestRow](
            QT_TRANSLATE_NOOP(_CONTEXT, "Temperature"),
            lambda r: temperature_label(r.temperature_class),
        ),
        Column[ManifestRow](QT_TRANSLATE_NOOP(_CONTEXT, "Site"), lambda r: r.site_code),
        Column[ManifestRow](QT_TRANSLATE_NOOP(_CONTEXT, "Bag"), lambda r: r.bag_id),
        Column[ManifestRow](QT_TRANSLATE_NOOP(_CONTEXT, "Lab"), outcome_label),
        Column[ManifestRow](QT_TRANSLATE_NOOP(_CONTEXT, "Note"), lambda r: r.warning, stretch=True),
    )

    def background(self, row: ManifestRow) -> QColor | None:
        """Red for rejections, losses and gaps, amber for warnings, damage, strays; green."""
        state = row.lab_state
        if state in (LabState.REJECTED, LabState.LOST, LabState.NOT_SHIPPED):
            return ERROR_BACKGROUND
        if row.warning or state in _AMBER or not row.expected:
            return WARNING_BACKGROUND
        if state is LabState.RECEIVED:
            return OK_BACKGROUND
        return None


class ReadyModel(_TimeZoned):
    """Specimens waiting at the site that are not on the manifest yet."""

    translation_context = _CONTEXT
    columns = (
        Column[ReadySpecimen](QT_TRANSLATE_NOOP(_CONTEXT, "Specimen ID"), lambda r: r.accession),
        Column[ReadySpecimen](QT_TRANSLATE_NOOP(_CONTEXT, "Container"), lambda r: r.container_code),
        Column[ReadySpecimen](
            QT_TRANSLATE_NOOP(_CONTEXT, "Temperature"),
            lambda r: temperature_label(r.temperature_class),
        ),
        Column[ReadySpecimen](
            QT_TRANSLATE_NOOP(_CONTEXT, "Packed in"),
            lambda r: r.bag_id if r.status is SpecimenStatus.PACKED else "",
        ),
    )


class TransitFlagModel(_TimeZoned):
    """Specimens overdue in transit or past their stability."""

    translation_context = _CONTEXT

    def __init__(self, timezone: str, parent: Any = None) -> None:
        super().__init__(timezone, parent)
        self._columns = (
            Column[TransitFlagRow](
                QT_TRANSLATE_NOOP(_CONTEXT, "Specimen ID"), lambda r: r.accession
            ),
            Column[TransitFlagRow](
                QT_TRANSLATE_NOOP(_CONTEXT, "Manifest"), lambda r: r.manifest_number
            ),
            Column[TransitFlagRow](
                QT_TRANSLATE_NOOP(_CONTEXT, "Picked up"),
                lambda r: f"{self.when(r.picked_up_at)} ({r.picked_up_by})",
            ),
            Column[TransitFlagRow](
                QT_TRANSLATE_NOOP(_CONTEXT, "Flags"),
                lambda r: ", ".join(flag_label(f) for f in r.flags),
                stretch=True,
            ),
        )

    @property
    def columns(self) -> Sequence[Column[Any]]:  # type: ignore[override]
        """Declared once per model: the pickup time needs the model's time zone."""
        return self._columns

    def background(self, row: TransitFlagRow) -> QColor | None:
        """Red past stability, amber when only overdue."""
        if TransitFlag.BEYOND_STABILITY in row.flags:
            return ERROR_BACKGROUND
        return WARNING_BACKGROUND if row.flags else None
