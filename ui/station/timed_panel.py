"""The worklist's timed draws: next step of each series, counting down, alarming when due.

Each row is a scheduled step (OGTT 1H...) with its due time and a live countdown. The
countdown ticks every second from the application's clock; a step whose window is open
is coloured as a warning, a step that is due or late as an alarm, and the moment a step
becomes due the station's alarm sound plays (:class:`ui.widgets.feedback.ScanFeedback`)
once. Enter or double-click opens the patient.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from PySide6.QtCore import QT_TRANSLATE_NOOP, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QTableView, QVBoxLayout, QWidget

from labdesk.domain.series import StepStatus, Window, countdown
from labdesk.domain.timefmt import format_local
from labdesk.station.dto import TimedDrawRow
from ui.station.tables import station_table
from ui.widgets.feedback import BACKGROUNDS, COLOURS, ScanFeedback, Tone
from ui.widgets.table_model import Column, ModelIndex, RowTableModel

_CONTEXT = "TimedDraws"
TICK_MS = 1000

_TONES = {
    StepStatus.OPEN: Tone.WARNING,
    StepStatus.DUE: Tone.ALARM,
    StepStatus.LATE: Tone.ALARM,
    StepStatus.MISSED: Tone.ALARM,
}


def window_of(row: TimedDrawRow) -> Window:
    """The row's window."""
    return Window(row.due_at, row.opens_at, row.closes_at)


class TimedDrawModel(RowTableModel[TimedDrawRow]):
    """Patient, time point, due time, countdown; coloured by the step's status now."""

    translation_context = _CONTEXT

    def __init__(
        self, timezone: str, now: Callable[[], datetime], parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self.timezone = timezone
        self.now = now
        c = Column[TimedDrawRow]
        self.columns = (  # type: ignore[misc]  # per instance: the zone and the clock
            c(
                QT_TRANSLATE_NOOP(_CONTEXT, "Patient"),
                lambda r: r.patient.display_name,
                stretch=True,
            ),
            c(QT_TRANSLATE_NOOP(_CONTEXT, "Draw"), lambda r: r.time_point),
            c(
                QT_TRANSLATE_NOOP(_CONTEXT, "Due"),
                lambda r: format_local(r.due_at, self.timezone)[-5:],
                sort_key=lambda r: r.due_at.timestamp(),
            ),
            c(
                QT_TRANSLATE_NOOP(_CONTEXT, "Window"),
                lambda r: (
                    f"{format_local(r.opens_at, self.timezone)[-5:]}-"
                    f"{format_local(r.closes_at, self.timezone)[-5:]}"
                ),
            ),
            c(
                QT_TRANSLATE_NOOP(_CONTEXT, "Countdown"),
                lambda r: countdown(window_of(r), self.now()),
            ),
        )

    def status(self, row: int) -> StepStatus:
        """Where the step of ``row`` stands now."""
        return window_of(self.row_at(row)).status(self.now())

    def tick(self) -> None:
        """Redraw the countdowns and colours."""
        if self.rowCount():
            last = self.index(self.rowCount() - 1, len(self.columns) - 1)
            self.dataChanged.emit(self.index(0, 0), last)

    def data(self, index: ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        """Warning colours while the window is open, alarm colours once due."""
        if index.isValid() and role in (
            Qt.ItemDataRole.BackgroundRole,
            Qt.ItemDataRole.ForegroundRole,
        ):
            tone = _TONES.get(self.status(index.row()))
            if tone is None:
                return None
            colours = BACKGROUNDS if role == Qt.ItemDataRole.BackgroundRole else COLOURS
            return QColor(colours[tone])
        return super().data(index, role)


class TimedDrawPanel(QWidget):
    """The timed-draws tab of the station worklist."""

    patient_chosen = Signal(int)
    alarm_raised = Signal(str)
    """A step became due: the time point and patient, in words."""

    def __init__(
        self,
        timezone: str,
        now: Callable[[], datetime],
        parent: QWidget | None = None,
        *,
        audible: bool = True,
    ) -> None:
        super().__init__(parent)
        self.model = TimedDrawModel(timezone, now, self)
        self.feedback = ScanFeedback(self, audible=audible)
        self.table: QTableView = station_table(self.model, self)
        self.table.setToolTip(self.tr("Enter or double-click: open the patient for this draw"))
        self.table.activated.connect(self._choose)
        self._alarmed: set[tuple[int, str]] = set()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.table)
        self.timer = QTimer(self)
        self.timer.setInterval(TICK_MS)
        self.timer.timeout.connect(self.tick)
        self.timer.start()

    def set_rows(self, rows: Sequence[TimedDrawRow]) -> None:
        """Show the scheduled steps (soonest first) and check for alarms."""
        self.model.set_rows(rows)
        live = {(r.patient.id, r.time_point) for r in rows}
        self._alarmed &= live
        self.tick()

    def alarming(self) -> list[TimedDrawRow]:
        """Rows whose step is due or late now."""
        return [
            self.model.row_at(i)
            for i in range(self.model.rowCount())
            if self.model.status(i).alarming
        ]

    def tick(self) -> None:
        """Update the countdowns; sound the alarm once for each step that became due."""
        self.model.tick()
        for row in self.alarming():
            key = (row.patient.id, row.time_point)
            if key in self._alarmed:
                continue
            self._alarmed.add(key)
            self.feedback.play(Tone.ALARM)
            self.alarm_raised.emit(
                self.tr("{point} for {patient} is due now").format(
                    point=row.time_point, patient=row.patient.display_name
                )
            )

    def _choose(self, index: ModelIndex) -> None:
        source = self.table.model().mapToSource(index)  # type: ignore[attr-defined]
        self.patient_chosen.emit(self.model.row_at(source.row()).patient.id)
