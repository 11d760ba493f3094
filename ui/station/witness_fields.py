"""The collect step's collector and observer: a badge scan when it is not the signed-in user.

The collector's badge records someone else as the one who drew (a colleague at the chair
while the signed-in MA types); a forensic collection must record who observed it. A badge
scanned while the collect step is shown lands in the focused field, else in the forensic
observer's field while it is empty, else in the collector's.
"""

from __future__ import annotations

from PySide6.QtWidgets import QHBoxLayout, QInputDialog, QLabel, QLineEdit, QWidget


def ask_observer_badge(parent: QWidget) -> str | None:
    """Ask for the badge of who observes a forensic recollection (None: cancelled).

    The observed recollection is saved from the labels step, where the collect step's
    observer field is not shown; the badge is asked here instead (scan or type).
    """
    badge, ok = QInputDialog.getText(
        parent,
        parent.tr("Observer"),
        parent.tr("Scan the badge of who observed the collection:"),
        QLineEdit.EchoMode.Password,
    )
    return badge.strip() if ok else None


class WitnessFields(QWidget):
    """Collector badge (optional) and, for forensic collections, the observer's badge."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.collector_edit = QLineEdit(self)
        self.collector_edit.setPlaceholderText(self.tr("scan their badge"))
        self.collector_edit.setAccessibleName(self.tr("Collector badge"))
        self.observer_label = QLabel(self.tr("Observer:"), self)
        self.observer_edit = QLineEdit(self)
        self.observer_edit.setPlaceholderText(self.tr("Scan the observer's badge (required)"))
        self.observer_edit.setAccessibleName(self.tr("Observer badge"))
        for edit in (self.collector_edit, self.observer_edit):
            edit.setEchoMode(QLineEdit.EchoMode.Password)  # a badge is a sign-in factor
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(QLabel(self.tr("or another collector:"), self))
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
        """A badge scanned on this step: into the focused field; else, for a forensic
        collection, the observer's while it is empty (it is required); else the collector's."""
        if self.collector_edit.hasFocus():
            target = self.collector_edit
        elif self.observer_edit.hasFocus() or (
            not self.observer_edit.isHidden() and not self.observer_edit.text().strip()
        ):
            target = self.observer_edit
        else:
            target = self.collector_edit
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
