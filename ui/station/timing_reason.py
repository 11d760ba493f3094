"""The reason for a timed draw outside its window: pick a common one or type it, Enter saves.

A series step (OGTT 1H, a trough) drawn early or late needs a reason, which goes to the
lab with the specimen. Keyboard first: the picker takes arrow keys or the first letters
of a reason and fills the text; the text can be edited or typed from scratch ("Other");
Enter in either confirms (the collect step saves, judging the window again).
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLineEdit, QWidget

from labdesk.domain.series import MIN_TIMING_REASON, TIMING_REASONS

_ENTER = (Qt.Key.Key_Return, Qt.Key.Key_Enter)


class TimingReasonField(QWidget):
    """A picker of common reasons beside the reason's text."""

    confirmed = Signal()
    """Enter was pressed on a reason (the collect step saves)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.picker = QComboBox(self)
        self.picker.addItem(self.tr("Reason for the time…"), None)
        for reason in TIMING_REASONS:
            self.picker.addItem(reason, reason)
        self.picker.addItem(self.tr("Other: type it"), "")
        self.picker.setAccessibleName(self.tr("Common reasons for the time"))
        self.edit = QLineEdit(self)
        self.edit.setPlaceholderText(
            self.tr("Reason for the time, if outside the window (goes to the lab)")
        )
        self.edit.setAccessibleName(self.tr("Reason for the time"))
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.picker)
        layout.addWidget(self.edit, 1)
        self.setFocusProxy(self.edit)
        self.picker.currentIndexChanged.connect(self._picked)
        self.picker.installEventFilter(self)
        self.edit.returnPressed.connect(self._confirm)
        self.edit.textChanged.connect(self._clear_alarm)

    def text(self) -> str:
        """The reason as it goes to the lab."""
        return " ".join(self.edit.text().split())

    def ask(self) -> None:
        """Put the keyboard where the reason is given: the picker while none is typed."""
        if self.text():
            self.edit.setFocus()
            self.edit.selectAll()
        else:
            self.picker.setFocus()

    def _picked(self, index: int) -> None:
        reason = self.picker.itemData(index)
        if reason is None:
            return
        if reason == "":
            self.edit.setFocus()
            return
        current = self.text()
        if not current or current in TIMING_REASONS:
            self.edit.setText(reason)  # a typed reason is never overwritten

    def _clear_alarm(self) -> None:
        if len(self.text()) >= MIN_TIMING_REASON:
            self.setStyleSheet("")  # the collect step flashed it while the reason was missing

    def _confirm(self) -> None:
        if len(self.text()) >= MIN_TIMING_REASON:
            self.confirmed.emit()
        else:
            self.ask()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Enter on the closed picker confirms its reason ("Other" moves to the text)."""
        if (
            watched is self.picker
            and event.type() == QEvent.Type.KeyPress
            and isinstance(event, QKeyEvent)
            and event.key() in _ENTER
            and not self.picker.view().isVisible()
        ):
            if self.picker.currentData() == "":
                self.edit.setFocus()
            else:
                self._confirm()
            return True
        return super().eventFilter(watched, event)
