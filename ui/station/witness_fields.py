"""The collect step's collector and observer: a badge scan when it is not the signed-in user.

The collector's badge records someone else as the one who drew (a colleague at the chair
while the signed-in MA types); a forensic collection records who observed it. A badge
scanned while the collect step is shown lands in the focused field, else the collector's.
"""

from __future__ import annotations

from PySide6.QtWidgets import QHBoxLayout, QLabel, QLineEdit, QWidget


class WitnessFields(QWidget):
    """Collector badge (optional) and, for forensic collections, the observer's badge."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.collector_edit = QLineEdit(self)
        self.collector_edit.setPlaceholderText(self.tr("Collector badge (if not you)"))
        self.collector_edit.setAccessibleName(self.tr("Collector badge"))
        self.observer_label = QLabel(self.tr("Observer:"), self)
        self.observer_edit = QLineEdit(self)
        self.observer_edit.setPlaceholderText(self.tr("Scan the observer's badge"))
        self.observer_edit.setAccessibleName(self.tr("Observer badge"))
        for edit in (self.collector_edit, self.observer_edit):
            edit.setEchoMode(QLineEdit.EchoMode.Password)  # a badge is a sign-in factor
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(QLabel(self.tr("Collector:"), self))
        layout.addWidget(self.collector_edit)
        layout.addWidget(self.observer_label)
        layout.addWidget(self.observer_edit)
        self.set_forensic(False)

    def set_forensic(self, forensic: bool) -> None:
        """Show the observer's field only for a forensic collection."""
        self.observer_label.setVisible(forensic)
        self.observer_edit.setVisible(forensic)
        if not forensic:
            self.observer_edit.clear()

    def take_scan(self, text: str) -> None:
        """A badge scanned on this step: into the focused field, else the collector's."""
        target = self.observer_edit if self.observer_edit.hasFocus() else self.collector_edit
        target.setText(text.strip())

    def clear(self) -> None:
        """Forget both badges (a new collection)."""
        self.collector_edit.clear()
        self.observer_edit.clear()

    @property
    def collector_badge(self) -> str:
        """The collector's badge ("" when the signed-in user drew)."""
        return self.collector_edit.text().strip()

    @property
    def observer_badge(self) -> str:
        """The observer's badge ("" when none)."""
        return "" if self.observer_edit.isHidden() else self.observer_edit.text().strip()
