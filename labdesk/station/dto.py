"""Frozen rows the phlebotomy station services hand to the screens."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from labdesk.domain.draw_plan import DrawPlan
from labdesk.domain.encounter import AlarmKind, EncounterStatus, IdMethod
from labdesk.domain.forensic import ForensicForm, UrineMethod
from labdesk.domain.printing import PrintJobStatus
from labdesk.domain.recollection import RecollectionStatus
from labdesk.domain.series import SeriesStep, Window
from labdesk.domain.specimen import SpecimenStatus
from labdesk.kernel.dto import OrderedTestRow, PatientSummary


@dataclass(frozen=True)
class EncounterSpecimen:
    """A specimen collected in the encounter, as the scan-back list shows it."""

    id: int
    accession: str
    container_code: str
    container_name: str
    cap_colour: str
    cap_hex: str
    status: SpecimenStatus
    tests: tuple[str, ...]
    collected_at: datetime
    ccf_number: str = ""
    needs_observed_recollection: bool = False
    label_unconfirmed: bool = False
    """Its label job went out but the printer never confirmed it: the MA checks the tube."""

    @property
    def labelled(self) -> bool:
        """True once its label printed."""
        return self.status is not SpecimenStatus.COLLECTED

    @property
    def verified(self) -> bool:
        """True once its label was scanned back at the chair (or later steps)."""
        return self.status not in (SpecimenStatus.COLLECTED, SpecimenStatus.LABELLED)


@dataclass(frozen=True)
class AlarmRow:
    """A scan-back alarm of the encounter."""

    id: int
    kind: AlarmKind
    scanned: str
    message: str
    raised_at: datetime
    open: bool
    resolution: str = ""


@dataclass(frozen=True)
class RecollectionInfo:
    """The recollection task a visit was opened for: what to draw again, and why."""

    task_id: int
    specimen_id: int
    accession: str
    """The rejected or lost specimen's accession ID."""
    reason: str
    """A rejection reason code, or ``"lost"``."""
    reason_label: str
    note: str
    status: RecollectionStatus
    test_codes: tuple[str, ...]
    """Tests still to draw again (empty once the task is closed)."""
    recollected_accession: str = ""
    """The new specimen that replaces it, once drawn."""
    close_note: str = ""

    @property
    def open(self) -> bool:
        """True while the tests still have to be drawn again."""
        return self.status is RecollectionStatus.OPEN


@dataclass(frozen=True)
class TimedStepInfo:
    """A planned test that is a step of a timed series (the collect step judges its time)."""

    ordered_test_id: int
    step: SeriesStep
    window: Window | None
    """The stored window of a scheduled step; None for a series' first step (its window
    follows from the draw time: always on time, a clock window, or the dose time)."""


@dataclass(frozen=True)
class EncounterView:
    """Everything the station shows about the patient in the chair."""

    id: int
    patient: PatientSummary
    status: EncounterStatus
    station_code: str
    started_at: datetime
    identified: bool
    id_method: IdMethod | None
    identified_at: datetime | None
    orders: tuple[OrderedTestRow, ...]
    plan: DrawPlan
    specimens: tuple[EncounterSpecimen, ...]
    alarms: tuple[AlarmRow, ...]
    missed_test_ids: tuple[int, ...] = ()
    blockers: tuple[str, ...] = field(default=())
    recollection: RecollectionInfo | None = None
    """Set when the visit draws a recollection: the plan then holds its tests."""
    timed_steps: tuple[TimedStepInfo, ...] = ()
    """The planned tests that are steps of a timed series, with their windows."""

    @property
    def open_alarms(self) -> tuple[AlarmRow, ...]:
        """Alarms still blocking completion."""
        return tuple(a for a in self.alarms if a.open)

    @property
    def can_complete(self) -> bool:
        """True when nothing blocks finishing the visit."""
        return self.status is EncounterStatus.OPEN and not self.blockers

    @property
    def collected_any(self) -> bool:
        """True once at least one specimen exists."""
        return bool(self.specimens)


@dataclass(frozen=True)
class ContainerCollection:
    """What the MA records for one planned container."""

    container_code: str
    ordered_test_ids: tuple[int, ...]
    collected: bool = True
    not_collected_reason: str = ""
    collected_at: datetime | None = None
    """None: now."""
    backdate_reason: str = ""
    collector_id: int | None = None
    """None: the signed-in user."""
    volume_ml: float | None = None
    fasting: bool | None = None
    urine_method: UrineMethod | None = None
    forensic: ForensicForm | None = None
    timing_reason: str = ""
    """Why a timed draw (series step) is drawn outside its window; goes to the lab."""
    dose_at: datetime | None = None
    """The dose a dose-timed draw (a trough) is timed from."""


@dataclass(frozen=True)
class CollectResult:
    """What a collection created."""

    encounter_id: int
    specimens: tuple[EncounterSpecimen, ...]
    missed_test_ids: tuple[int, ...]
    observed_recollection_needed: tuple[int, ...] = ()
    """Specimen ids whose out-of-range temperature starts an observed recollection."""


class ScanResult(StrEnum):
    """What one scan-back did."""

    TICKED = "ticked"
    DUPLICATE = "duplicate"
    NOT_LABELLED = "not_labelled"
    ALARM = "alarm"


@dataclass(frozen=True)
class ScanOutcome:
    """The answer to one scan-back, with the text to show."""

    result: ScanResult
    message: str
    specimen_id: int | None = None
    alarm: AlarmRow | None = None
    remaining: int = 0
    """Specimens of the encounter still to scan back."""


@dataclass(frozen=True)
class PrintedLabel:
    """The label job of one specimen printed at the chair."""

    specimen_id: int
    accession: str
    job_id: int
    printed: bool
    status: str
    message: str = ""

    @property
    def unconfirmed(self) -> bool:
        """Bytes went out but the printer did not confirm: the MA checks the tube."""
        return self.status == PrintJobStatus.SENT.value


@dataclass(frozen=True)
class PrintOutcome:
    """Result of printing an encounter's labels."""

    labels: tuple[PrintedLabel, ...]
    preview_png: bytes | None = field(default=None, repr=False)

    @property
    def all_printed(self) -> bool:
        """True when every label printed."""
        return all(label.printed for label in self.labels)

    @property
    def failures(self) -> tuple[PrintedLabel, ...]:
        """Labels that did not print (queued for retry, failed or unconfirmed)."""
        return tuple(label for label in self.labels if not label.printed)

    @property
    def unconfirmed(self) -> tuple[PrintedLabel, ...]:
        """Labels to check on the tube: mark printed, or reprint."""
        return tuple(label for label in self.labels if label.unconfirmed)


@dataclass(frozen=True)
class WaitingPatient:
    """A patient on today's worklist with tests still to collect."""

    patient: PatientSummary
    pending_tests: int
    first_ordered_at: datetime
    stat: bool


@dataclass(frozen=True)
class PickupRow:
    """A specimen at the clinic, collected but not yet picked up."""

    specimen_id: int
    accession: str
    patient: PatientSummary
    container_code: str
    status: SpecimenStatus
    collected_at: datetime


@dataclass(frozen=True)
class RecollectionRow:
    """A specimen the lab rejected or lost: the patient must be drawn again."""

    task_id: int
    patient: PatientSummary
    accession: str
    reason: str
    opened_at: datetime
    tests: tuple[str, ...] = ()
    """Codes of the tests to draw again."""


@dataclass(frozen=True)
class TimedDrawRow:
    """The next step of a patient's timed series, with its window (the worklist counts down)."""

    patient: PatientSummary
    time_point: str
    """``OGTT 1H``."""
    test_code: str
    due_at: datetime
    opens_at: datetime
    closes_at: datetime


@dataclass(frozen=True)
class Worklist:
    """The station worklist."""

    waiting: tuple[WaitingPatient, ...]
    awaiting_pickup: tuple[PickupRow, ...]
    recollections: tuple[RecollectionRow, ...] = ()
    timed_draws: tuple[TimedDrawRow, ...] = ()
    """Next steps of timed series (OGTT 1H, 2H...), soonest first."""
