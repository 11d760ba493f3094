"""The patient banner, shown on every step once a patient is open, and the step indicator."""

from __future__ import annotations

from enum import IntEnum

from PySide6.QtCore import QCoreApplication
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from labdesk.domain.encounter import IdMethod
from labdesk.domain.recollection import RecollectionStatus
from labdesk.domain.timefmt import format_local
from labdesk.station.dto import EncounterView, RecollectionInfo
from ui.station.patient_table_model import sex_label
from ui.station.style import set_style
from ui.widgets.feedback import BACKGROUNDS, COLOURS, Tone


class Step(IntEnum):
    """The station's steps, in order."""

    FIND = 0
    IDENTIFY = 1
    PLAN = 2
    COLLECT = 3
    LABELS = 4


def step_title(step: Step) -> str:
    """Translated step name."""
    titles = {
        Step.FIND: QCoreApplication.translate("Step", "1 Find patient"),
        Step.IDENTIFY: QCoreApplication.translate("Step", "2 Confirm ID"),
        Step.PLAN: QCoreApplication.translate("Step", "3 Orders & draw plan"),
        Step.COLLECT: QCoreApplication.translate("Step", "4 Collect"),
        Step.LABELS: QCoreApplication.translate("Step", "5 Labels & scan-back"),
    }
    return titles[step]


class StepIndicator(QWidget):
    """A row of step names with the current one highlighted."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.labels = {step: QLabel(step_title(step)) for step in Step}
        for label in self.labels.values():
            layout.addWidget(label)
        layout.addStretch(1)
        self.set_step(Step.FIND)

    def set_step(self, current: Step) -> None:
        """Highlight ``current``; earlier steps are shown as done."""
        for step, label in self.labels.items():
            # Same padding and weight in every state, so a label never outgrows its slot.
            if step == current:
                style = "background: #1f4e79; color: white;"
            elif step < current:
                style = "color: #1b7f3b;"
            else:
                style = "color: #777777;"
            set_style(label, f"{style} padding: 2px 8px; border-radius: 4px;")


class PatientBanner(QFrame):
    """Name (largest), DOB, MRN, sex, and whether two identifiers were confirmed."""

    def __init__(self, timezone: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._timezone = timezone
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setObjectName("patientBanner")
        self.setStyleSheet("#patientBanner { background: #eef3f8; border: 1px solid #b9c9da; }")
        self.name_label = QLabel()
        font = self.name_label.font()
        font.setPointSizeF(font.pointSizeF() * 1.6)
        font.setBold(True)
        self.name_label.setFont(font)
        self.details_label = QLabel()
        self.id_badge = QLabel()
        self.id_badge.setContentsMargins(10, 4, 10, 4)
        self.recollection_label = QLabel()
        self.recollection_label.setWordWrap(True)
        self.recollection_label.setStyleSheet(
            f"background: {BACKGROUNDS[Tone.WARNING]}; color: {COLOURS[Tone.WARNING]}; "
            "font-weight: bold; border-radius: 4px; padding: 4px 8px;"
        )
        self.recollection_label.hide()
        text = QVBoxLayout()
        text.addWidget(self.name_label)
        text.addWidget(self.details_label)
        text.addWidget(self.recollection_label)
        layout = QHBoxLayout(self)
        layout.addLayout(text, 1)
        layout.addWidget(self.id_badge)

    def show_encounter(self, view: EncounterView) -> None:
        """Show ``view``'s patient and identification state."""
        patient = view.patient
        self.name_label.setText(patient.display_name)
        # The date of birth stays hidden until the patient has said it: the check must not
        # turn into reading it off the screen.
        dob = patient.birth_date.isoformat() if view.identified else self.tr("ask the patient")
        self.details_label.setText(
            self.tr("DOB {dob}   ·   MRN {mrn}   ·   {sex}").format(
                dob=dob, mrn=patient.mrn, sex=sex_label(patient.sex)
            )
        )
        if view.identified:
            how = (
                self.tr("wristband scan")
                if view.id_method is IdMethod.WRISTBAND
                else self.tr("name + DOB")
            )
            at = format_local(view.identified_at, self._timezone, "%H:%M")
            self.id_badge.setText(self.tr("✔ ID confirmed ({how}) {at}").format(how=how, at=at))
            tone = Tone.OK
        else:
            self.id_badge.setText(self.tr("ID NOT CONFIRMED"))
            tone = Tone.ALARM
        set_style(
            self.id_badge,
            f"background: {BACKGROUNDS[tone]}; color: {COLOURS[tone]}; font-weight: bold; "
            "border-radius: 4px;",
        )
        info = view.recollection
        self.recollection_label.setVisible(info is not None)
        self.recollection_label.setText(recollection_text(info) if info else "")


def recollection_text(info: RecollectionInfo) -> str:
    """ "Recollection of 26… (haemolysed)", and where the task stands."""
    translate = QCoreApplication.translate
    reason = info.reason_label[:1].lower() + info.reason_label[1:]
    head = translate("PatientBanner", "Recollection of {accession} ({reason})").format(
        accession=info.accession, reason=reason
    )
    if info.status is RecollectionStatus.DONE:
        tail = translate("PatientBanner", "drawn again as {accession}").format(
            accession=info.recollected_accession
        )
    elif info.status is RecollectionStatus.CANCELLED:
        tail = translate("PatientBanner", "cancelled: {why}").format(why=info.close_note)
    else:
        tail = translate("PatientBanner", "draw again: {tests}").format(
            tests=", ".join(info.test_codes) or "—"
        )
    return f"{head} — {tail}"
