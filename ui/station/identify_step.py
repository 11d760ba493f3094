"""Step 2: confirm two identifiers — the patient states name and date of birth, or scan."""

from __future__ import annotations

from datetime import date

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from labdesk.services.patients import parse_birth_date
from ui.message_label import MessageLabel
from ui.scanner import route_scans_from


class IdentifyStep(QWidget):
    """Ask, type the date of birth, tick the name, Enter. A wristband scan also confirms."""

    confirm_requested = Signal(object, bool)
    """The stated date of birth (``date`` or None if unreadable) and the name tick."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        heading = QLabel(
            self.tr(
                "<b>Ask the patient:</b> “Please tell me your full name and date of birth.” "
                "Do not read them out. Then type the date of birth they say and confirm the "
                "name matches the banner — or scan their wristband."
            )
        )
        heading.setWordWrap(True)
        self.dob_edit = QLineEdit(self)
        self.dob_edit.setPlaceholderText(self.tr("Date of birth as stated, e.g. 1984-03-05"))
        self.dob_edit.setAccessibleName(self.tr("Stated date of birth"))
        route_scans_from(self.dob_edit)
        self.name_check = QCheckBox(self.tr("&Name matches what the patient said"), self)
        self.confirm_button = QPushButton(self.tr("&Confirm identity (Enter)"), self)
        self.confirm_button.setDefault(True)
        self.message = MessageLabel(self)
        form = QFormLayout()
        form.addRow(self.tr("Date of &birth"), self.dob_edit)
        form.addRow("", self.name_check)
        layout = QVBoxLayout(self)
        layout.addWidget(heading)
        layout.addLayout(form)
        layout.addWidget(self.confirm_button, 0, Qt.AlignmentFlag.AlignLeft)
        layout.addWidget(self.message)
        layout.addStretch(1)
        self.dob_edit.returnPressed.connect(self._submit)
        self.confirm_button.clicked.connect(self._submit)
        self.setTabOrder(self.dob_edit, self.name_check)
        self.setTabOrder(self.name_check, self.confirm_button)
        self.setFocusProxy(self.dob_edit)

    def reset(self) -> None:
        """Empty form for the next patient."""
        self.dob_edit.clear()
        self.name_check.setChecked(False)
        self.message.show_info("")

    def _submit(self) -> None:
        text = self.dob_edit.text().strip()
        born: date | None = parse_birth_date(text) if text else None
        if text and born is None:
            self.message.show_error(
                self.tr("'{text}' is not a date. Type it as YYYY-MM-DD or MM/DD/YYYY.").format(
                    text=text
                )
            )
            return
        self.confirm_requested.emit(born, self.name_check.isChecked())
