"""Phlebotomy station page: find → confirm ID → orders and draw plan → collect → labels.

The patient banner stays visible on every step once a patient is open. A task picked from
"To recollect" opens the same visit in recollection mode: the banner says what tube is
replaced and why, and the plan holds only the tests to draw again. Every action has a
shortcut; scans arrive from the application-wide scanner (see :mod:`ui.scanner`) through
:meth:`StationPage.attach_scanner`. All service calls run in the background through
:class:`~ui.station.controller.StationController`.

Live updates (``ui/live.py``): today's worklist reloads when orders, specimens, patients,
recollections, custody or print jobs change at any station, and the open visit's plan
reloads when its orders could have changed (on the plan step only, between actions: the
later steps hold what the assistant is doing).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QPushButton,
    QStackedWidget,
    QWidget,
)

from labdesk.catalog.compendium import list_catalog
from labdesk.domain.draw_plan import DrawPlan
from labdesk.domain.permissions import allows
from labdesk.domain.timefmt import local
from labdesk.kernel.changes import Topic
from labdesk.kernel.dto import CatalogRow, SignedInUser
from labdesk.station.at_chair import ChairChecks, chair_checks
from labdesk.station.blood_volume import pediatric_plan
from labdesk.station.dto import (
    CollectResult,
    ContainerCollection,
    EncounterView,
    PrintOutcome,
    RecollectionRow,
    ScanOutcome,
)
from labdesk.station.recollection import CANCEL_PERMISSION
from ui.context import AppContext
from ui.scanner import ScanRouter
from ui.station import dialogs, witness_fields
from ui.station.banner import PatientBanner, Step, StepIndicator
from ui.station.collect_step import CollectStep
from ui.station.controller import StationController
from ui.station.find_step import FindStep
from ui.station.identify_step import IdentifyStep
from ui.station.labels_step import LabelsStep, tone_of
from ui.station.plan_step import PlanStep
from ui.station.style import set_style
from ui.tasks import QueryOp
from ui.widgets import recollection_cancel
from ui.widgets.add_on_dialog import AddOnDialog
from ui.widgets.errors import error_text
from ui.widgets.feedback import ScanFeedback, Tone, flash
from ui.widgets.page import Page

WORKLIST_TOPICS = (
    Topic.ORDERS,
    Topic.SPECIMENS,
    Topic.PATIENTS,
    Topic.RECOLLECTIONS,
    Topic.CUSTODY,
    Topic.PRINT_JOBS,
)
"""What today's worklist shows (waiting patients, tubes awaiting pickup, recollections)."""
ENCOUNTER_TOPICS = (Topic.ORDERS, Topic.PATIENTS, Topic.RECOLLECTIONS)
"""What can change an open visit's plan from elsewhere (an order from the EHR, say)."""


class StationPage(Page):
    """The medical assistant's screen, one patient at a time."""

    results_shown = Signal(int)
    step_changed = Signal(int)
    view_shown = Signal(object)
    """Emitted after the screen shows a fresh :class:`EncounterView`."""

    def __init__(
        self, context: AppContext, user: SignedInUser, parent: QWidget | None = None
    ) -> None:
        super().__init__(context, user, parent)
        tz = context.config.clinic_timezone
        self.feedback = ScanFeedback(self)
        self.controller = StationController(context, user, context.print_setup, self)
        self.find_step = FindStep(context, user, self)
        self.identify_step = IdentifyStep(
            self,
            date_formats=context.config.date_formats,
            today=lambda: local(context.clock.now(), tz).date(),
        )
        self.plan_step = PlanStep(tz, self)
        self.plan_step.may_cancel_recollection = allows(user.role, CANCEL_PERMISSION)
        self.plan_step.preparation.set_clock(context.clock.now)
        self.pediatric = False
        """The plan uses the compendium's minimum-volume tubes (chosen on the plan step)."""
        self.collect_step = CollectStep(
            lambda parent: dialogs.ask_forensic(parent), tz, context.clock.now, self
        )
        self.collect_step.set_collector(user.id, user.display_name)
        self.labels_step = LabelsStep(tz, self)
        self.banner = PatientBanner(tz, self)
        self.steps = StepIndicator(self)
        self.stack = QStackedWidget(self)
        for widget in (
            self.find_step,
            self.identify_step,
            self.plan_step,
            self.collect_step,
            self.labels_step,
        ):
            self.stack.addWidget(widget)
        self.message = QLabel(self)
        self.message.setWordWrap(True)
        self.abandon_button = QPushButton(self.tr("A&bandon visit (Ctrl+Shift+X)"), self)
        self.new_button = QPushButton(self.tr("&New patient (F2)"), self)
        self.add_on_button = QPushButton(self.tr("A&dd-on test (Ctrl+Shift+D)"), self)
        self.add_on_dialog: AddOnDialog | None = None
        self.step = Step.FIND
        self._build_layout()
        self._connect()
        self._show_step(Step.FIND)
        self.setFocusProxy(self.find_step)
        self.worklist_live = self.watch_changes(
            WORKLIST_TOPICS,
            self.find_step.reload_worklist,
            widget=self.find_step,
            finished=self.find_step.worklist_shown,
            failed=self.find_step.worklist_failed,
        )
        self.encounter_live = self.watch_changes(ENCOUNTER_TOPICS, self._refresh_encounter)
        self.find_step.reload_worklist()

    # Kept for the shell's tests and the main window: the search box and its results.
    @property
    def search_edit(self) -> Any:
        """The patient search box."""
        return self.find_step.search_edit

    @property
    def model(self) -> Any:
        """The search results model."""
        return self.find_step.model

    @property
    def table(self) -> Any:
        """The search results table."""
        return self.find_step.table

    @property
    def status_label(self) -> Any:
        """The search status line."""
        return self.find_step.status_label

    def _build_layout(self) -> None:
        bar = QHBoxLayout()
        bar.addWidget(self.steps, 1)
        bar.addWidget(self.new_button)
        bar.addWidget(self.add_on_button)
        bar.addWidget(self.abandon_button)
        layout = self.page_layout(
            self.tr("Station"),
            self.tr(
                "Scan the wristband or search; confirm two identifiers; collect in "
                "order of draw; label at the chair; scan every tube back."
            ),
        )
        layout.addLayout(bar)
        layout.addWidget(self.banner)
        layout.addWidget(self.message)
        layout.addWidget(self.stack, 1)

    def _connect(self) -> None:
        c = self.controller
        c.encounter_changed.connect(self._show_encounter)
        c.failed.connect(self._failed)
        c.busy_changed.connect(self._busy)
        c.collected.connect(self._collected)
        c.printed.connect(self._printed)
        c.scanned.connect(self._scanned)
        c.finished.connect(self._finished)
        c.recollection_cancelled.connect(self._recollection_cancelled)
        self.find_step.results_shown.connect(self.results_shown)
        self.find_step.patient_chosen.connect(self._open_patient)
        self.find_step.recollection_chosen.connect(self._open_recollection)
        self.find_step.cancel_recollection_requested.connect(self._cancel_listed_recollection)
        self.plan_step.with_pending_changed.connect(self._with_pending)
        self.plan_step.cancel_recollection_requested.connect(self._cancel_open_recollection)
        self.identify_step.confirm_requested.connect(c.confirm_identity)
        self.plan_step.add_order_requested.connect(self._add_order)
        self.plan_step.cancel_requested.connect(self._cancel_tests)
        self.plan_step.collect_requested.connect(self._to_collect)
        self.plan_step.winged_set_changed.connect(self._winged)
        self.collect_step.save_requested.connect(self._save_collection)
        self.plan_step.volume.weight_entered.connect(c.record_weight)
        self.plan_step.volume.pediatric_toggled.connect(self._pediatric_tubes)
        self.plan_step.preparation.reschedule_requested.connect(self._reschedule)
        self.collect_step.back_requested.connect(lambda: self._show_step(Step.PLAN))
        self.labels_step.print_requested.connect(c.print_labels)
        self.labels_step.mark_printed_requested.connect(lambda: c.resolve_unconfirmed(printed=True))
        self.labels_step.reprint_requested.connect(lambda: c.resolve_unconfirmed(printed=False))
        self.labels_step.scan_typed.connect(c.scan_back)
        self.labels_step.resolve_requested.connect(self._resolve)
        self.labels_step.observed_requested.connect(self._observed)
        self.labels_step.waive_requested.connect(self._waive)
        self.labels_step.finish_requested.connect(c.complete)
        self.abandon_button.clicked.connect(self._abandon)
        self.new_button.clicked.connect(self._new_patient)
        self.add_on_button.clicked.connect(self.open_add_on)
        for keys, slot in (
            ("Ctrl+Shift+X", self._abandon),
            ("F2", self._new_patient),
            ("Ctrl+Shift+D", self.open_add_on),
        ):
            action = QAction(self)
            action.setShortcut(QKeySequence(keys))
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            action.triggered.connect(slot)
            self.addAction(action)

    # ---------------------------------------------------------------- scanner

    def attach_scanner(self, router: ScanRouter) -> None:
        """Take tube scans while this page is shown (the main window sends wristbands)."""
        router.specimen_scanned.connect(self._specimen_scan)

    def handle_patient_scan(self, text: str) -> None:
        """A wristband or ID card was scanned (on any page)."""
        view = self.controller.encounter
        if self.step is Step.LABELS and view is not None:
            self.controller.scan_back(text)  # the service tells a wristband from a bad label
        elif view is None:
            self._note(self.tr("Wristband scanned: opening the patient…"))
            self.feedback.play(Tone.OK)
            self.controller.open_by_scan(text)
        elif not view.identified:
            self.controller.confirm_wristband(text)
        elif self.step is Step.COLLECT:
            self.collect_step.witness.take_scan(text)  # a collector's or observer's badge
        else:
            self._say(
                self.tr("A patient is open. Finish or abandon this visit before the next one."),
                Tone.WARNING,
            )

    def _specimen_scan(self, text: str) -> None:
        if not self.isVisible():
            return
        if self.step is Step.LABELS and self.controller.encounter is not None:
            self.controller.scan_back(text)
        else:
            self._say(
                self.tr("Tube label scanned: tubes are scanned back in step 5 (labels)."),
                Tone.WARNING,
            )

    # ---------------------------------------------------------------- steps

    def _show_step(self, step: Step) -> None:
        if step is Step.LABELS and step is not self.step and self.controller.encounter:
            self.labels_step.show_encounter(self.controller.encounter)
        self.step = step
        self.stack.setCurrentIndex(int(step))
        self.steps.set_step(step)
        open_ = self.controller.encounter is not None
        self.banner.setVisible(open_ and step is not Step.FIND)
        self.abandon_button.setEnabled(open_)
        self._focus_current()
        self.step_changed.emit(int(step))

    def _show_encounter(self, view: EncounterView | None) -> None:
        if view is None:
            self._show_step(Step.FIND)
            return
        self.banner.show_encounter(view)
        self.plan_step.show_encounter(view)
        self._check_chair(view)
        if not view.identified:
            if self.step is not Step.IDENTIFY:
                self.identify_step.reset()
            self._show_step(Step.IDENTIFY)
        elif self.step in (Step.FIND, Step.IDENTIFY):
            # Plain text (no restyling) on the way to the plan: the banner's badge is green.
            self._note(self.tr("Identity confirmed."))
            self.feedback.play(Tone.OK)
            self._show_step(Step.LABELS if self._labels_pending(view) else Step.PLAN)
        elif self.step is Step.COLLECT and not view.plan.containers:
            self._show_step(Step.LABELS)
        if self.step is Step.LABELS:
            self.labels_step.show_encounter(view)  # otherwise when step 5 is shown
        self.view_shown.emit(view)

    def _refresh_encounter(self) -> None:
        """A change elsewhere may touch the open visit: re-read it on the plan step."""
        if self.step is Step.PLAN and not self.controller.busy:
            self.controller.refresh()

    @staticmethod
    def _labels_pending(view: EncounterView) -> bool:
        return any(not s.verified for s in view.specimens) and not view.plan.containers

    def _open_patient(self, patient_id: int) -> None:
        self.message.clear()
        self.plan_step.reset()
        self._reset_chair()
        self.controller.open_patient(patient_id)

    def _open_recollection(self, task_id: int, patient_id: int) -> None:
        self.message.clear()
        self.plan_step.reset()
        self._reset_chair()
        self.controller.open_recollection(task_id, patient_id)

    def _with_pending(self, with_pending: bool) -> None:
        self.controller.with_pending = with_pending
        self.controller.refresh()

    # ---------------------------------------------------------------- preparation and volume

    def _reset_chair(self) -> None:
        self.pediatric = False
        self.plan_step.volume.reset()
        self.plan_step.preparation.reset()

    def _check_chair(self, view: EncounterView) -> None:
        """Ask the plan's preparation questions and check its blood (pediatric tubes first)."""
        ctx = self._context
        if self.pediatric and view.plan.blood:
            QueryOp(ctx.bus, pediatric_plan, view.plan).run(
                lambda plan: self._show_pediatric(view, plan), self._failed_error, owner=self
            )
            return
        QueryOp(ctx.bus, chair_checks, ctx.clock, view.id, view.plan, ctx.config.blood_volume).run(
            lambda checks: self._chair_shown(view, checks), self._failed_error, owner=self
        )

    def _show_pediatric(self, view: EncounterView, plan: DrawPlan) -> None:
        current = self.controller.encounter
        if current is None or current.id != view.id:
            return
        small = replace(view, plan=plan)
        self.controller.encounter = small
        self.plan_step.show_encounter(small)
        ctx = self._context
        QueryOp(ctx.bus, chair_checks, ctx.clock, view.id, plan, ctx.config.blood_volume).run(
            lambda checks: self._chair_shown(small, checks), self._failed_error, owner=self
        )

    def _chair_shown(self, view: EncounterView, checks: ChairChecks) -> None:
        current = self.controller.encounter
        if current is not None and current.id == view.id:
            self.plan_step.show_chair(checks, view.plan)

    def _failed_error(self, error: BaseException) -> None:
        self._failed(error_text(error))

    def _pediatric_tubes(self, on: bool) -> None:
        self.pediatric = on
        self.controller.refresh()

    def _reschedule(self, ordered_test_ids: list[int], suggested: str) -> None:
        reason, ok = QInputDialog.getText(
            self,
            self.tr("Reschedule"),
            self.tr("The tests stay pending and the board shows why. Reason:"),
            text=suggested,
        )
        if ok:
            self.controller.reschedule(ordered_test_ids, reason, self._rescheduled)

    def _rescheduled(self, count: int) -> None:
        # Say it worked and what is next: the plan still lists the tests (a patient who
        # misremembered can still be drawn) and Collect stays disabled, which alone reads
        # as "stuck".
        view = self.controller.encounter
        text = self.tr("{n} test(s) rescheduled: they stay pending, the reason is on the board.")
        text = text.replace("{n}", str(count))
        planned = {i for c in view.plan.containers for i in c.ordered_test_ids} if view else set()
        if view is not None and not view.specimens and planned <= set(view.missed_test_ids):
            text += " " + self.tr("Nothing else to draw: close the visit (Ctrl+Shift+X).")
        self._say(text, Tone.OK)

    def _save_collection(self, containers: list[ContainerCollection]) -> None:
        witness = self.collect_step.witness
        self.controller.collect(
            containers,
            preparation=self.plan_step.preparation.answers(),
            prioritisation=self.plan_step.volume.prioritisation(),
            collector_badge=witness.collector_badge,
            observer=witness.observer_badge,
        )

    def _to_collect(self) -> None:
        view = self.controller.encounter
        if view is None or not view.plan.containers:
            return
        self.collect_step.load(view.plan.containers, view.timed_steps)
        self.collect_step.fasting_asked(self.plan_step.preparation.fasting_test_codes())
        self._show_step(Step.COLLECT)

    def _winged(self, winged: bool) -> None:
        self.controller.winged_set = winged
        self.controller.refresh()

    def _collected(self, result: CollectResult) -> None:
        n = len(result.specimens)
        text = self.tr("Collection saved: %n specimen(s). Print the labels now (Ctrl+P).", "", n)
        if result.observed_recollection_needed:
            text += " " + self.tr(
                "Temperature out of range: collect again now under direct observation."
            )
            self._say(text, Tone.ALARM)
        else:
            self._say(text, Tone.OK)
        view = self.controller.encounter
        self._show_step(Step.LABELS if view is None or not view.plan.containers else Step.PLAN)

    def _printed(self, outcome: PrintOutcome) -> None:
        self.labels_step.show_print(outcome)
        if outcome.all_printed:
            self._say(self.tr("Labels printed: label each tube, then scan it back."), Tone.OK)
        elif outcome.unconfirmed:
            self._say(
                self.tr("A label is unconfirmed: check the tube, mark printed or reprint."),
                Tone.ALARM,
            )
        else:
            self._say(self.tr("Some labels did not print: see the list."), Tone.ALARM)

    def _scanned(self, outcome: ScanOutcome) -> None:
        self.message.clear()
        self.message.setStyleSheet("")
        self.labels_step.show_scan(outcome)
        self.feedback.play(tone_of(outcome))

    def _finished(self, text: str) -> None:
        self._say(text, Tone.OK)
        self.controller.close()
        self.identify_step.reset()
        self.labels_step.reset()
        self.plan_step.reset()
        self._reset_chair()  # the next patient is not asked this one's questions
        self.find_step.reset()

    def _new_patient(self) -> None:
        view = self.controller.encounter
        if view is not None and view.status.value == "open":
            self._say(
                self.tr("Finish (Ctrl+Enter) or abandon (Ctrl+Shift+X) this visit first."),
                Tone.WARNING,
            )
            return
        self._finished("")

    # ---------------------------------------------------------------- dialogs

    def open_add_on(self) -> None:
        """Add a test to a specimen already drawn (scan or type its accession)."""
        self.add_on_dialog = AddOnDialog(
            self._context, self._user, station_code=self.controller.station_code, parent=self
        )
        self.add_on_dialog.show()

    def _add_order(self) -> None:
        QueryOp(self._context.bus, list_catalog).run(
            self._order_dialog, self.controller.failed.emit, owner=self
        )

    def _order_dialog(self, catalog: list[CatalogRow]) -> None:
        request = dialogs.ask_order(self, catalog)
        if request is not None:
            self.controller.place_order(request.codes, request.provider, request.priority)

    def _cancel_tests(self, ids: list[int]) -> None:
        reason = dialogs.ask_reason(
            self, self.tr("Cancel tests"), self.tr("Why are these tests cancelled?")
        )
        if reason is not None:
            self.controller.cancel_tests(ids, reason)

    def _cancel_listed_recollection(self, row: RecollectionRow) -> None:
        what = self.tr("{accession} of {patient} ({reason})").format(
            accession=row.accession, patient=row.patient.display_name, reason=row.reason
        )
        self._cancel_recollection(row.task_id, what)

    def _cancel_open_recollection(self) -> None:
        view = self.controller.encounter
        if view is None or view.recollection is None:
            return
        info = view.recollection
        what = self.tr("{accession} ({reason})").format(
            accession=info.accession, reason=info.reason_label
        )
        self._cancel_recollection(info.task_id, what)

    def _cancel_recollection(self, task_id: int, what: str) -> None:
        answer = recollection_cancel.ask_cancel(self, what)
        if answer is not None:
            self.controller.cancel_recollection(task_id, answer.reason, answer.cancel_tests)

    def _recollection_cancelled(self, _task_id: int) -> None:
        self._say(self.tr("Recollection cancelled; the reason is recorded."), Tone.OK)
        self.find_step.reload_worklist()

    def _resolve(self, alarm_id: int) -> None:
        text = dialogs.ask_reason(
            self,
            self.tr("Resolve alarm"),
            self.tr("What was done? (e.g. wrong tube set aside and returned)"),
        )
        if text is not None:
            self.controller.resolve_alarm(alarm_id, text)

    def _observed(self, specimen_id: int) -> None:
        form = dialogs.ask_forensic(self, observed=True)
        if form is None:
            return
        observer = witness_fields.ask_observer_badge(self)
        if observer is not None:
            self.controller.collect_observed(specimen_id, form, observer=observer)

    def _waive(self, specimen_id: int) -> None:
        reason = dialogs.ask_reason(
            self, self.tr("No observed recollection"), self.tr("Why? (e.g. donor refused)")
        )
        if reason is not None:
            self.controller.waive_observed(specimen_id, reason)

    def _abandon(self) -> None:
        view = self.controller.encounter
        if view is None:
            return
        reason = ""
        if view.collected_any:
            answer = dialogs.ask_reason(
                self,
                self.tr("Abandon visit"),
                self.tr("Specimens were collected and stay on the worklist. Why abandon?"),
            )
            if answer is None:
                return
            reason = answer
        self.controller.abandon(reason)

    # ---------------------------------------------------------------- messages

    def _failed(self, text: str) -> None:
        if self.step is Step.IDENTIFY:
            # Once, next to the date to retype (issue 11 item 9), not also above the banner.
            self._note("")
            self.feedback.play(Tone.ALARM)
            self.identify_step.show_error(text)
            return
        self._say(text, Tone.ALARM)

    def _busy(self, busy: bool) -> None:
        # The controller refuses a second action while one runs (scans queue up), so the
        # screen stays enabled and the focus stays where the assistant left it.
        if busy:
            self.setCursor(Qt.CursorShape.BusyCursor)
        else:
            self.unsetCursor()

    def _focus_current(self) -> None:
        current = self.stack.currentWidget()
        if current is not None:
            current.setFocus()

    def _note(self, text: str) -> None:
        """A plain status line (no colour change, so nothing is restyled)."""
        set_style(self.message, "")
        self.message.setText(text)

    def _say(self, text: str, tone: Tone) -> None:
        self.message.setText(text)
        if text:
            flash(self.message, tone)
            self.feedback.play(tone)
        else:
            self.message.setStyleSheet("")
