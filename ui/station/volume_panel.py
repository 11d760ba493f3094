"""The plan step's blood-volume check: weight, the plan's blood against the patient's limits.

Shows the plan's blood total with what was drawn in the last 24 hours and 30 days against
the clinic's limits (5 % / 10 % of the estimated total blood volume by default). Over a
limit it says by how much and offers the compendium's minimum-volume tubes or a
clinician's prioritisation (name and reason, recorded with the collection). Collect stays
disabled while the plan is over the limit without one of them (:meth:`ready`).
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from labdesk.domain.blood_volume import check_weight
from labdesk.domain.errors import ValidationError
from labdesk.station.blood_volume import MIN_REASON, Prioritisation, VolumeCheck
from ui.widgets.feedback import COLOURS, Tone
from ui.widgets.message_label import MessageLabel


class VolumePanel(QGroupBox):
    """Blood volume of the plan against the limits, with what to do when over."""

    weight_entered = Signal(float)
    """A plausible weight in kg to record for the patient."""
    pediatric_toggled = Signal(bool)
    """Plan the compendium's minimum-volume tubes (True) or the ordinary ones."""
    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setTitle(self.tr("Blood volume"))
        self.check: VolumeCheck | None = None
        self.weight_edit = QLineEdit(self)
        self.weight_edit.setPlaceholderText(self.tr("weight in kg"))
        self.weight_edit.setAccessibleName(self.tr("Weight in kg"))
        self.weight_edit.setMaximumWidth(110)
        self.weight_button = QPushButton(self.tr("Record &weight"), self)
        self.summary = QLabel(self)
        self.summary.setWordWrap(True)
        self.pediatric_check = QCheckBox(self.tr("Use &pediatric (minimum-volume) tubes"), self)
        self.clinician_edit = QLineEdit(self)
        self.clinician_edit.setPlaceholderText(self.tr("Clinician who prioritised the draw"))
        self.clinician_edit.setAccessibleName(self.tr("Prioritising clinician"))
        self.reason_edit = QLineEdit(self)
        self.reason_edit.setPlaceholderText(self.tr("Reason to draw over the limit"))
        self.reason_edit.setAccessibleName(self.tr("Prioritisation reason"))
        self.message = MessageLabel(self)
        weight = QHBoxLayout()
        weight.addWidget(QLabel(self.tr("Weight:"), self))
        weight.addWidget(self.weight_edit)
        weight.addWidget(self.weight_button)
        weight.addWidget(self.summary, 1)
        over = QHBoxLayout()
        over.addWidget(self.pediatric_check)
        over.addWidget(self.clinician_edit)
        over.addWidget(self.reason_edit, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(weight)
        layout.addLayout(over)
        layout.addWidget(self.message)
        self.weight_button.clicked.connect(self._record_weight)
        self.weight_edit.returnPressed.connect(self._record_weight)
        self.pediatric_check.toggled.connect(self.pediatric_toggled)
        self.clinician_edit.textChanged.connect(self.changed)
        self.reason_edit.textChanged.connect(self.changed)
        self.show_check(None)

    def show_check(self, check: VolumeCheck | None) -> None:
        """Show the plan's check (None: no blood planned)."""
        self.check = check
        if check is None or check.planned_ml == 0:
            self.setVisible(False)
            self.changed.emit()
            return
        self.setVisible(True)
        a = check.assessment
        if a is None:
            self.summary.setText(
                self.tr("{ml:g} mL blood planned. Enter the weight to check the limits.").format(
                    ml=check.planned_ml
                )
            )
            self.summary.setStyleSheet("")
        else:
            self.weight_edit.setPlaceholderText(f"{a.weight_kg:g} kg")
            text = self.tr(
                "{planned:g} mL planned + {day:g} mL in 24 h = {total:g} of {limit:g} mL "
                "(24 h); {month_total:g} of {month_limit:g} mL (30 days) · {kg:g} kg, "
                "{band}, entered by {by}"
            ).format(
                planned=a.planned_ml,
                day=a.drawn_24h_ml,
                total=round(a.planned_ml + a.drawn_24h_ml, 2),
                limit=a.limit_24h_ml,
                month_total=round(a.planned_ml + a.drawn_30d_ml, 2),
                month_limit=a.limit_30d_ml,
                kg=a.weight_kg,
                band=a.band.value,
                by=check.weight_recorded_by,
            )
            if a.over:
                text += (
                    "<br><b>"
                    + self.tr(
                        "Over the limit by {excess:g} mL: at most {allowed:g} mL may be drawn now."
                    ).format(excess=a.excess_ml, allowed=a.allowed_now_ml)
                    + "</b>"
                )
            self.summary.setText(text)
            tone = Tone.ALARM if a.over else Tone.OK
            self.summary.setStyleSheet(f"color: {COLOURS[tone]};")
        over = check.over
        self.pediatric_check.setVisible(
            check.pediatric_available or self.pediatric_check.isChecked()
        )
        self.clinician_edit.setVisible(over)
        self.reason_edit.setVisible(over)
        if over:
            hint = self.tr("Switch to pediatric tubes, or record the clinician's prioritisation.")
            if not check.pediatric_available:
                hint = self.tr("Draw less (ask the clinician which tests first) and record it.")
            self.message.show_error(hint)
        else:
            self.message.show_info("")
        self.changed.emit()

    def prioritisation(self) -> Prioritisation | None:
        """The clinician's prioritisation when the plan is over the limit."""
        if self.check is None or not self.check.over:
            return None
        clinician = " ".join(self.clinician_edit.text().split())
        reason = " ".join(self.reason_edit.text().split())
        if not clinician and not reason:
            return None
        return Prioritisation(clinician, reason)

    def ready(self) -> bool:
        """True unless the plan is over the limit without a complete prioritisation."""
        if self.check is None or not self.check.over:
            return True
        chosen = self.prioritisation()
        return (
            chosen is not None
            and len(chosen.clinician) >= MIN_REASON
            and len(chosen.reason) >= MIN_REASON
        )

    def reset(self) -> None:
        """A new patient: no weight typed, ordinary tubes, no prioritisation, and nothing
        of the last patient's check shown (their weight, their plan's blood)."""
        self.weight_edit.clear()
        self.weight_edit.setPlaceholderText(self.tr("weight in kg"))
        self.show_check(None)
        self.clinician_edit.clear()
        self.reason_edit.clear()
        self.pediatric_check.blockSignals(True)
        self.pediatric_check.setChecked(False)
        self.pediatric_check.blockSignals(False)

    def _record_weight(self) -> None:
        text = self.weight_edit.text().strip().replace(",", ".")
        try:
            weight = check_weight(float(text))
        except ValueError:
            self.message.show_error(self.tr("Enter the weight in kg, e.g. 12.5."))
            return
        except ValidationError as exc:
            self.message.show_error(f"{exc.message} {exc.hint}")
            return
        self.weight_edit.clear()
        self.weight_entered.emit(weight)
