"""The clinician board as a table model: one row per ordered test, columns declared once.

Rows are the services' ``BoardRow`` tuples; the model never touches the database. Display
text is made only for the cells a view asks for (a screenful), and ``SORT_ROLE`` serves the
raw values (POSIX seconds, enum order, severity) the proxy sorts on.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from PySide6.QtCore import (
    QT_TRANSLATE_NOOP,
    QCoreApplication,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
)
from PySide6.QtGui import QColor

from labdesk.domain.order import TestStatus
from labdesk.domain.overdue import FlagReason, Urgency, from_posix
from labdesk.domain.timefmt import format_local
from labdesk.services.board_dto import ABNORMAL, CRITICAL, NORMAL, BoardRow
from ui.table_model import Column, RowTableModel

_CONTEXT = "BoardTableModel"
ModelIndex = QModelIndex | QPersistentModelIndex
#: Role serving the ``BoardRow`` itself (the drill-down and acknowledgement need it).
ROW_ROLE = Qt.ItemDataRole.UserRole + 2
URGENCY_COLOURS = {
    Urgency.LIFE_THREATENING: QColor("#b00020"),
    Urgency.URGENT: QColor("#b26a00"),
    Urgency.FOLLOW_UP: QColor("#5b4bb7"),
}
_STATUS_ORDER = {status: rank for rank, status in enumerate(TestStatus)}
_NO_TIME = float("inf")


def tr(text: str) -> str:
    """Translate ``text`` in this module's context."""
    return QCoreApplication.translate(_CONTEXT, text)


def status_label(status: TestStatus) -> str:
    """Translated status of an ordered test."""
    labels = {
        TestStatus.ORDERED: tr("Ordered"),
        TestStatus.COLLECTED: tr("Collected"),
        TestStatus.IN_TRANSIT: tr("In transit"),
        TestStatus.RECEIVED: tr("At the lab"),
        TestStatus.PRELIMINARY: tr("Preliminary"),
        TestStatus.FINAL: tr("Final"),
        TestStatus.ACKNOWLEDGED: tr("Acknowledged"),
        TestStatus.REJECTED: tr("Rejected"),
        TestStatus.NOT_PERFORMED: tr("Not performed"),
        TestStatus.CANCELLED: tr("Cancelled"),
    }
    return labels[status]


def reason_label(reason: FlagReason) -> str:
    """Translated flag reason."""
    labels = {
        FlagReason.NOT_COLLECTED: tr("Ordered, not collected"),
        FlagReason.NOT_PICKED_UP: tr("Collected, not picked up"),
        FlagReason.TRANSIT_OVERDUE: tr("Overdue in transit"),
        FlagReason.NOT_RESULTED: tr("Not resulted in turnaround"),
        FlagReason.FINAL_OVERDUE: tr("Final result overdue"),
        FlagReason.NO_RECOLLECTION: tr("Rejected, not recollected"),
        FlagReason.NOT_ACKNOWLEDGED: tr("Not acknowledged"),
        FlagReason.CRITICAL_NOT_ACKNOWLEDGED: tr("CRITICAL not acknowledged"),
        FlagReason.UNMATCHED_RESULT: tr("Unmatched result"),
    }
    return labels[reason]


def severity_label(severity: int) -> str:
    """Translated worst-result text."""
    return {CRITICAL: tr("Critical"), ABNORMAL: tr("Abnormal"), NORMAL: tr("Normal")}.get(
        severity, ""
    )


def duration_text(seconds: float) -> str:
    """``3 d 4 h``, ``5 h 10 min`` or ``12 min``."""
    minutes = int(abs(seconds) // 60)
    days, rest = divmod(minutes, 1440)
    hours, mins = divmod(rest, 60)
    if days:
        return tr("{d} d {h} h").format(d=days, h=hours)
    if hours:
        return tr("{h} h {m} min").format(h=hours, m=mins)
    return tr("{m} min").format(m=mins)


class BoardTableModel(RowTableModel[BoardRow]):
    """Board rows for the view; times shown in the clinic's zone relative to the load."""

    translation_context = _CONTEXT

    def __init__(self, timezone: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.timezone = timezone
        self.now_s = 0.0
        self.columns = self._declare_columns()  # type: ignore[misc]  # per instance: the zone

    # ------------------------------------------------------------ columns

    def _declare_columns(self) -> tuple[Column[BoardRow], ...]:
        def local(seconds: float | None) -> str:
            return "" if seconds is None else format_local(from_posix(seconds), self.timezone)

        return (
            Column[BoardRow](
                QT_TRANSLATE_NOOP(_CONTEXT, "Flags"),
                lambda r: " · ".join(reason_label(f.reason) for f in r.flags),
                lambda r: (r.urgency or 9, r.due_s or _NO_TIME),
                stretch=True,
            ),
            Column[BoardRow](
                QT_TRANSLATE_NOOP(_CONTEXT, "Due"),
                self._due_text,
                lambda r: _NO_TIME if r.due_s is None else r.due_s,
            ),
            Column[BoardRow](
                QT_TRANSLATE_NOOP(_CONTEXT, "Patient"),
                lambda r: r.patient_name,
                lambda r: r.patient_name.casefold(),
                stretch=True,
            ),
            Column[BoardRow](QT_TRANSLATE_NOOP(_CONTEXT, "MRN"), lambda r: r.mrn, lambda r: r.mrn),
            Column[BoardRow](
                QT_TRANSLATE_NOOP(_CONTEXT, "Test"),
                lambda r: f"{r.test_code} — {r.test_name}",
                lambda r: r.test_code,
                stretch=True,
            ),
            Column[BoardRow](
                QT_TRANSLATE_NOOP(_CONTEXT, "Status"),
                lambda r: status_label(r.status),
                lambda r: _STATUS_ORDER[r.status],
            ),
            Column[BoardRow](
                QT_TRANSLATE_NOOP(_CONTEXT, "Result"),
                lambda r: severity_label(r.severity),
                lambda r: -r.severity,
            ),
            Column[BoardRow](
                QT_TRANSLATE_NOOP(_CONTEXT, "Priority"),
                lambda r: tr("STAT") if r.stat else tr("Routine"),
                lambda r: 0 if r.stat else 1,
            ),
            Column[BoardRow](
                QT_TRANSLATE_NOOP(_CONTEXT, "Clinician"),
                self._clinician_text,
                lambda r: r.ordering_provider.casefold(),
            ),
            Column[BoardRow](
                QT_TRANSLATE_NOOP(_CONTEXT, "Ordered"),
                lambda r: local(r.ordered_s),
                lambda r: r.ordered_s,
            ),
            Column[BoardRow](
                QT_TRANSLATE_NOOP(_CONTEXT, "Collected"),
                lambda r: local(r.collected_s),
                lambda r: _NO_TIME if r.collected_s is None else r.collected_s,
            ),
            Column[BoardRow](
                QT_TRANSLATE_NOOP(_CONTEXT, "Accession"),
                lambda r: r.accession,
                lambda r: r.accession,
            ),
        )

    def _due_text(self, row: BoardRow) -> str:
        if row.due_s is None:
            return ""
        late = self.now_s - row.due_s
        if late >= 0:
            return tr("overdue {t}").format(t=duration_text(late))
        return tr("in {t}").format(t=duration_text(late))

    def _clinician_text(self, row: BoardRow) -> str:
        if not row.escalated:
            return row.ordering_provider
        target = row.escalated_to or tr("nobody (no covering clinician)")
        return tr("{who} → {cover}").format(who=row.ordering_provider, cover=target)

    # ------------------------------------------------------------ data

    def set_rows(self, rows: Sequence[BoardRow], now: datetime | None = None) -> None:
        """Replace every row; ``now`` is the load time the "Due" column counts from."""
        if now is not None:
            self.now_s = now.timestamp()
        super().set_rows(rows)

    @property
    def rows(self) -> list[BoardRow]:
        """Every row, in load order (the proxy filters and sorts them)."""
        return self._rows

    def data(self, index: ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        """The base cell roles, plus the row itself, urgency colour and the flags' due times."""
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        row = self._rows[index.row()]
        if role == ROW_ROLE:
            return row
        if role == Qt.ItemDataRole.ForegroundRole:
            urgency = row.urgency
            return URGENCY_COLOURS[urgency] if urgency is not None else None
        if role == Qt.ItemDataRole.ToolTipRole and index.column() == 0 and row.flags:
            return "\n".join(
                tr("{reason}: due {due}").format(
                    reason=reason_label(f.reason),
                    due=format_local(from_posix(f.due_s), self.timezone),
                )
                for f in row.flags
            )
        return super().data(index, role)
