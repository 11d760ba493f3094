"""Step 2: confirm two identifiers — the patient states name and date of birth, or scan."""

from __future__ import annotations

from collections.abc import Callable, Sequence
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

from labdesk.domain.dates import DEFAULT_DATE_FORMATS, example_date, parse_birth_date
from labdesk.domain.errors import ValidationError
from ui.scanner import NO_SCAN, route_scans_from
from ui.widgets.errors import error_text
from ui.widgets.message_label import MessageLabel


class IdentifyStep(QWidget):
    """Ask, type the date of birth, tick the name, Enter. A wristband scan also confirms."""

    confirm_requested = Signal(object, bool)
    """The stated date of birth (``date``, or None when none was typed) and the name tick."""

    def __init__(
        self,
        parent: QWidget | None = None,
        *,
        date_formats: Sequence[str] = DEFAULT_DATE_FORMATS,
        today: Callable[[], date] | None = None,
    ) -> None:
        """Build the step.

        Args:
            parent: the station page.
            date_formats: how a date of birth may be typed (``Config.date_formats``).
            today: the clinic's date, so a two-digit year is never read as in the future.
        """
        super().__init__(parent)
        self._formats = tuple(date_formats)
        self._today = today
        heading = QLabel(
            self.tr(
                "<b>Ask the patient:</b> “Please tell me your full name and date of birth.” "
                "Do not read them out. Then type the date of birth they say and confirm the "
                "name matches the banner — or scan their wristband."
            )
        )
        heading.setWordWrap(True)
        self.dob_edit = QLineEdit(self)
        self.dob_edit.setPlaceholderText(
            self.tr("Date of birth as stated, e.g. {example}").format(
                example=example_date(self._formats)
            )
        )
        self.dob_edit.setAccessibleName(self.tr("Stated date of birth"))
        # A wristband scanned here is routed (it confirms the patient), but a date typed
        # quickly is typing, never a scan: only a burst with the scanner's configured
        # prefix/suffix is taken out of this field (issue 11 items 8 and 9).
        route_scans_from(self.dob_edit)
        self.dob_edit.setProperty(NO_SCAN, True)
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

    def show_error(self, text: str) -> None:
        """Show why the identifiers were not confirmed; the typed date stays, selected."""
        self.message.show_error(text)
        self.dob_edit.setFocus()
        self.dob_edit.selectAll()  # retyping replaces it; Enter resubmits it as it is

    def _submit(self) -> None:
        text = self.dob_edit.text().strip()
        born: date | None = None
        if text:
            today = self._today() if self._today is not None else None
            try:
                born = parse_birth_date(text, self._formats, today=today)
            except ValidationError as exc:
                self.show_error(error_text(exc))
                return
        self.message.show_info("")
        self.confirm_requested.emit(born, self.name_check.isChecked())
