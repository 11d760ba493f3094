"""Table models of the station screens: orders, draw plan, scan-back, alarms, worklist.

Times are shown in the clinic's time zone, which comes from the configuration, so those
models declare their columns per instance (the declaration is still in one place).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from PySide6.QtCore import QT_TRANSLATE_NOOP, QCoreApplication, QObject, Qt
from PySide6.QtGui import QColor

from labdesk.domain.draw_plan import PlannedContainer
from labdesk.domain.order import Priority, TestStatus
from labdesk.domain.specimen import SpecimenStatus
from labdesk.domain.timefmt import format_local
from labdesk.kernel.dto import OrderedTestRow
from labdesk.station.dto import (
    AlarmRow,
    EncounterSpecimen,
    PickupRow,
    RecollectionRow,
    WaitingPatient,
)
from ui.widgets.feedback import COLOURS, Tone
from ui.widgets.table_model import RIGHT, Column, ModelIndex, RowTableModel

_CONTEXT = "StationModels"

#: Role holding a cap colour (``#RRGGBB``) for :class:`~ui.station.swatch.CapSwatchDelegate`.
CAP_ROLE = Qt.ItemDataRole.UserRole + 10


def tr(text: str) -> str:
    """Translate in this module's context."""
    return QCoreApplication.translate(_CONTEXT, text)


def status_text(status: TestStatus | SpecimenStatus) -> str:
    """A status as words."""
    return status.value.replace("_", " ").capitalize()


class _Zoned(RowTableModel[Any]):
    """A row model whose time columns use the clinic's zone."""

    translation_context = _CONTEXT

    def __init__(self, timezone: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.timezone = timezone
        self.columns = self.declare()  # type: ignore[misc]  # per instance: the zone

    def declare(self) -> tuple[Column[Any], ...]:
        """The columns (subclasses)."""
        raise NotImplementedError

    def time(self, value: datetime | None) -> str:
        """``HH:MM`` today, ``YYYY-MM-DD HH:MM`` otherwise, in the clinic's zone."""
        return format_local(value, self.timezone)


class OrdersModel(_Zoned):
    """The patient's ordered tests."""

    def declare(self) -> tuple[Column[OrderedTestRow], ...]:
        """Order, test, name, priority, status, provider, ordered at, accession."""
        c = Column[OrderedTestRow]
        return (
            c(QT_TRANSLATE_NOOP(_CONTEXT, "Order"), lambda r: r.placer_order_number),
            c(QT_TRANSLATE_NOOP(_CONTEXT, "Test"), lambda r: r.test_code),
            c(QT_TRANSLATE_NOOP(_CONTEXT, "Name"), lambda r: r.test_name, stretch=True),
            c(
                QT_TRANSLATE_NOOP(_CONTEXT, "Priority"),
                lambda r: tr("STAT") if r.priority is Priority.STAT else tr("Routine"),
            ),
            c(QT_TRANSLATE_NOOP(_CONTEXT, "Status"), lambda r: status_text(r.status)),
            c(QT_TRANSLATE_NOOP(_CONTEXT, "Ordering provider"), lambda r: r.ordering_provider),
            c(
                QT_TRANSLATE_NOOP(_CONTEXT, "Ordered"),
                lambda r: self.time(r.ordered_at),
                sort_key=lambda r: r.ordered_at.timestamp(),
            ),
            c(QT_TRANSLATE_NOOP(_CONTEXT, "Accession"), lambda r: r.specimen_accession or ""),
        )

    def data(self, index: ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        """Grey out cancelled tests."""
        if (
            role == Qt.ItemDataRole.ForegroundRole
            and index.isValid()
            and self.row_at(index.row()).status is TestStatus.CANCELLED
        ):
            return QColor("#888888")
        return super().data(index, role)


def _handling(c: PlannedContainer) -> str:
    labels = [tr(text) for text in c.handling_labels]
    return "; ".join(labels)


class PlanModel(RowTableModel[PlannedContainer]):
    """The draw plan: one row per container, blood in order of draw, then urine."""

    translation_context = _CONTEXT
    columns = (
        Column[PlannedContainer](QT_TRANSLATE_NOOP(_CONTEXT, "#"), lambda c: str(c.position)),
        Column[PlannedContainer](QT_TRANSLATE_NOOP(_CONTEXT, "Cap"), lambda c: c.cap_colour),
        Column[PlannedContainer](
            QT_TRANSLATE_NOOP(_CONTEXT, "Container"),
            lambda c: c.container_name,
            tooltip=lambda c: f"{c.container_name} ({c.container_code})",
        ),
        Column[PlannedContainer](QT_TRANSLATE_NOOP(_CONTEXT, "Additive"), lambda c: c.additive),
        Column[PlannedContainer](
            QT_TRANSLATE_NOOP(_CONTEXT, "Invert"), lambda c: c.inversions or "—"
        ),
        Column[PlannedContainer](
            QT_TRANSLATE_NOOP(_CONTEXT, "Tests"),
            lambda c: ", ".join(c.test_codes) + ("  STAT" if c.stat else ""),
            tooltip=lambda c: "\n".join(f"{t.test_code}: {t.test_name}" for t in c.tests),
        ),
        Column[PlannedContainer](
            QT_TRANSLATE_NOOP(_CONTEXT, "Min mL"),
            lambda c: f"{c.minimum_volume_ml:g}",
            sort_key=lambda c: c.minimum_volume_ml,
            alignment=RIGHT,
        ),
        Column[PlannedContainer](
            QT_TRANSLATE_NOOP(_CONTEXT, "Handling"), _handling, tooltip=_handling, stretch=True
        ),
    )
    CAP_COLUMN = 1

    def data(self, index: ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        """Adds the cap colour for the swatch delegate."""
        if role == CAP_ROLE and index.isValid():
            return self.row_at(index.row()).cap_hex
        return super().data(index, role)


_SPECIMEN_MARKS = {
    SpecimenStatus.COLLECTED: "○",
    SpecimenStatus.LABELLED: "□",
}


class SpecimensModel(_Zoned):
    """The encounter's tubes with their scan-back tick."""

    def declare(self) -> tuple[Column[EncounterSpecimen], ...]:
        """Tick, cap, accession, tests, status, collected at (container in tooltips)."""
        c = Column[EncounterSpecimen]
        return (
            c(
                QT_TRANSLATE_NOOP(_CONTEXT, "Scanned"),
                lambda s: "✔" if s.verified else _SPECIMEN_MARKS.get(s.status, ""),
            ),
            c(
                QT_TRANSLATE_NOOP(_CONTEXT, "Cap"),
                lambda s: s.cap_colour,
                tooltip=lambda s: s.container_name,
            ),
            c(QT_TRANSLATE_NOOP(_CONTEXT, "Accession"), lambda s: s.accession),
            c(
                QT_TRANSLATE_NOOP(_CONTEXT, "Tests"),
                lambda s: ", ".join(s.tests),
                tooltip=lambda s: s.container_name,
            ),
            c(QT_TRANSLATE_NOOP(_CONTEXT, "Status"), _specimen_status, stretch=True),
            c(
                QT_TRANSLATE_NOOP(_CONTEXT, "Collected"),
                lambda s: format_local(s.collected_at, self.timezone, "%H:%M"),
            ),
        )

    CAP_COLUMN = 1

    def data(self, index: ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        """Cap colour for the swatch; green text once scanned back."""
        if not index.isValid():
            return None
        row: EncounterSpecimen = self.row_at(index.row())
        if role == CAP_ROLE:
            return row.cap_hex
        if role == Qt.ItemDataRole.ForegroundRole and row.verified:
            return QColor(COLOURS[Tone.OK])
        if role == Qt.ItemDataRole.ForegroundRole and row.needs_observed_recollection:
            return QColor(COLOURS[Tone.ALARM])
        return super().data(index, role)

    def ids(self) -> Sequence[int]:
        """Specimen ids in row order."""
        return [self.row_at(i).id for i in range(self.rowCount())]


def _specimen_status(s: EncounterSpecimen) -> str:
    if s.needs_observed_recollection:
        return tr("Observed recollection needed")
    if s.verified:
        return tr("Scanned back")
    if s.labelled:
        return tr("Label printed: scan it")
    if s.label_unconfirmed:
        return tr("Label unconfirmed: check the tube")
    return tr("Collected: print its label")


class AlarmsModel(_Zoned):
    """Scan-back alarms of the encounter."""

    def declare(self) -> tuple[Column[AlarmRow], ...]:
        """Time, scanned value, message, state."""
        c = Column[AlarmRow]
        return (
            c(
                QT_TRANSLATE_NOOP(_CONTEXT, "Time"),
                lambda a: format_local(a.raised_at, self.timezone, "%H:%M"),
            ),
            c(QT_TRANSLATE_NOOP(_CONTEXT, "Scanned"), lambda a: a.scanned),
            c(QT_TRANSLATE_NOOP(_CONTEXT, "Alarm"), lambda a: a.message, stretch=True),
            c(
                QT_TRANSLATE_NOOP(_CONTEXT, "State"),
                lambda a: tr("OPEN") if a.open else tr("Resolved: ") + a.resolution,
            ),
        )

    def data(self, index: ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        """Open alarms in red."""
        if (
            role == Qt.ItemDataRole.ForegroundRole
            and index.isValid()
            and self.row_at(index.row()).open
        ):
            return QColor(COLOURS[Tone.ALARM])
        return super().data(index, role)


class WaitingModel(_Zoned):
    """Today's patients with tests still to collect."""

    def declare(self) -> tuple[Column[WaitingPatient], ...]:
        """Name, DOB, MRN, pending tests, waiting since, STAT."""
        c = Column[WaitingPatient]
        return (
            c(
                QT_TRANSLATE_NOOP(_CONTEXT, "Patient"),
                lambda w: w.patient.display_name,
                stretch=True,
            ),
            c(QT_TRANSLATE_NOOP(_CONTEXT, "DOB"), lambda w: w.patient.birth_date.isoformat()),
            c(QT_TRANSLATE_NOOP(_CONTEXT, "MRN"), lambda w: w.patient.mrn),
            c(
                QT_TRANSLATE_NOOP(_CONTEXT, "Tests"),
                lambda w: str(w.pending_tests),
                sort_key=lambda w: w.pending_tests,
                alignment=RIGHT,
            ),
            c(
                QT_TRANSLATE_NOOP(_CONTEXT, "Ordered"),
                lambda w: self.time(w.first_ordered_at),
                sort_key=lambda w: w.first_ordered_at.timestamp(),
            ),
            c(QT_TRANSLATE_NOOP(_CONTEXT, "Priority"), lambda w: tr("STAT") if w.stat else ""),
        )


class PickupModel(_Zoned):
    """Specimens collected here and not yet picked up."""

    def declare(self) -> tuple[Column[PickupRow], ...]:
        """Accession, patient, container, status, collected at."""
        c = Column[PickupRow]
        return (
            c(QT_TRANSLATE_NOOP(_CONTEXT, "Accession"), lambda p: p.accession),
            c(
                QT_TRANSLATE_NOOP(_CONTEXT, "Patient"),
                lambda p: p.patient.display_name,
                stretch=True,
            ),
            c(QT_TRANSLATE_NOOP(_CONTEXT, "Container"), lambda p: p.container_code),
            c(QT_TRANSLATE_NOOP(_CONTEXT, "Status"), lambda p: status_text(p.status)),
            c(
                QT_TRANSLATE_NOOP(_CONTEXT, "Collected"),
                lambda p: self.time(p.collected_at),
                sort_key=lambda p: p.collected_at.timestamp(),
            ),
        )

    def data(self, index: ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        """Specimens not scanned back (label never confirmed) in amber."""
        if (
            role == Qt.ItemDataRole.ForegroundRole
            and index.isValid()
            and self.row_at(index.row()).status
            in (SpecimenStatus.COLLECTED, SpecimenStatus.LABELLED)
        ):
            return QColor(COLOURS[Tone.WARNING])
        return super().data(index, role)


class RecollectModel(_Zoned):
    """Specimens the lab rejected or lost: patients to draw again."""

    def declare(self) -> tuple[Column[RecollectionRow], ...]:
        """Patient, DOB, accession of the lost or rejected tube, reason, tests, since."""
        c = Column[RecollectionRow]
        return (
            c(
                QT_TRANSLATE_NOOP(_CONTEXT, "Patient"),
                lambda r: r.patient.display_name,
                stretch=True,
            ),
            c(QT_TRANSLATE_NOOP(_CONTEXT, "DOB"), lambda r: r.patient.birth_date.isoformat()),
            c(QT_TRANSLATE_NOOP(_CONTEXT, "Tube"), lambda r: r.accession),
            c(QT_TRANSLATE_NOOP(_CONTEXT, "Why"), lambda r: r.reason),
            c(QT_TRANSLATE_NOOP(_CONTEXT, "Draw again"), lambda r: ", ".join(r.tests)),
            c(
                QT_TRANSLATE_NOOP(_CONTEXT, "Since"),
                lambda r: self.time(r.opened_at),
                sort_key=lambda r: r.opened_at.timestamp(),
            ),
        )
