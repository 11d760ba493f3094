"""The station driven as a medical assistant would, with a simulated wedge scanner."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import ClassVar

import pytest
import zxingcpp
from PIL import Image
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QWidget
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot
from sqlalchemy import func, select

from labdesk.adapters import orm
from labdesk.bootstrap import Core
from labdesk.domain.custody import CustodyEventKind
from labdesk.domain.encounter import AlarmKind
from labdesk.domain.forensic import ForensicForm
from labdesk.domain.order import Order, OrderedTest, OrderSource, Priority
from labdesk.domain.patient import PatientIdentifier
from labdesk.domain.people import Site, Station
from labdesk.domain.printing import CHECK_THE_TUBE, PrintJobStatus
from labdesk.kernel.dto import SignedInUser
from labdesk.printing.dto import PrintSetup
from labdesk.station.dto import EncounterView
from printers.errors import PrinterOffline, PrinterUnconfirmed
from printers.spool_adapter import LabelRendererAdapter
from printers.status import PrinterStatus
from tests.ui.station_window import open_station_window, scan, station_of, wait_view
from ui.app import context_of
from ui.context import AppContext
from ui.main_window import MainWindow
from ui.station.banner import Step
from ui.station.dialogs import OrderRequest
from ui.station.models import PlanModel
from ui.station.page import StationPage
from ui.widgets.feedback import Tone

STATION = "DRAW-2"  # the ui conftest's station code


@pytest.fixture
def labels_dir(tmp_path: Path) -> Path:
    return tmp_path / "labels"


@pytest.fixture
def station_core(core: Core, labels_dir: Path) -> Core:
    """The seeded database plus this station, wristbands and today's orders."""
    now = core.clock.now()
    with core.uow() as uow:
        site = Site(code="CLINIC", name="Riverside", timezone="America/New_York")
        uow.people.add(site)
        uow.people.flush()
        assert site.id is not None
        uow.people.add(
            Station(
                code=STATION,
                name="Chair 2",
                site_id=site.id,
                label_printer_uri=f"file://{labels_dir}",
            )
        )
        for mrn in ("M100001", "M100002"):
            patient = uow.patients.by_mrn(mrn)
            assert patient is not None
            assert patient.id is not None
            uow.patients.add_identifier(
                PatientIdentifier(patient_id=patient.id, system="wristband", value=f"WB{mrn}")
            )
            order = Order(
                placer_order_number=f"EHR-{mrn}",
                patient_id=patient.id,
                ordering_provider="Dr. Sam Patel",
                priority=Priority.ROUTINE,
                source=OrderSource.HL7,
                ordered_at=now - timedelta(minutes=20),
                created_at=now - timedelta(minutes=20),
            )
            uow.orders.add(order)
            uow.orders.flush()
            assert order.id is not None
            codes = ("CBC", "CMP", "PTINR") if mrn == "M100001" else ("CBC",)
            for code in codes:
                uow.orders.add_test(OrderedTest(order_id=order.id, test_code=code))
        uow.commit()
    return core


@pytest.fixture
def context(station_core: Core) -> AppContext:
    return context_of(station_core)


@pytest.fixture
def window(
    qtbot: QtBot, context: AppContext, user_named: Callable[[str], SignedInUser]
) -> Iterator[MainWindow]:
    return open_station_window(qtbot, context, user_named("maria"))


def count(core: Core, table: object) -> int:
    with core.uow() as uow:
        return int(uow.session.scalar(select(func.count()).select_from(table)) or 0)  # type: ignore[arg-type]


def test_whole_visit_with_a_scanner(
    qtbot: QtBot,
    window: MainWindow,
    station_core: Core,
    qtmodeltester: ModelTester,
    screenshot: Callable[[QWidget, str], Path],
    labels_dir: Path,
) -> None:
    page = station_of(window)
    qtbot.waitUntil(lambda: page.find_step.waiting_model.rowCount() == 2)
    for model in (
        page.find_step.waiting_model,
        page.find_step.pickup_model,
        page.find_step.recollect_model,
    ):
        qtmodeltester.check(model)
    screenshot(window, "station_1_worklist")

    # Find: a fast typist (60 ms between keys) searches; nothing is taken for a scan.
    qtbot.keyClicks(page.search_edit, "smi", delay=60)
    qtbot.waitUntil(lambda: page.model.rowCount() == 2)
    assert page.search_edit.text() == "smi"

    # A wristband scan, wherever the focus is, opens the patient and confirms the ID.
    page.search_edit.setFocus()
    scan(qtbot, "WBM100001")
    wait_view(qtbot, page, lambda v: v.identified)
    assert page.search_edit.text() == "smi"  # the scan's characters were taken back out
    assert page.step is Step.PLAN
    assert page.banner.isVisible()
    assert "Smith, John" in page.banner.name_label.text()
    plan = page.plan_step.plan_model
    assert [plan.row_at(i).container_code for i in range(plan.rowCount())] == [
        "LBLU",
        "SST",
        "LAV",
    ]
    qtmodeltester.check(plan)
    qtmodeltester.check(page.plan_step.orders_model)
    assert "discard tube" in page.plan_step.notes_label.text()
    screenshot(window, "station_3_plan")

    # Collect everything (Ctrl+K, then Ctrl+S).
    QTest.keyClick(page.plan_step, Qt.Key.Key_K, Qt.KeyboardModifier.ControlModifier)
    assert page.step is Step.COLLECT
    assert len(page.collect_step.rows) == 3
    screenshot(window, "station_4_collect")
    QTest.keyClick(page.collect_step, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: page.step is Step.LABELS, timeout=5000)
    wait_view(qtbot, page, lambda v: len(v.specimens) == 3)

    # Print at the chair (Ctrl+P): three labels, preview visible, barcode decodes.
    outcomes: list[object] = []
    page.controller.printed.connect(outcomes.append)
    QTest.keyClick(page.labels_step, Qt.Key.Key_P, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: bool(outcomes), timeout=10000)
    outcome = outcomes[0]
    assert outcome.all_printed  # type: ignore[attr-defined]
    assert len(list(labels_dir.glob("*.zpl"))) == 3
    png = outcome.preview_png  # type: ignore[attr-defined]
    decoded = [d.text for d in zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))]
    accessions = [s.accession for s in page.controller.encounter.specimens]  # type: ignore[union-attr]
    assert decoded[0] in accessions
    assert page.labels_step.preview.pixmap() is not None
    assert not page.labels_step.preview.pixmap().isNull()

    # Scan back: each tube ticks; a repeat is a friendly no-op.
    page.labels_step.specimens_table.setFocus()
    for accession in accessions:
        scan(qtbot, accession)
        wait_view(qtbot, page, lambda v, a=accession: _status(v, a) == "verified")
    scan(qtbot, accessions[0])
    qtbot.waitUntil(lambda: "already scanned" in page.labels_step.scan_status.text())
    assert page.feedback.played[-1] is Tone.WARNING
    qtmodeltester.check(page.labels_step.specimens_model)
    screenshot(window, "station_5_scanned_back")

    # Finish (Ctrl+Enter): back to the worklist, ready for the next patient.
    QTest.keyClick(page.labels_step, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: page.step is Step.FIND, timeout=5000)
    assert page.controller.encounter is None

    # The database holds exactly the three specimens, each collected, labelled, verified.
    assert count(station_core, orm.specimens) == 3
    with station_core.uow() as uow:
        for accession in accessions:
            specimen = uow.specimens.by_accession(accession)
            assert specimen is not None
            assert specimen.id is not None
            kinds = [e.kind for e in uow.custody.for_specimen(specimen.id)]
            assert kinds == [
                CustodyEventKind.COLLECTED,
                CustodyEventKind.LABELLED,
                CustodyEventKind.VERIFIED,
            ]
        jobs = [j for j in uow.session.scalars(select(orm.print_jobs.c.status))]
    assert jobs == [PrintJobStatus.DONE] * 3


def _status(view: EncounterView, accession: str) -> str:
    return next(s.status.value for s in view.specimens if s.accession == accession)


def _to_labels(qtbot: QtBot, page: StationPage, wristband: str) -> EncounterView:
    page.search_edit.setFocus()
    scan(qtbot, wristband)
    wait_view(qtbot, page, lambda v: v.identified)
    QTest.keyClick(page.plan_step, Qt.Key.Key_K, Qt.KeyboardModifier.ControlModifier)
    QTest.keyClick(page.collect_step, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: page.step is Step.LABELS, timeout=5000)
    wait_view(qtbot, page, lambda v: bool(v.specimens))
    done: list[object] = []
    page.controller.printed.connect(done.append)
    QTest.keyClick(page.labels_step, Qt.Key.Key_P, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: bool(done), timeout=10000)
    page.controller.printed.disconnect(done.append)
    wait_view(qtbot, page, lambda v: all(s.labelled for s in v.specimens))
    assert page.controller.encounter is not None
    return page.controller.encounter


def test_wrong_tube_alarm_blocks_finishing_until_resolved(
    qtbot: QtBot,
    qtmodeltester: ModelTester,
    window: MainWindow,
    station_core: Core,
    monkeypatch: pytest.MonkeyPatch,
    screenshot: Callable[[QWidget, str], Path],
) -> None:
    page = station_of(window)
    # Jane Smithers is drawn first; her labelled tube is still on the tray.
    jane = _to_labels(qtbot, page, "WBM100002")
    janes_tube = jane.specimens[0].accession
    page.controller.abandon("left for the lab run")  # nothing scanned back yet
    qtbot.waitUntil(lambda: page.step is Step.FIND, timeout=5000)

    john = _to_labels(qtbot, page, "WBM100001")
    page.labels_step.specimens_table.setFocus()
    scan(qtbot, janes_tube)
    wait_view(qtbot, page, lambda v: bool(v.open_alarms))
    assert page.controller.encounter is not None
    assert page.controller.encounter.open_alarms[0].kind is AlarmKind.WRONG_PATIENT
    assert "WRONG PATIENT" in page.labels_step.scan_status.text()
    qtmodeltester.check(page.labels_step.alarms_model)
    assert page.feedback.played[-1] is Tone.ALARM
    assert "ffd7dc" in page.labels_step.scan_status.styleSheet()  # red
    scan(qtbot, "ABC!")  # malformed: not a label, not a wristband
    wait_view(qtbot, page, lambda v: len(v.open_alarms) == 2)
    for specimen in john.specimens:
        scan(qtbot, specimen.accession)
    wait_view(qtbot, page, lambda v: all(s.verified for s in v.specimens))
    screenshot(window, "station_5_wrong_tube_alarm")

    QTest.keyClick(page.labels_step, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: "cannot be finished" in page.message.text(), timeout=5000)
    assert page.step is Step.LABELS

    monkeypatch.setattr(
        "ui.station.dialogs.ask_reason", lambda *_a: "wrong tube set aside for its patient"
    )
    for _ in range(2):
        QTest.keyClick(page.labels_step, Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier)
        qtbot.waitUntil(lambda: not page.controller.busy, timeout=5000)
    wait_view(qtbot, page, lambda v: not v.open_alarms)
    QTest.keyClick(page.labels_step, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: page.step is Step.FIND, timeout=5000)
    with station_core.uow() as uow:
        specimen = uow.specimens.by_accession(janes_tube)
        assert specimen is not None
        assert specimen.status.value == "labelled"  # Jane's tube was never ticked for John


def test_identity_by_typed_date_of_birth(
    qtbot: QtBot, window: MainWindow, screenshot: Callable[[QWidget, str], Path]
) -> None:
    page = station_of(window)
    qtbot.keyClicks(page.search_edit, "smith jo", delay=60)
    qtbot.waitUntil(lambda: page.model.rowCount() == 1)
    QTest.keyClick(page.search_edit, Qt.Key.Key_Return)  # the only result opens
    qtbot.waitUntil(lambda: page.step is Step.IDENTIFY, timeout=5000)
    screenshot(window, "station_2_identify")
    step = page.identify_step
    qtbot.keyClicks(step.dob_edit, "1980-04-03", delay=60)  # day and month swapped
    QTest.keyClick(step.dob_edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: "does not match" in step.message.text(), timeout=5000)
    assert not page.controller.encounter.identified  # type: ignore[union-attr]
    step.dob_edit.clear()
    qtbot.keyClicks(step.dob_edit, "03/04/1980", delay=60)
    QTest.keyClick(step.dob_edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: "Confirm the patient's name" in step.message.text(), timeout=5000)
    step.name_check.setChecked(True)
    QTest.keyClick(step.dob_edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: page.step is Step.PLAN, timeout=5000)
    assert page.controller.encounter is not None
    assert page.controller.encounter.identified


def test_unknown_wristband_says_so(qtbot: QtBot, window: MainWindow) -> None:
    page = station_of(window)
    page.search_edit.setFocus()
    scan(qtbot, "WBX999999")
    qtbot.waitUntil(lambda: "No patient has the identifier" in page.message.text(), timeout=5000)
    assert page.step is Step.FIND
    assert page.feedback.played[-1] is Tone.ALARM


def test_printer_failing_mid_order_shows_it_and_retry_prints_the_rest(
    qtbot: QtBot,
    window: MainWindow,
    station_core: Core,
    screenshot: Callable[[QWidget, str], Path],
) -> None:
    class Flaky:
        language = "zpl"
        sent = 0

        def send(self, payload: bytes, *, preview_png: bytes | None = None) -> None:
            Flaky.sent += 1
            if Flaky.sent == 2:
                raise PrinterOffline("The label printer is offline.", hint="Switch it on.")

        def status(self) -> PrinterStatus:
            return PrinterStatus.ok()

    page = station_of(window)
    page.controller.print_setup = PrintSetup(
        station_code=STATION, opener=lambda _uri: Flaky(), renderer=LabelRendererAdapter()
    )
    page.search_edit.setFocus()
    scan(qtbot, "WBM100001")
    wait_view(qtbot, page, lambda v: v.identified)
    QTest.keyClick(page.plan_step, Qt.Key.Key_K, Qt.KeyboardModifier.ControlModifier)
    QTest.keyClick(page.collect_step, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: page.step is Step.LABELS, timeout=5000)
    QTest.keyClick(page.labels_step, Qt.Key.Key_P, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: "did not print" in page.labels_step.print_status.text(), timeout=10000)
    assert "offline" in page.labels_step.print_status.text()
    # The spooler holds the printer's later jobs too, so labels keep their order.
    wait_view(qtbot, page, lambda v: sum(s.labelled for s in v.specimens) == 1)
    assert "2 label(s) not printed" in page.labels_step.blockers_label.text()
    screenshot(window, "station_5_printer_failed")

    station_core.clock.advance(timedelta(seconds=30))  # type: ignore[attr-defined]
    QTest.keyClick(page.labels_step, Qt.Key.Key_P, Qt.KeyboardModifier.ControlModifier)
    wait_view(qtbot, page, lambda v: all(s.labelled for s in v.specimens))
    assert Flaky.sent == 4  # 3 jobs + 1 retry: nothing printed twice
    assert count(station_core, orm.specimens) == 3


@pytest.mark.parametrize("on_the_tube", [True, False], ids=["mark-printed", "reprint"])
def test_an_unconfirmed_label_says_check_the_tube_and_both_actions_work(
    qtbot: QtBot,
    window: MainWindow,
    station_core: Core,
    screenshot: Callable[[QWidget, str], Path],
    on_the_tube: bool,
) -> None:
    class Unconfirming:
        """Takes every job; the first one is not confirmed (no ~HS answer after it)."""

        language = "zpl"
        payloads: ClassVar[list[bytes]] = []

        def send(self, payload: bytes, *, preview_png: bytes | None = None) -> None:
            Unconfirming.payloads.append(payload)
            if len(Unconfirming.payloads) == 1:
                raise PrinterUnconfirmed(
                    "The printer took the job but did not confirm it (no answer from printer).",
                    hint=CHECK_THE_TUBE,
                )

        def status(self) -> PrinterStatus:
            return PrinterStatus.ok()

    page = station_of(window)
    page.controller.print_setup = PrintSetup(
        station_code=STATION, opener=lambda _uri: Unconfirming(), renderer=LabelRendererAdapter()
    )
    page.search_edit.setFocus()
    scan(qtbot, "WBM100001")
    wait_view(qtbot, page, lambda v: v.identified)
    QTest.keyClick(page.plan_step, Qt.Key.Key_K, Qt.KeyboardModifier.ControlModifier)
    QTest.keyClick(page.collect_step, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: page.step is Step.LABELS, timeout=5000)
    step = page.labels_step
    assert not step.mark_printed_button.isVisible()
    QTest.keyClick(step, Qt.Key.Key_P, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: "unconfirmed" in step.print_status.text(), timeout=10000)
    assert "check the tube, mark printed or reprint" in step.print_status.text()
    assert "mark printed or reprint" in page.message.text()
    assert step.mark_printed_button.isVisible()
    assert step.reprint_button.isVisible()
    wait_view(qtbot, page, lambda v: sum(s.labelled for s in v.specimens) == 2)
    tubes = step.specimens_model
    statuses = [tubes.data(tubes.index(r, 4)) for r in range(tubes.rowCount())]
    assert statuses.count("Label unconfirmed: check the tube") == 1  # the tube's own row says so
    if on_the_tube:
        screenshot(window, "station_5_label_unconfirmed")

    button = step.mark_printed_button if on_the_tube else step.reprint_button
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    wait_view(qtbot, page, lambda v: all(s.labelled for s in v.specimens))
    qtbot.waitUntil(lambda: not step.mark_printed_button.isVisible(), timeout=5000)
    assert "printed" in step.print_status.text()
    with station_core.uow() as uow:
        jobs = list(
            uow.session.execute(
                select(orm.print_jobs.c.status, orm.print_jobs.c.reprint_of_id).order_by(
                    orm.print_jobs.c.id
                )
            )
        )
    done, failed = PrintJobStatus.DONE, PrintJobStatus.FAILED
    if on_the_tube:  # marked printed: nothing printed again
        assert [status for status, _ in jobs] == [done, done, done]
        assert len(Unconfirming.payloads) == 3
    else:  # closed as not printed, then reprinted once, marked as a reprint
        assert [status for status, _ in jobs] == [failed, done, done, done]
        assert jobs[3][1] is not None
        assert len(Unconfirming.payloads) == 4
        assert b"REPRINT 1" in Unconfirming.payloads[3]


def test_abandon_before_collection_saves_nothing(
    qtbot: QtBot, window: MainWindow, station_core: Core
) -> None:
    page = station_of(window)
    page.search_edit.setFocus()
    scan(qtbot, "WBM100002")
    wait_view(qtbot, page, lambda v: v.identified)
    QTest.keyClick(
        page,
        Qt.Key.Key_X,
        Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier,
    )
    qtbot.waitUntil(lambda: page.step is Step.FIND, timeout=5000)
    assert count(station_core, orm.specimens) == 0
    assert count(station_core, orm.custody_events) == 0


def test_models_pass_the_model_tester(
    qtmodeltester: ModelTester, context: AppContext, qtbot: QtBot
) -> None:
    from labdesk.catalog.csv_import import load_shipped_catalog
    from labdesk.domain.draw_plan import PlanRequest, build_draw_plan

    containers, tests = load_shipped_catalog()
    plan = build_draw_plan(
        [PlanRequest(1, "CBC"), PlanRequest(2, "PTINR"), PlanRequest(3, "UA")],
        {t.code: t for t in tests},
        {c.code: c for c in containers},
    )
    model = PlanModel()
    model.set_rows(plan.containers)
    qtmodeltester.check(model)
    assert model.data(model.index(0, PlanModel.CAP_COLUMN), Qt.ItemDataRole.UserRole + 10)


def test_manual_order_cancel_and_forensic_observed_recollection(
    qtbot: QtBot,
    window: MainWindow,
    station_core: Core,
    monkeypatch: pytest.MonkeyPatch,
    screenshot: Callable[[QWidget, str], Path],
) -> None:
    page = station_of(window)
    page.search_edit.setFocus()
    scan(qtbot, "WBM100002")  # Jane: one CBC pending
    wait_view(qtbot, page, lambda v: v.identified)

    # Ctrl+N: a DOT drug screen is ordered here; Del cancels the CBC with a reason.
    monkeypatch.setattr(
        "ui.station.dialogs.ask_order",
        lambda _parent, catalog: (
            OrderRequest(("UDSDOT",), "Dr. Who", Priority.ROUTINE)
            if any(row.code == "UDSDOT" for row in catalog)
            else None
        ),
    )
    QTest.keyClick(page.plan_step, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    wait_view(qtbot, page, lambda v: len(v.orders) == 2)
    assert [c.container_code for c in page.controller.encounter.plan.urine] == ["CCUP"]  # type: ignore[union-attr]
    monkeypatch.setattr("ui.station.dialogs.ask_reason", lambda *_a: "duplicate of lab order")
    table = page.plan_step.orders_table
    table.setFocus()
    table.selectRow(0)  # CBC, ordered first
    QTest.keyClick(table, Qt.Key.Key_Delete)
    wait_view(qtbot, page, lambda v: [c.container_code for c in v.plan.containers] == ["CCUP"])

    # The custody form says 39.5 °C: saved, and an observed recollection is now required.
    hot = ForensicForm(
        ccf_number="T1234567",
        temperature_c=39.5,
        minutes_to_temperature_read=2,
        bottle_a_ml=35,
        bottle_b_ml=20,
        bottles_sealed_and_dated=True,
        donor_initialled_seals=True,
        donor_id_checked=True,
        remarks="temperature 39.5",
    )
    monkeypatch.setattr("ui.station.dialogs.ask_forensic", lambda *_a, **_k: hot)
    QTest.keyClick(page.plan_step, Qt.Key.Key_K, Qt.KeyboardModifier.ControlModifier)
    row = page.collect_step.rows[0]
    assert row.form_button is not None
    row.form_button.click()
    with station_core.uow() as uow:  # Maria observed the void: her badge is the observer's
        maria = uow.people.user_by_username("maria")
        assert maria is not None
        maria.badge_id = "BADGE-MARIA"
        uow.commit()
    page.collect_step.witness.observer_edit.setText("BADGE-MARIA")  # required (forensic)
    QTest.keyClick(page.collect_step, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    wait_view(qtbot, page, lambda v: any(s.needs_observed_recollection for s in v.specimens))
    assert "direct observation" in page.message.text()
    assert page.labels_step.observed_button.isVisibleTo(page.labels_step)
    screenshot(window, "station_5_forensic_recollection")

    observed = replace(
        hot, ccf_number="T7654321", temperature_c=35.0, observed=True, remarks="observed"
    )
    monkeypatch.setattr("ui.station.dialogs.ask_forensic", lambda *_a, **_k: observed)
    monkeypatch.setattr("ui.station.witness_fields.ask_observer_badge", lambda _p: "BADGE-MARIA")
    page.labels_step.observed_button.click()
    wait_view(qtbot, page, lambda v: len(v.specimens) == 2)
    view = page.controller.encounter
    assert view is not None
    assert not any("observed recollection" in b for b in view.blockers)
    with station_core.uow() as uow:
        active = {o.placer_order_number for o in uow.orders.active_for_patient(view.patient.id)}
    assert "EHR-M100002" not in active  # its only test was cancelled


def test_awaiting_pickup_row_opens_the_specimen_timeline(
    qtbot: QtBot, window: MainWindow, monkeypatch: pytest.MonkeyPatch
) -> None:
    import ui.widgets.specimen_timeline as timeline

    opened: list[str | None] = []
    monkeypatch.setattr(
        timeline,
        "open_specimen_timeline",
        lambda parent, ctx, specimen_id, user=None, *, accession=None: opened.append(accession),
    )
    page = station_of(window)
    encounter = _to_labels(qtbot, page, "WBM100001")
    find = page.find_step
    find.reload_worklist()
    qtbot.waitUntil(lambda: find.pickup_model.rowCount() >= 1, timeout=10000)
    view = find.pickup_table
    view.activated.emit(view.model().index(0, 0))
    assert opened
    assert opened[0] in {s.accession for s in encounter.specimens}
