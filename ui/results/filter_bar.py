"""The board's filter bar and its overdue counts, turned into a :class:`BoardQuery`."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QWidget,
)

from labdesk.domain.order import TestStatus
from labdesk.domain.overdue import FlagReason, Urgency
from labdesk.results.board_query import ANY_FLAG, BoardQuery
from ui.results.board_model import reason_label, status_label

SEARCH_DEBOUNCE_MS = 150
_MINE = "__mine__"


class FilterBar(QWidget):
    """Search, patient, clinician, status, flag and closed pickers; emits the combined query.

    Args:
        user_id: the signed-in user ("my results and escalations").
        parent: the owning widget.
        base: the query whose order (sort key and direction) emitted queries keep; without
            it they sort by due time.
    """

    filter_changed = Signal(object)
    """The :class:`BoardQuery` the widgets now describe."""

    def __init__(
        self,
        user_id: int,
        parent: QWidget | None = None,
        *,
        base: Callable[[], BoardQuery] | None = None,
    ) -> None:
        super().__init__(parent)
        self._user_id = user_id
        self._base = base or BoardQuery
        self.search = QLineEdit(self)
        # Words match from their start (see labdesk.results.board_query).
        self.search.setPlaceholderText(
            self.tr("Search: start of a name, MRN, test, accession, order…")
        )
        self.search.setClearButtonEnabled(True)
        self.search.setAccessibleName(self.tr("Search the board"))
        self.patient = QLineEdit(self)
        self.patient.setPlaceholderText(self.tr("Patient name or MRN (start)"))
        self.patient.setClearButtonEnabled(True)
        self.clinician = QComboBox(self)
        self.clinician.addItem(self.tr("All clinicians"), "")
        self.clinician.addItem(self.tr("My results and escalations"), _MINE)
        self.status = QComboBox(self)
        self.status.addItem(self.tr("Any status"), None)
        for status in TestStatus:
            self.status.addItem(status_label(status), status)
        self.flag = QComboBox(self)
        self.flag.addItem(self.tr("Any flag or none"), None)
        self.flag.addItem(self.tr("Overdue (any flag)"), ANY_FLAG)
        for reason in FlagReason:
            if reason is not FlagReason.UNMATCHED_RESULT:
                self.flag.addItem(reason_label(reason), reason)
        self.show_closed = QCheckBox(self.tr("Show acknowledged (7 days)"), self)

        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(SEARCH_DEBOUNCE_MS)
        self._debounce.timeout.connect(self._emit)
        for edit in (self.search, self.patient):
            edit.textChanged.connect(self._debounce.start)
            edit.returnPressed.connect(self._emit_now)
        for combo in (self.clinician, self.status, self.flag):
            combo.currentIndexChanged.connect(self._emit_now)
        self.show_closed.toggled.connect(self._emit_now)

        layout = QGridLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.search, 0, 0, 1, 2)
        layout.addWidget(self.patient, 0, 2)
        layout.addWidget(self.clinician, 1, 0)
        layout.addWidget(self.status, 1, 1)
        layout.addWidget(self.flag, 1, 2)
        layout.addWidget(self.show_closed, 1, 3)
        layout.setColumnStretch(0, 2)
        layout.setColumnStretch(1, 1)
        layout.setColumnStretch(2, 2)

    def set_clinicians(self, names: Iterable[str]) -> None:
        """Offer the ordering clinicians found on the board (keeps the current choice)."""
        current = self.clinician.currentData()
        self.clinician.blockSignals(True)
        while self.clinician.count() > 2:
            self.clinician.removeItem(2)
        for name in sorted(set(names), key=str.casefold):
            self.clinician.addItem(name, name)
        found = self.clinician.findData(current)
        self.clinician.setCurrentIndex(max(0, found))
        self.clinician.blockSignals(False)

    def set_flag(self, reason: FlagReason | str | None) -> None:
        """Select ``reason`` in the flag picker (the counts strip does this)."""
        self.flag.setCurrentIndex(max(0, self.flag.findData(reason)))

    def current(self) -> BoardQuery:
        """The query the widgets describe, in the base query's order."""
        clinician = self.clinician.currentData() or ""
        return self._base().but(
            clinician="" if clinician == _MINE else clinician,
            clinician_id=self._user_id if clinician == _MINE else None,
            patient=self.patient.text().strip(),
            status=_status(self.status.currentData()),
            flag=_flag(self.flag.currentData()),
            text=self.search.text().strip(),
            include_closed=self.show_closed.isChecked(),
        )

    def _emit_now(self) -> None:
        self._debounce.stop()
        self._emit()

    def _emit(self) -> None:
        self.filter_changed.emit(self.current())


def _status(data: object) -> TestStatus | None:
    # Qt hands combo data back as plain str (a StrEnum's value), never the enum member.
    return None if data is None else TestStatus(str(data))


def _flag(data: object) -> FlagReason | str | None:
    if data is None:
        return None
    return ANY_FLAG if data == ANY_FLAG else FlagReason(str(data))


class CountsStrip(QWidget):
    """One button per overdue reason with its count; clicking one filters on it."""

    reason_clicked = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.buttons: dict[FlagReason, QPushButton] = {}
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.total = QLabel(self)
        layout.addWidget(self.total)
        for reason in FlagReason:
            button = QPushButton(self)
            button.setFlat(True)
            button.setAccessibleName(reason_label(reason))
            button.clicked.connect(lambda _=False, r=reason: self.reason_clicked.emit(r))
            layout.addWidget(button)
            self.buttons[reason] = button
        layout.addStretch(1)
        self.set_counts({})

    def set_counts(self, counts: dict[FlagReason, int]) -> None:
        """Show ``counts``: one button per reason that has overdue tests."""
        self.total.setText(self.tr("Overdue: %n", "", sum(counts.values())))
        for reason, button in self.buttons.items():
            count = counts.get(reason, 0)
            button.setText(f"{reason_label(reason)}: {count}")
            button.setVisible(count > 0)
            colour = "color: #b00020;" if reason.urgency is Urgency.LIFE_THREATENING else ""
            button.setStyleSheet(f"QPushButton {{ font-weight: bold; {colour} }}")
