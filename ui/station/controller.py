"""The station's workflow state: one encounter at a time, every service call off the UI thread.

Each action sends a command through the bus (``labdesk.station.commands``) in the background
and, in the same job, reloads the encounter with a bus query, so the screen updates once per
action with a consistent view. While a job runs the controller is ``busy`` and refuses
another action (a double press never collects twice).

A visit opened from a recollection task (:meth:`StationController.open_recollection`)
stays in recollection mode until it is closed: every reload plans that task's tests, and
the collection draws them again and closes the task.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from PySide6.QtCore import QObject, Signal

from labdesk.domain.errors import LabdeskError
from labdesk.domain.forensic import ForensicForm
from labdesk.domain.order import Priority
from labdesk.domain.preparation import PreparationAnswers
from labdesk.kernel.dto import SignedInUser
from labdesk.kernel.messagebus import Command
from labdesk.ports import UnitOfWork
from labdesk.printing.dto import PrintSetup
from labdesk.station.blood_volume import Prioritisation
from labdesk.station.commands import (
    AbandonEncounter,
    CancelRecollection,
    CancelTests,
    CollectObservedRecollection,
    CollectSpecimens,
    CompleteEncounter,
    ConfirmIdentity,
    ConfirmIdentityByWristband,
    OpenEncounter,
    OpenEncounterByWristband,
    PlaceOrder,
    PrintEncounterLabels,
    RecordPatientWeight,
    RescheduleTests,
    ResolveAlarm,
    ResolveUnconfirmedLabels,
    ScanBack,
    WaiveObservedRecollection,
)
from labdesk.station.dto import (
    CollectResult,
    ContainerCollection,
    EncounterView,
    ScanOutcome,
)
from labdesk.station.encounter import load_encounter
from ui.context import AppContext
from ui.tasks import run_in_background
from ui.widgets.errors import error_text

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Outcome:
    """What a job did: its result or the refusal, and the encounter reloaded after it."""

    result: Any
    view: EncounterView | None
    error: LabdeskError | None = None


@dataclass(frozen=True)
class _Mode:
    """How the encounter is loaded: winged set, recollection task, pending orders too."""

    winged_set: bool
    recollection_task_id: int | None
    with_pending: bool


class StationController(QObject):
    """Holds the open encounter and runs the station's services for the screen."""

    encounter_changed = Signal(object)
    """An :class:`EncounterView`, or None when no patient is open."""
    busy_changed = Signal(bool)
    failed = Signal(str)
    """A translated message saying what went wrong and what to do."""
    collected = Signal(object)
    """A :class:`CollectResult`."""
    printed = Signal(object)
    """A :class:`PrintOutcome`."""
    scanned = Signal(object)
    """A :class:`ScanOutcome`."""
    finished = Signal(str)
    """The visit was completed or abandoned; the text says which."""
    recollection_cancelled = Signal(int)
    """A recollection task was cancelled (its id)."""

    def __init__(
        self,
        context: AppContext,
        user: SignedInUser,
        print_setup: PrintSetup | None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.context = context
        self.user = user
        self.print_setup = print_setup
        self.encounter: EncounterView | None = None
        self.winged_set = False
        self.recollection_task_id: int | None = None
        """The recollection task the open visit draws (None: an ordinary visit)."""
        self.with_pending = False
        """In a recollection visit, also plan the patient's pending orders."""
        self.busy = False
        self._scans: list[str] = []

    @property
    def station_code(self) -> str:
        """This workstation's station."""
        return self.context.config.station_code

    # ---------------------------------------------------------------- running jobs

    def _send(
        self,
        command: Command[Any],
        done: Callable[[Any], None] | None = None,
        *,
        result: Callable[[Any], Any] | None = None,
    ) -> bool:
        """Send ``command`` through the bus off the UI thread, then reload the encounter.

        ``result`` maps what the handler returned before the reload looks at it.
        """
        bus, user = self.context.bus, self.user

        def work() -> Any:
            answer = bus.handle(command, user)
            return result(answer) if result is not None else answer

        return self._run(work, done)

    def _run(self, work: Callable[[], Any], done: Callable[[Any], None] | None = None) -> bool:
        """Run ``work`` off the UI thread, then reload the encounter with a bus query.

        An ``int`` result while no encounter is open is the visit just opened; an
        :class:`EncounterView` result is shown as it is.
        """
        if self.busy:
            self.failed.emit(self.tr("Still working on the previous step: try again."))
            return False
        self._set_busy(True)
        encounter_id = self.encounter.id if self.encounter else None
        mode = _Mode(self.winged_set, self.recollection_task_id, self.with_pending)
        bus = self.context.bus

        def job() -> _Outcome:
            try:
                result = work()
                if isinstance(result, EncounterView):
                    return _Outcome(result, result)
                opened = isinstance(result, int) and encounter_id is None
                target = result if opened else encounter_id
                if target is None:
                    return _Outcome(result, None)
                # The command has committed: read what is saved now.
                return _Outcome(result, bus.query(self._load, target, mode))
            except LabdeskError as exc:
                # Expected refusal: still reload, so the screen shows what is really saved.
                return _Outcome(None, self._reload(encounter_id, mode), exc)

        run_in_background(job, lambda out: self._done(out, done), self._error, owner=self)
        return True

    def _load(self, uow: UnitOfWork, encounter_id: int, mode: _Mode) -> EncounterView:
        """The encounter in the screen's mode (runs on the worker thread)."""
        return load_encounter(
            uow,
            self.user,
            encounter_id,
            winged_set=mode.winged_set,
            recollection_task_id=mode.recollection_task_id,
            with_pending=mode.with_pending,
        )

    def _reload(self, encounter_id: int | None, mode: _Mode) -> EncounterView | None:
        """The encounter as saved now (runs on the worker thread)."""
        if encounter_id is None:
            return None
        bus = self.context.bus
        try:
            return bus.query(self._load, encounter_id, mode)
        except LabdeskError:
            # E.g. the task is another patient's: show the visit without it.
            return bus.query(self._load, encounter_id, _Mode(mode.winged_set, None, False))

    def _done(self, outcome: _Outcome, done: Any) -> None:
        self._set_busy(False)
        if outcome.view is not None:
            self.encounter = outcome.view
            self.encounter_changed.emit(outcome.view)
        if outcome.error is not None:
            self.failed.emit(error_text(outcome.error))
        elif done is not None:
            done(outcome.result)
        if self._scans and not self.busy:
            self._next_scan()

    def _error(self, error: Exception) -> None:
        """A bug (already logged by the task runner): say so, keep going."""
        self._set_busy(False)
        self.failed.emit(error_text(error))
        if self._scans:
            self._next_scan()

    def _set_busy(self, busy: bool) -> None:
        self.busy = busy
        self.busy_changed.emit(busy)

    # ---------------------------------------------------------------- actions

    def open_patient(self, patient_id: int) -> bool:
        """Open (or resume) the patient's visit at this station."""
        self.encounter = None
        self.recollection_task_id = None
        self.with_pending = False
        return self._send(OpenEncounter(patient_id=patient_id, station_code=self.station_code))

    def open_by_scan(self, scanned: str) -> bool:
        """Open the patient whose wristband or ID card was scanned; the scan confirms ID."""
        self.encounter = None
        self.recollection_task_id = None
        self.with_pending = False
        return self._send(OpenEncounterByWristband(scanned=scanned, station_code=self.station_code))

    def open_recollection(self, task_id: int, patient_id: int) -> bool:
        """Open (or resume) the patient's visit to draw a recollection task again.

        The identifiers are checked as for any visit; the plan holds the task's tests.
        """
        self.encounter = None
        self.recollection_task_id = task_id
        self.with_pending = False
        return self._send(OpenEncounter(patient_id=patient_id, station_code=self.station_code))

    def refresh(self) -> bool:
        """Reload the open encounter (e.g. after the winged-set choice changed)."""
        if self.encounter is None:
            return False
        encounter_id = self.encounter.id
        mode = _Mode(self.winged_set, self.recollection_task_id, self.with_pending)
        bus = self.context.bus
        return self._run(lambda: bus.query(self._load, encounter_id, mode))

    def cancel_recollection(self, task_id: int, reason: str, cancel_tests: bool) -> bool:
        """Close a recollection task as cancelled, with the reason (and its tests, if asked)."""
        command = CancelRecollection(
            task_id=task_id,
            reason=reason,
            cancel_tests=cancel_tests,
            station_code=self.station_code,
        )
        return self._send(
            command,
            lambda done: self.recollection_cancelled.emit(done[0]),
            # A pair, not an int: an int result would be taken for a newly opened visit.
            result=lambda cancelled: (task_id, cancelled),
        )

    def confirm_identity(self, born: date | None, name_confirmed: bool) -> bool:
        """Check the stated date of birth and name against the record."""
        eid = self._eid()
        return self._send(
            ConfirmIdentity(encounter_id=eid, birth_date=born, name_confirmed=name_confirmed)
        )

    def confirm_wristband(self, scanned: str) -> bool:
        """Confirm the identifiers with this patient's scanned wristband."""
        eid = self._eid()
        return self._send(ConfirmIdentityByWristband(encounter_id=eid, scanned=scanned))

    def place_order(self, codes: Sequence[str], provider: str, priority: Priority) -> bool:
        """Enter a manual order for the patient in the chair."""
        assert self.encounter is not None
        patient_id = self.encounter.patient.id
        return self._send(
            PlaceOrder(
                patient_id=patient_id,
                test_codes=tuple(codes),
                ordering_provider=provider,
                priority=priority,
                station_code=self.station_code,
            )
        )

    def cancel_tests(self, ordered_test_ids: Sequence[int], reason: str) -> bool:
        """Cancel pending tests with a reason."""
        return self._send(
            CancelTests(
                ordered_test_ids=tuple(ordered_test_ids),
                reason=reason,
                station_code=self.station_code,
            )
        )

    def collect(
        self,
        containers: Sequence[ContainerCollection],
        *,
        preparation: PreparationAnswers | None = None,
        prioritisation: Prioritisation | None = None,
        collector_badge: str = "",
        observer: str = "",
    ) -> bool:
        """Record the collection (all containers in one transaction), with what the chair
        adds: preparation answers, an over-limit prioritisation, collector and observer."""
        eid, task_id = self._eid(), self.recollection_task_id
        command = CollectSpecimens(
            encounter_id=eid,
            containers=tuple(containers),
            recollection_task_id=task_id,
            preparation=preparation or PreparationAnswers(),
            prioritisation=prioritisation,
            volume_policy=self.context.config.blood_volume,
            collector_badge=collector_badge,
            observer=observer,
        )
        return self._send(command, self._collected)

    def record_weight(self, weight_kg: float) -> bool:
        """Record the patient's weight entered at the chair (then the plan is re-checked)."""
        return self._send(RecordPatientWeight(encounter_id=self._eid(), weight_kg=weight_kg))

    def reschedule(
        self,
        ordered_test_ids: Sequence[int],
        reason: str,
        done: Callable[[int], None] | None = None,
    ) -> bool:
        """Draw nothing for these tests now: they stay pending with the reason.

        ``done`` gets how many were rescheduled, once the visit is reloaded.
        """
        command = RescheduleTests(
            encounter_id=self._eid(), ordered_test_ids=tuple(ordered_test_ids), reason=reason
        )
        return self._send(command, done)

    def _collected(self, result: CollectResult) -> None:
        self.collected.emit(result)

    def collect_observed(
        self, original_specimen_id: int, form: ForensicForm, *, observer: str = ""
    ) -> bool:
        """Record the observed forensic recollection (``observer``: the observer's badge)."""
        eid = self._eid()
        command = CollectObservedRecollection(
            encounter_id=eid,
            original_specimen_id=original_specimen_id,
            form=form,
            observer=observer,
        )
        return self._send(command, self._collected)

    def waive_observed(self, specimen_id: int, reason: str) -> bool:
        """Record why the observed recollection did not happen."""
        return self._send(WaiveObservedRecollection(specimen_id=specimen_id, reason=reason))

    def print_labels(self) -> bool:
        """Print this patient's labels that have not printed yet."""
        if self.print_setup is None:
            self.failed.emit(
                self.tr("Printing is not set up on this workstation: ask an administrator.")
            )
            return False
        command = PrintEncounterLabels(setup=self.print_setup, encounter_id=self._eid())
        return self._send(command, self.printed.emit)  # the jobs are sent after the commit

    def resolve_unconfirmed(self, *, printed: bool) -> bool:
        """Record what the MA found on the tubes of unconfirmed labels (reprint if missing)."""
        if self.print_setup is None:
            self.failed.emit(
                self.tr("Printing is not set up on this workstation: ask an administrator.")
            )
            return False
        command = ResolveUnconfirmedLabels(
            setup=self.print_setup, encounter_id=self._eid(), printed=printed
        )
        return self._send(command, self.printed.emit)

    def scan_back(self, scanned: str) -> bool:
        """Tick off a tube by its scanned label (or raise an alarm).

        Scans arriving while the previous one is still being recorded wait their turn: an
        assistant scanning a tray of tubes never loses one.
        """
        self._scans.append(scanned)
        if not self.busy:
            self._next_scan()
        return True

    def _next_scan(self) -> None:
        if not self._scans or self.encounter is None:
            self._scans.clear()
            return
        scanned = self._scans.pop(0)
        eid = self._eid()
        self._send(ScanBack(encounter_id=eid, scanned=scanned), self._scanned)

    def _scanned(self, outcome: ScanOutcome) -> None:
        self.scanned.emit(outcome)

    def resolve_alarm(self, alarm_id: int, resolution: str) -> bool:
        """Record how an alarm was resolved."""
        return self._send(ResolveAlarm(alarm_id=alarm_id, resolution=resolution))

    def complete(self) -> bool:
        """Finish the visit."""
        eid = self._eid()
        return self._send(
            CompleteEncounter(encounter_id=eid),
            lambda _view: self.finished.emit(self.tr("Visit finished.")),
        )

    def abandon(self, reason: str) -> bool:
        """Abandon the visit (a reason is needed once something was collected)."""
        eid = self._eid()
        return self._send(
            AbandonEncounter(encounter_id=eid, reason=reason),
            lambda _view: self.finished.emit(self.tr("Visit abandoned.")),
        )

    def close(self) -> None:
        """Forget the encounter (after it was finished or abandoned)."""
        self._scans.clear()
        self.encounter = None
        self.recollection_task_id = None
        self.with_pending = False
        self.encounter_changed.emit(None)

    def _eid(self) -> int:
        if self.encounter is None:
            raise RuntimeError("no encounter is open")
        return self.encounter.id
