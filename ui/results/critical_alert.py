"""The alarm strip over the results board: critical results nobody has acknowledged yet.

Every board load carries the unacknowledged critical results (whatever the board's filter),
for a user who may sign them. A critical the strip has not shown before sounds the alarm,
once; the strip stays up, red, until every one of them is acknowledged.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QWidget

from labdesk.domain.overdue import FlagReason, from_posix
from labdesk.domain.timefmt import format_local
from labdesk.results.board_dto import BoardRow
from ui.widgets.feedback import BACKGROUNDS, COLOURS, ScanFeedback, Tone

SHOWN = 3
"""Criticals named in the strip; the rest are counted."""


class CriticalAlert(QFrame):
    """A red strip naming the unacknowledged critical results, with a button to list them."""

    show_requested = Signal()
    alarmed = Signal(list)
    """Ordered test ids that were new to this strip (the alarm sounded for them)."""

    def __init__(self, timezone: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.timezone = timezone
        self.feedback = ScanFeedback(self)
        self._seen: set[int] = set()
        self.setObjectName("criticalAlert")
        self.setStyleSheet(
            f"#criticalAlert {{ background: {BACKGROUNDS[Tone.ALARM]}; "
            f"border: 2px solid {COLOURS[Tone.ALARM]}; border-radius: 4px; }}"
        )
        self.text = QLabel(self)
        self.text.setWordWrap(True)
        self.text.setStyleSheet(f"color: {COLOURS[Tone.ALARM]}; font-weight: bold;")
        self.button = QPushButton(self.tr("Show &criticals"), self)
        self.button.clicked.connect(self.show_requested)
        layout = QHBoxLayout(self)
        layout.addWidget(self.text, 1)
        layout.addWidget(self.button)
        self.hide()

    def update_criticals(self, criticals: tuple[BoardRow, ...]) -> list[int]:
        """Show ``criticals``; sound the alarm for any not shown before. Returns those ids."""
        ids = [r.ordered_test_id for r in criticals]
        new = [i for i in ids if i not in self._seen]
        self._seen = set(ids)  # an acknowledged one that comes back (a correction) alarms again
        if not criticals:
            self.hide()
            return []
        self.text.setText(self._describe(criticals))
        self.show()
        if new:
            self.feedback.play(Tone.ALARM)
            self.alarmed.emit(new)
        return new

    def _describe(self, criticals: tuple[BoardRow, ...]) -> str:
        lines = [
            self.tr("CRITICAL {test} for {patient} ({mrn}), since {at}: acknowledge now").format(
                test=row.test_name or row.test_code,
                patient=row.patient_name,
                mrn=row.mrn,
                at=format_local(from_posix(_critical_since(row)), self.timezone),
            )
            for row in criticals[:SHOWN]
        ]
        more = len(criticals) - SHOWN
        if more > 0:
            lines.append(self.tr("and {n} more critical result(s)").format(n=more))
        return "\n".join(lines)


def _critical_since(row: BoardRow) -> float:
    for flag in row.flags:
        if flag.reason is FlagReason.CRITICAL_NOT_ACKNOWLEDGED:
            return flag.since_s
    return row.result_s or row.ordered_s
