"""Station commands: each state-changing phlebotomy-station use case as a command and handler.

Handlers adapt the use cases in this package to the bus (``labdesk.kernel.messagebus``):
the bus opens the unit of work, claims the idempotency key and commits; the use case checks
permission, does the work and writes audit (most of them commit themselves, with the key
already in the transaction).

Printing a visit's labels (:class:`PrintEncounterLabels`, :class:`ResolveUnconfirmedLabels`)
must not send while a transaction is open: the handler plans the labels and queues the jobs
in the bus's transaction, and an after-commit step sends them and records the printed tubes
as labelled (:func:`~labdesk.station.labels.send_encounter_labels`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from labdesk.domain.blood_volume import VolumePolicy
from labdesk.domain.forensic import ForensicForm
from labdesk.domain.order import Priority
from labdesk.domain.preparation import PreparationAnswers
from labdesk.kernel.dto import PatientSummary
from labdesk.kernel.messagebus import AfterCommit, Command, HandlerContext, handler
from labdesk.printing.dto import PrintSetup
from labdesk.station.add_on import AddOnResult, add_test_to_specimen
from labdesk.station.at_chair import AtChair
from labdesk.station.blood_volume import Prioritisation, record_weight
from labdesk.station.collect import collect
from labdesk.station.dto import (
    CollectResult,
    ContainerCollection,
    EncounterView,
    PrintOutcome,
    ScanOutcome,
)
from labdesk.station.encounter import (
    abandon_encounter,
    complete_encounter,
    confirm_identity,
    confirm_identity_by_wristband,
    open_by_wristband,
    open_encounter,
    resolve_alarm,
)
from labdesk.station.forensic import collect_observed_recollection, waive_observed_recollection
from labdesk.station.labels import (
    EncounterLabels,
    queue_encounter_labels,
    record_offline_labels,
    resolve_unconfirmed_labels,
    scan_back,
    send_encounter_labels,
)
from labdesk.station.orders import cancel_tests, place_order
from labdesk.station.patients import SEARCH_DATE_FORMATS, search_patients
from labdesk.station.preparation import reschedule_tests
from labdesk.station.recollection import cancel_recollection

# ---------------------------------------------------------------- finding the patient


@dataclass(frozen=True, kw_only=True)
class SearchPatients(Command[list[PatientSummary]]):
    """Search patients by MRN, date of birth or name; every patient found is audited as seen.

    A command, not a query: the search writes the audit of who saw which patients.
    """

    query: str
    limit: int = 25
    date_formats: tuple[str, ...] = SEARCH_DATE_FORMATS

    def __repr__(self) -> str:  # the typed text may be a name or a date of birth
        return f"SearchPatients(limit={self.limit}, query=***)"


@handler(SearchPatients)
def _search_patients(command: SearchPatients, ctx: HandlerContext) -> list[PatientSummary]:
    return search_patients(
        ctx.uow,
        ctx.clock,
        ctx.user,
        command.query,
        command.limit,
        date_formats=command.date_formats,
    )


# ---------------------------------------------------------------- the visit


@dataclass(frozen=True, kw_only=True)
class OpenEncounter(Command[int]):
    """Open (or resume) the patient's visit at the station; returns the encounter id."""

    patient_id: int
    station_code: str


@handler(OpenEncounter)
def _open_encounter(command: OpenEncounter, ctx: HandlerContext) -> int:
    return open_encounter(ctx.uow, ctx.clock, ctx.user, command.patient_id, command.station_code)


@dataclass(frozen=True, kw_only=True)
class OpenEncounterByWristband(Command[int]):
    """Open the visit of the patient whose wristband or ID card was scanned (confirms ID)."""

    scanned: str
    station_code: str


@handler(OpenEncounterByWristband)
def _open_by_wristband(command: OpenEncounterByWristband, ctx: HandlerContext) -> int:
    return open_by_wristband(ctx.uow, ctx.clock, ctx.user, command.scanned, command.station_code)


@dataclass(frozen=True, kw_only=True)
class ConfirmIdentity(Command[None]):
    """Check the stated date of birth and name against the record."""

    encounter_id: int
    birth_date: date | None
    name_confirmed: bool
    stated_family_name: str = ""


@handler(ConfirmIdentity)
def _confirm_identity(command: ConfirmIdentity, ctx: HandlerContext) -> None:
    confirm_identity(
        ctx.uow,
        ctx.clock,
        ctx.user,
        command.encounter_id,
        birth_date=command.birth_date,
        name_confirmed=command.name_confirmed,
        stated_family_name=command.stated_family_name,
    )


@dataclass(frozen=True, kw_only=True)
class ConfirmIdentityByWristband(Command[PatientSummary]):
    """Confirm the visit's patient with their scanned wristband."""

    encounter_id: int
    scanned: str


@handler(ConfirmIdentityByWristband)
def _confirm_identity_by_wristband(
    command: ConfirmIdentityByWristband, ctx: HandlerContext
) -> PatientSummary:
    return confirm_identity_by_wristband(
        ctx.uow, ctx.clock, ctx.user, command.encounter_id, command.scanned
    )


@dataclass(frozen=True, kw_only=True)
class CompleteEncounter(Command[EncounterView]):
    """Finish the visit."""

    encounter_id: int


@handler(CompleteEncounter)
def _complete_encounter(command: CompleteEncounter, ctx: HandlerContext) -> EncounterView:
    return complete_encounter(ctx.uow, ctx.clock, ctx.user, command.encounter_id)


@dataclass(frozen=True, kw_only=True)
class AbandonEncounter(Command[EncounterView]):
    """Abandon the visit (a reason is needed once something was collected)."""

    encounter_id: int
    reason: str = ""


@handler(AbandonEncounter)
def _abandon_encounter(command: AbandonEncounter, ctx: HandlerContext) -> EncounterView:
    return abandon_encounter(ctx.uow, ctx.clock, ctx.user, command.encounter_id, command.reason)


@dataclass(frozen=True, kw_only=True)
class ResolveAlarm(Command[None]):
    """Record how a station alarm (wrong tube, unknown scan...) was resolved."""

    alarm_id: int
    resolution: str


@handler(ResolveAlarm)
def _resolve_alarm(command: ResolveAlarm, ctx: HandlerContext) -> None:
    resolve_alarm(ctx.uow, ctx.clock, ctx.user, command.alarm_id, command.resolution)


# ---------------------------------------------------------------- orders


@dataclass(frozen=True, kw_only=True)
class PlaceOrder(Command[int]):
    """Enter a manual order from the catalog for the patient; returns the order id."""

    patient_id: int
    test_codes: tuple[str, ...]
    ordering_provider: str
    priority: Priority = Priority.ROUTINE
    station_code: str = ""


@handler(PlaceOrder)
def _place_order(command: PlaceOrder, ctx: HandlerContext) -> int:
    return place_order(
        ctx.uow,
        ctx.clock,
        ctx.user,
        patient_id=command.patient_id,
        test_codes=command.test_codes,
        ordering_provider=command.ordering_provider,
        priority=command.priority,
        station_code=command.station_code,
    )


@dataclass(frozen=True, kw_only=True)
class CancelTests(Command[int]):
    """Cancel pending tests with a reason; returns how many were cancelled."""

    ordered_test_ids: tuple[int, ...]
    reason: str
    station_code: str = ""


@handler(CancelTests)
def _cancel_tests(command: CancelTests, ctx: HandlerContext) -> int:
    return cancel_tests(
        ctx.uow,
        ctx.clock,
        ctx.user,
        command.ordered_test_ids,
        command.reason,
        station_code=command.station_code,
    )


@dataclass(frozen=True, kw_only=True)
class CancelRecollection(Command[int]):
    """Close a recollection task as cancelled (and its tests, if asked); returns how many."""

    task_id: int
    reason: str
    cancel_tests: bool = False
    station_code: str = ""


@handler(CancelRecollection)
def _cancel_recollection(command: CancelRecollection, ctx: HandlerContext) -> int:
    return cancel_recollection(
        ctx.uow,
        ctx.clock,
        ctx.user,
        command.task_id,
        command.reason,
        cancel_tests=command.cancel_tests,
        station_code=command.station_code,
    )


# ---------------------------------------------------------------- collection and labels


@dataclass(frozen=True, kw_only=True)
class CollectSpecimens(Command[CollectResult]):
    """Record the collection of the visit's containers (all in one transaction)."""

    encounter_id: int
    containers: tuple[ContainerCollection, ...]
    recollection_task_id: int | None = None
    preparation: PreparationAnswers = field(default_factory=PreparationAnswers)
    """The patient's preparation answers ('collect anyway' comment included)."""
    prioritisation: Prioritisation | None = None
    """A clinician's decision to draw over the blood-volume limit."""
    volume_policy: VolumePolicy | None = None
    """The clinic's blood-volume policy (``Config.blood_volume``; None: the default)."""
    collector_badge: str = ""
    """The collector's badge when the collector is not the signed-in user."""
    observer: str = ""
    """The badge of who observed a forensic collection."""

    def __repr__(self) -> str:  # badges are a sign-in factor
        return (
            f"CollectSpecimens(encounter_id={self.encounter_id}, "
            f"containers={len(self.containers)}, collector_badge=***, observer=***)"
        )


@handler(CollectSpecimens)
def _collect_specimens(command: CollectSpecimens, ctx: HandlerContext) -> CollectResult:
    return collect(
        ctx.uow,
        ctx.clock,
        ctx.user,
        command.encounter_id,
        command.containers,
        recollection_task_id=command.recollection_task_id,
        at_chair=AtChair(
            preparation=command.preparation,
            prioritisation=command.prioritisation,
            volume_policy=command.volume_policy,
            collector_badge=command.collector_badge,
            observer_badge=command.observer,
        ),
    )


@dataclass(frozen=True, kw_only=True)
class CollectObservedRecollection(Command[CollectResult]):
    """Record the directly observed forensic recollection of a specimen."""

    encounter_id: int
    original_specimen_id: int
    form: ForensicForm
    observer: str = ""
    """The badge of who observed the recollection."""

    def __repr__(self) -> str:  # the observer's badge is a sign-in factor
        return (
            f"CollectObservedRecollection(encounter_id={self.encounter_id}, "
            f"original_specimen_id={self.original_specimen_id}, observer=***)"
        )


@handler(CollectObservedRecollection)
def _collect_observed_recollection(
    command: CollectObservedRecollection, ctx: HandlerContext
) -> CollectResult:
    return collect_observed_recollection(
        ctx.uow,
        ctx.clock,
        ctx.user,
        command.encounter_id,
        command.original_specimen_id,
        command.form,
        observer=command.observer,
    )


@dataclass(frozen=True, kw_only=True)
class WaiveObservedRecollection(Command[None]):
    """Record why the observed recollection of a specimen did not happen."""

    specimen_id: int
    reason: str


@handler(WaiveObservedRecollection)
def _waive_observed_recollection(command: WaiveObservedRecollection, ctx: HandlerContext) -> None:
    waive_observed_recollection(ctx.uow, ctx.clock, ctx.user, command.specimen_id, command.reason)


@dataclass(frozen=True, kw_only=True)
class ScanBack(Command[ScanOutcome]):
    """Tick off a labelled tube of the visit by its scanned label (or raise an alarm)."""

    encounter_id: int
    scanned: str


@handler(ScanBack)
def _scan_back(command: ScanBack, ctx: HandlerContext) -> ScanOutcome:
    return scan_back(ctx.uow, ctx.clock, ctx.user, command.encounter_id, command.scanned)


@dataclass(frozen=True, kw_only=True)
class PrintEncounterLabels(Command[PrintOutcome]):
    """Print the labels of the visit's collected tubes that have not printed yet.

    ``specimen_ids`` limits it to some of the visit's tubes (None: all of them).
    """

    setup: PrintSetup
    encounter_id: int
    specimen_ids: tuple[int, ...] | None = None


def _send_labels(
    command: PrintEncounterLabels | ResolveUnconfirmedLabels,
    labels: EncounterLabels,
    after: AfterCommit,
) -> PrintOutcome:
    """After the commit: send the jobs the handler queued, record the tubes labelled."""
    return send_encounter_labels(after.uows, after.clock, after.user, command.setup, labels)


@handler(PrintEncounterLabels, then=_send_labels)
def _print_encounter_labels(command: PrintEncounterLabels, ctx: HandlerContext) -> EncounterLabels:
    return queue_encounter_labels(
        ctx.uow, ctx.clock, ctx.user, command.setup, command.encounter_id, command.specimen_ids
    )


@dataclass(frozen=True, kw_only=True)
class RecordOfflineLabels(Command[int]):
    """Labels printed at the chair while the server was away (queued by the station).

    What ``PrintEncounterLabels`` left on the server when it printed offline: the tubes
    recorded LABELLED at the time they printed. Nothing is printed again.
    """

    encounter_id: int
    specimen_ids: tuple[int, ...]
    printer_uri: str = ""


@handler(RecordOfflineLabels)
def _record_offline_labels(command: RecordOfflineLabels, ctx: HandlerContext) -> int:
    return record_offline_labels(
        ctx.uow,
        ctx.clock,
        ctx.user,
        command.encounter_id,
        command.specimen_ids,
        command.printer_uri,
    )


@dataclass(frozen=True, kw_only=True)
class ResolveUnconfirmedLabels(Command[PrintOutcome]):
    """Record what the MA found on the tubes of unconfirmed labels; reprint the missing ones.

    ``printed=True``: the labels are on the tubes. ``printed=False``: they are missing or
    partial, so they are reprinted (which needs the reprint permission).
    """

    setup: PrintSetup
    encounter_id: int
    printed: bool


@handler(ResolveUnconfirmedLabels, then=_send_labels)
def _resolve_unconfirmed_labels(
    command: ResolveUnconfirmedLabels, ctx: HandlerContext
) -> EncounterLabels:
    return resolve_unconfirmed_labels(
        ctx.uow, ctx.clock, ctx.user, command.setup, command.encounter_id, printed=command.printed
    )


# ---------------------------------------------------------------- add-on tests


@dataclass(frozen=True, kw_only=True)
class AddTestToSpecimen(Command[AddOnResult]):
    """Add a catalog test to a specimen already drawn, if the catalog says it fits."""

    accession: str
    test_code: str
    requested_by: str
    ordered_test_id: int | None = None
    station_code: str = ""


@handler(AddTestToSpecimen)
def _add_test_to_specimen(command: AddTestToSpecimen, ctx: HandlerContext) -> AddOnResult:
    return add_test_to_specimen(
        ctx.uow,
        ctx.clock,
        ctx.user,
        command.accession,
        command.test_code,
        requested_by=command.requested_by,
        ordered_test_id=command.ordered_test_id,
        station_code=command.station_code,
    )


# ---------------------------------------------------------------- preparation and blood volume


@dataclass(frozen=True, kw_only=True)
class RecordPatientWeight(Command[float]):
    """Record the patient's weight entered at the chair (who and when); returns it in kg."""

    encounter_id: int
    weight_kg: float


@handler(RecordPatientWeight)
def _record_patient_weight(command: RecordPatientWeight, ctx: HandlerContext) -> float:
    return record_weight(ctx.uow, ctx.clock, ctx.user, command.encounter_id, command.weight_kg)


@dataclass(frozen=True, kw_only=True)
class RescheduleTests(Command[int]):
    """Draw nothing for these tests now (preparation not met): they stay pending with the
    reason, which the clinician board shows; returns how many were rescheduled."""

    encounter_id: int
    ordered_test_ids: tuple[int, ...]
    reason: str


@handler(RescheduleTests)
def _reschedule_tests(command: RescheduleTests, ctx: HandlerContext) -> int:
    return reschedule_tests(
        ctx.uow,
        ctx.clock,
        ctx.user,
        command.encounter_id,
        command.ordered_test_ids,
        command.reason,
    )
