"""A clinic day through the screens: the specimen loop's exception paths, end to end.

One patient, two tubes (potassium in a PST, a CBC in a lavender). The station draws and
labels them; the courier page picks them up (and refuses a tube scanned before the pickup
starts); the lab receiving page receives one and reports the other lost; the lab (HL7, not a
screen) sends a critical potassium and later a result for the lost tube; the clinician's
board raises the alarm, the result worklist dismisses the discrepancy and the station draws
the lost tube again. A result naming an accession nobody issued waits on the worklist, counted
but on no row, and is dismissed. At the end the board rows, the overdue counts and the specimen
timelines agree for every specimen of the day.
"""

from __future__ import annotations

import dataclasses
import io
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import zxingcpp
from custody_world import World
from PIL import Image
from PySide6.QtCore import QItemSelectionModel, Qt, QTimer
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QInputDialog, QMessageBox
from pytestqt.qtbot import QtBot

from labdesk.bootstrap import Core
from labdesk.custody.timeline import specimen_timeline
from labdesk.domain.accession import make_accession
from labdesk.domain.clock import FixedClock
from labdesk.domain.custody import CustodyEventKind as Kind
from labdesk.domain.custody import next_status
from labdesk.domain.manifest import ManifestStatus
from labdesk.domain.order import Order, OrderedTest, OrderSource, Priority
from labdesk.domain.order import TestStatus as Status
from labdesk.domain.overdue import FlagReason, OverduePolicy
from labdesk.domain.patient import PatientIdentifier
from labdesk.domain.people import Station
from labdesk.domain.specimen import SpecimenStatus
from labdesk.interface.ingest import Ingestor
from labdesk.kernel.dto import SignedInUser
from labdesk.results.board import load_board, overdue_tally
from labdesk.results.board_dto import BoardRow
from labdesk.results.board_query import BoardQuery
from labdesk.results.overdue_settings import OverdueSettings
from printers.manifest_pdf import PdfManifestPrinter
from tests.integration.hl7_world import group, obx, oru
from tests.ui.station_window import open_station_window, scan, station_of, wait_view
from ui.app import context_of
from ui.context import AppContext
from ui.custody.courier_page import CourierPage
from ui.custody.receiving_page import LabReceivingPage
from ui.main_window import MainWindow
from ui.results.board_model import flags_text, reason_label, status_label
from ui.results.page import ResultsPage
from ui.results.worklist_page import ResultWorklistPage
from ui.station.banner import Step
from ui.tasks import wait_for_background_jobs

STATION = "DRAW-2"  # the ui conftest's station code
WAIT_MS = 10_000
MRN = "M100001"  # John Smith, born 1980-03-04 (the ui conftest's first patient)
PID_OF_JOHN = ("Testpatient^Alpha||19800102|F", "Smith^John||19800304|M")
POLICY = OverduePolicy()
STATUS_COLUMN, FLAGS_COLUMN, LAB_COLUMN = 5, 0, 5


@pytest.fixture
def labels_dir(tmp_path: Path) -> Path:
    return tmp_path / "labels"


@pytest.fixture
def world(
    core: Core, clock: FixedClock, user_named: Callable[[str], SignedInUser], labels_dir: Path
) -> World:
    """The clinic with its route to the lab, chair 2 at CLINIC, and John's order: K and CBC."""
    users = {name: user_named(name) for name in ("maria", "chris", "lena", "sam", "alex")}
    world = World.on_existing(core.uow, clock, users)
    with core.uow() as uow:
        uow.people.add(
            Station(
                code=STATION,
                name="Chair 2",
                site_id=world.sites["CLINIC"],
                label_printer_uri=f"file://{labels_dir}",
            )
        )
        uow.patients.add_identifier(
            PatientIdentifier(patient_id=world.patient_id, system="wristband", value=f"WB{MRN}")
        )
        order = Order(
            placer_order_number="EHR-DAY",
            patient_id=world.patient_id,
            ordering_provider="Dr. Sam Patel",
            priority=Priority.ROUTINE,
            source=OrderSource.HL7,
            ordered_at=clock.now() - timedelta(minutes=15),
            created_at=clock.now() - timedelta(minutes=15),
        )
        uow.orders.add(order)
        uow.orders.flush()
        assert order.id is not None
        for code in ("K", "CBC"):
            uow.orders.add_test(OrderedTest(order_id=order.id, test_code=code))
        uow.commit()
    return world


@pytest.fixture
def context(core: Core, world: World) -> AppContext:
    return context_of(core)


@pytest.fixture
def window(qtbot: QtBot, context: AppContext, world: World) -> Iterator[MainWindow]:
    window = open_station_window(qtbot, context, world.users["maria"])
    yield window
    wait_for_background_jobs()


# ---------------------------------------------------------------- station helpers


def print_and_decode(qtbot: QtBot, window: MainWindow, labels_dir: Path) -> dict[str, str]:
    """Ctrl+P on the labels step; every new label PNG in the printer's folder, decoded."""
    page = station_of(window)
    before = set(labels_dir.glob("*.png")) if labels_dir.exists() else set()
    printed: list[Any] = []
    page.controller.printed.connect(printed.append)
    QTest.keyClick(page.labels_step, Qt.Key.Key_P, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: bool(printed), timeout=WAIT_MS)
    page.controller.printed.disconnect(printed.append)
    assert printed[0].all_printed
    wait_view(qtbot, page, lambda v: all(s.labelled for s in v.specimens))
    decoded = {}
    for png in sorted(set(labels_dir.glob("*.png")) - before):
        (text,) = [d.text for d in zxingcpp.read_barcodes(Image.open(png))]
        decoded[png.name] = text
    preview = [
        d.text for d in zxingcpp.read_barcodes(Image.open(io.BytesIO(printed[0].preview_png)))
    ]
    assert preview[0] in decoded.values()
    return decoded


def scan_back_and_finish(qtbot: QtBot, window: MainWindow, accessions: list[str]) -> None:
    page = station_of(window)
    page.labels_step.specimens_table.setFocus()
    for accession in accessions:
        scan(qtbot, accession)
    wait_view(qtbot, page, lambda v: all(s.verified for s in v.specimens))
    QTest.keyClick(page.labels_step, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: page.step is Step.FIND, timeout=WAIT_MS)


# ---------------------------------------------------------------- courier and lab helpers


def courier_scan(qtbot: QtBot, page: CourierPage | LabReceivingPage, *texts: str) -> list[Any]:
    """Type each text as a wedge scanner does (keys, then Enter); wait for every outcome."""
    handled: list[Any] = []
    page.scan_handled.connect(handled.append)
    for text in texts:
        qtbot.keyClicks(page.scan_edit, text)
        qtbot.keyClick(page.scan_edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: len(handled) == len(texts), timeout=WAIT_MS)
    page.scan_handled.disconnect(handled.append)
    return handled


def answer_next_question(qtbot: QtBot, button: QMessageBox.StandardButton) -> list[str]:
    """Click ``button`` on the next modal message box; returns the text it showed."""
    asked: list[str] = []

    def click() -> None:
        box = QApplication.activeModalWidget()
        if not isinstance(box, QMessageBox):
            QTimer.singleShot(20, click)
            return
        asked.append(box.text())
        qtbot.mouseClick(box.button(button), Qt.MouseButton.LeftButton)

    QTimer.singleShot(0, click)
    return asked


def lab_column(page: LabReceivingPage) -> dict[str, str]:
    return {
        page.model.row_at(n).accession: page.model.index(n, LAB_COLUMN).data()
        for n in range(page.model.rowCount())
    }


# ---------------------------------------------------------------- board helpers


def results_page(qtbot: QtBot, context: AppContext, world: World) -> ResultsPage:
    page = ResultsPage(context, world.users["sam"], settings=OverdueSettings(POLICY))
    qtbot.addWidget(page)
    page.resize(1280, 800)
    page.poll_timer.stop()  # the test reloads when the story needs it
    page.critical_alert.feedback.audible = False
    with qtbot.waitSignal(page.board_loaded, timeout=WAIT_MS):
        pass
    return page


def reload(qtbot: QtBot, page: ResultsPage) -> None:
    with qtbot.waitSignal(page.board_loaded, timeout=WAIT_MS):
        page.refresh_button.click()


def shown_rows(page: ResultsPage) -> dict[str, tuple[BoardRow, str, str]]:
    """Each test code's row with its Status and Flags cells as displayed."""
    rows = {}
    for n in range(page.model.rowCount()):
        row = page.model.row_at(n)
        assert row is not None
        rows[row.test_code] = (
            row,
            page.model.index(n, STATUS_COLUMN).data(),
            page.model.index(n, FLAGS_COLUMN).data(),
        )
    return rows


def shown_counts(page: ResultsPage) -> dict[FlagReason, int]:
    """The counts strip as displayed: ``reason: n`` on each visible button."""
    counts = {}
    for reason, button in page.counts.buttons.items():
        if button.isVisibleTo(page.counts):
            label, _, n = button.text().rpartition(": ")
            assert label == reason_label(reason)
            counts[reason] = int(n)
    return counts


def assert_counts_agree(world: World, page: ResultsPage) -> dict[FlagReason, int]:
    """The counts strip, :func:`overdue_tally` and the flags on the board's rows agree."""
    with world.uow() as uow:
        everything = load_board(
            uow, world.clock, world.users["sam"], POLICY, BoardQuery(include_closed=True),
            audit=False, page_size=100_000,
        )  # fmt: skip
    counted = Counter(f.reason for r in everything.rows if r.status.is_open for f in r.flags)
    with world.uow() as uow:
        open_tests, tally = overdue_tally(uow, world.clock, POLICY)
    assert open_tests == sum(1 for r in everything.rows if r.status.is_open)
    raised = {k: v for k, v in tally.items() if v}
    # Results matching no test are counted without a row: they wait on the worklist.
    on_rows = {k: v for k, v in raised.items() if k is not FlagReason.UNMATCHED_RESULT}
    assert on_rows == dict(counted), (raised, counted)
    assert shown_counts(page) == raised
    return raised


def send(ingestor: Ingestor, control: str, *segments: list[str]) -> None:
    """The lab's interface sends one ORU^R01 about John (not a screen)."""
    message = oru(control, *segments, mrn=MRN).replace(*PID_OF_JOHN)
    reply = ingestor.handle_frame(message, "lab")
    assert "MSA|AA" in reply.ack, reply.ack


# ---------------------------------------------------------------- the day


def test_a_clinic_day_through_the_screens(
    qtbot: QtBot,
    window: MainWindow,
    context: AppContext,
    world: World,
    clock: FixedClock,
    password: str,
    labels_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    screenshot: Callable[..., Any],
) -> None:
    # 1. The MA draws John: two tubes, two labels that decode, both scanned back.
    station = station_of(window)
    qtbot.waitUntil(lambda: station.find_step.waiting_model.rowCount() == 1, timeout=WAIT_MS)
    station.search_edit.setFocus()
    scan(qtbot, f"WB{MRN}")
    wait_view(qtbot, station, lambda v: v.identified)
    plan = station.plan_step.plan_model
    assert sorted(plan.row_at(i).container_code for i in range(plan.rowCount())) == ["LAV", "PST"]
    QTest.keyClick(station.plan_step, Qt.Key.Key_K, Qt.KeyboardModifier.ControlModifier)
    QTest.keyClick(station.collect_step, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: station.step is Step.LABELS, timeout=WAIT_MS)
    wait_view(qtbot, station, lambda v: len(v.specimens) == 2)
    view = station.controller.encounter
    assert view is not None
    tube = {s.container_code: s.accession for s in view.specimens}
    a, b = tube["PST"], tube["LAV"]  # A carries the potassium, B the CBC
    decoded = print_and_decode(qtbot, window, labels_dir)
    assert sorted(decoded.values()) == sorted([a, b])  # one label per tube, each its own
    scan_back_and_finish(qtbot, window, [a, b])
    assert world.status(a) is world.status(b) is SpecimenStatus.VERIFIED

    # 2. The courier: a tube scanned before the pickup starts is refused; then both, PIN.
    clock.advance(timedelta(minutes=20))
    printer = PdfManifestPrinter(f"pdf://{(tmp_path / 'manifest.pdf').as_posix()}")
    courier = CourierPage(
        dataclasses.replace(context, manifest_printer=printer), world.users["chris"]
    )
    qtbot.addWidget(courier)
    courier.resize(1280, 800)
    qtbot.waitUntil(lambda: courier.site_box.count() == 2, timeout=WAIT_MS)
    (refused,) = courier_scan(qtbot, courier, a)
    assert refused is None
    assert courier.banner.text().startswith("Start the pickup first:")
    assert "press Start pickup" in courier.banner.text()
    assert courier.manifest is None
    assert world.status(a) is SpecimenStatus.VERIFIED
    with qtbot.waitSignal(courier.manifest_loaded, timeout=WAIT_MS):
        courier.start_button.click()
    assert courier.ready_model.rowCount() == 2
    outcomes = courier_scan(qtbot, courier, a, b)
    assert [o.code.value for o in outcomes] == ["added", "added"]
    monkeypatch.setattr(QMessageBox, "question", lambda *_a: QMessageBox.StandardButton.Yes)
    monkeypatch.setattr(QInputDialog, "getText", lambda *_a, **_k: (password, True))
    with qtbot.waitSignal(courier.printed, timeout=WAIT_MS):
        courier.finish_button.click()
    assert courier.manifest is not None
    assert courier.manifest.status is ManifestStatus.IN_TRANSIT
    manifest = courier.manifest.number
    assert world.status(a) is world.status(b) is SpecimenStatus.IN_TRANSIT
    monkeypatch.undo()

    # 3. The lab receives A; closing with B unscanned reports B lost once confirmed.
    clock.advance(timedelta(minutes=80))
    lab = LabReceivingPage(context, world.users["lena"])
    qtbot.addWidget(lab)
    lab.resize(1280, 800)
    _opened, received = courier_scan(qtbot, lab, manifest, a)
    assert received.code.value == "received"
    asked = answer_next_question(qtbot, QMessageBox.StandardButton.Yes)
    with qtbot.waitSignal(lab.closed, timeout=WAIT_MS) as closed:
        lab.close_button.click()
    assert len(asked) == 1
    assert b in asked[0]
    assert a not in asked[0]
    assert closed.args[0].reported_lost == (b,)
    assert lab_column(lab) == {a: "Received", b: "Lost"}
    assert world.status(b) is SpecimenStatus.LOST

    # 4. The lab sends a critical potassium for A: the alarm strip and the row say so.
    clock.advance(timedelta(minutes=30))
    ingestor = Ingestor(context.uow, clock, timezone="UTC")
    send(
        ingestor,
        "DAY1",
        group("K", "F", obx("K", "7.3", units="mmol/L", flag="HH"), filler=a, placer=""),
    )
    board = results_page(qtbot, context, world)
    assert board.critical_alert.isVisibleTo(board)
    assert "CRITICAL" in board.critical_alert.text.text()
    assert "Smith, John" in board.critical_alert.text.text()
    rows = shown_rows(board)
    k_row, k_status, k_flags = rows["K"]
    assert (k_row.accession, k_status) == (a, status_label(Status.FINAL))
    assert "CRITICAL not acknowledged" in k_flags
    cbc_row, cbc_status, cbc_flags = rows["CBC"]
    assert (cbc_row.accession, cbc_status) == (b, "Lost")
    assert "Lost, not recollected" in cbc_flags
    assert "in transit" not in cbc_flags.casefold()
    assert FlagReason.TRANSIT_OVERDUE not in cbc_row.reasons
    assert assert_counts_agree(world, board) == {
        FlagReason.CRITICAL_NOT_ACKNOWLEDGED: 1,
        FlagReason.LOST: 1,
    }
    screenshot(board, "clinic_day_critical")

    # 5. A result for the lost tube: a discrepancy on the worklist, dismissed with a reason.
    clock.advance(timedelta(minutes=10))
    send(ingestor, "DAY2", group("CBC", "F", obx("HGB", "13.1", units="g/dL"), filler=b, placer=""))
    reload(qtbot, board)
    _row, status, flags = shown_rows(board)["CBC"]
    assert status == "Lost"
    assert "Result on a rejected or lost specimen" in flags
    assert assert_counts_agree(world, board)[FlagReason.RESULT_DISCREPANCY] == 1
    worklist = ResultWorklistPage(context, world.users["sam"])
    qtbot.addWidget(worklist)
    worklist.resize(1280, 560)
    with qtbot.waitSignal(worklist.loaded, timeout=WAIT_MS) as shown:
        worklist.show()
    assert shown.args == [1]
    assert worklist.model.row_at(0).accession == b
    assert worklist.model.index(0, 1).data() == "Discrepancy"
    index = worklist.table.model().mapFromSource(worklist.model.index(0, 0))  # type: ignore[attr-defined]
    worklist.table.selectionModel().select(
        index,
        QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows,
    )
    worklist.dismiss_button.click()
    confirm = worklist.dismiss_dialog
    assert confirm is not None
    qtbot.keyClicks(confirm.reason_edit, "tube lost in transit; result sent in error")
    with qtbot.waitSignal(worklist.dismissed, timeout=WAIT_MS):
        confirm.dismiss_button.click()
    qtbot.waitUntil(lambda: worklist.model.rowCount() == 0, timeout=WAIT_MS)
    reload(qtbot, board)
    cbc_row, status, flags = shown_rows(board)["CBC"]
    assert status == "Lost"
    assert FlagReason.RESULT_DISCREPANCY not in cbc_row.reasons
    assert "Lost, not recollected" in flags
    assert FlagReason.RESULT_DISCREPANCY not in assert_counts_agree(world, board)

    # 5b. A result naming an accession nobody issued (valid check digit) for John's CBC: it
    #     goes to the worklist unmatched and never lands on a test through the order.
    ghost = make_accession(2026, 9_999_001)
    send(
        ingestor,
        "DAY3",
        group("CBC", "F", obx("HGB", "9.9", units="g/dL"), filler=ghost, placer="EHR-DAY"),
    )
    with qtbot.waitSignal(worklist.loaded, timeout=WAIT_MS) as shown:
        worklist.reload()
    assert shown.args == [1]
    assert worklist.model.row_at(0).accession == ghost
    assert worklist.model.index(0, 1).data() != "Discrepancy"
    reload(qtbot, board)
    cbc_row, status, _flags = shown_rows(board)["CBC"]
    assert (cbc_row.accession, status) == (b, "Lost")  # untouched by the ghost result
    with world.uow() as uow:
        assert not [r for r in uow.results.for_ordered_test(cbc_row.ordered_test_id)
                    if r.value == "9.9"]  # fmt: skip
    counts = assert_counts_agree(world, board)
    assert FlagReason.RESULT_DISCREPANCY not in counts
    assert counts[FlagReason.UNMATCHED_RESULT] == 1  # on the strip, pointing to the worklist
    index = worklist.table.model().mapFromSource(worklist.model.index(0, 0))  # type: ignore[attr-defined]
    worklist.table.selectionModel().select(
        index,
        QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows,
    )
    worklist.dismiss_button.click()  # the lab is asked to resend; dismissed with the reason
    confirm = worklist.dismiss_dialog
    assert confirm is not None
    qtbot.keyClicks(confirm.reason_edit, "accession unknown here; lab asked to correct")
    with qtbot.waitSignal(worklist.dismissed, timeout=WAIT_MS):
        confirm.dismiss_button.click()
    qtbot.waitUntil(lambda: worklist.model.rowCount() == 0, timeout=WAIT_MS)
    reload(qtbot, board)
    assert FlagReason.UNMATCHED_RESULT not in assert_counts_agree(world, board)

    # 6. The station draws B again from "To recollect": identify, collect, print, scan back.
    clock.advance(timedelta(minutes=15))
    window.activateWindow()
    find = station.find_step
    find.reload_worklist()
    qtbot.waitUntil(lambda: find.recollect_model.rowCount() == 1, timeout=WAIT_MS)
    find.worklist_tabs.setCurrentWidget(find.recollect_table)
    find.recollect_table.setFocus()
    find.recollect_table.selectRow(0)
    QTest.keyClick(find.recollect_table, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: station.step is Step.IDENTIFY, timeout=WAIT_MS)
    assert b in station.banner.recollection_label.text()
    identify = station.identify_step
    qtbot.keyClicks(identify.dob_edit, "1980-03-04")
    identify.name_check.setChecked(True)
    QTest.keyClick(identify.dob_edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: station.step is Step.PLAN, timeout=WAIT_MS)
    assert [plan.row_at(i).test_codes for i in range(plan.rowCount())] == [("CBC",)]
    QTest.keyClick(station.plan_step, Qt.Key.Key_K, Qt.KeyboardModifier.ControlModifier)
    QTest.keyClick(station.collect_step, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: station.step is Step.LABELS, timeout=WAIT_MS)
    wait_view(qtbot, station, lambda v: len(v.specimens) == 1)
    view = station.controller.encounter
    assert view is not None
    (b2,) = [s.accession for s in view.specimens]
    assert b2 not in (a, b)
    assert list(print_and_decode(qtbot, window, labels_dir).values()) == [b2]
    scan_back_and_finish(qtbot, window, [b2])
    qtbot.waitUntil(lambda: find.recollect_model.rowCount() == 0, timeout=WAIT_MS)
    reload(qtbot, board)
    cbc_row, status, flags = shown_rows(board)["CBC"]
    assert (cbc_row.accession, status) == (b2, status_label(Status.COLLECTED))
    assert not {FlagReason.LOST, FlagReason.NO_RECOLLECTION} & set(cbc_row.reasons)
    assert assert_counts_agree(world, board) == {FlagReason.CRITICAL_NOT_ACKNOWLEDGED: 1}

    # 7. The board, the counts and the timelines agree for every specimen of the day.
    clock.advance(timedelta(hours=2, minutes=5))  # the new tube waits past its pickup grace
    reload(qtbot, board)
    displayed = shown_rows(board)
    with world.uow() as uow:
        everything = load_board(
            uow, clock, world.users["sam"], POLICY, BoardQuery(include_closed=True),
            audit=False, page_size=100_000,
        )  # fmt: skip
    assert {r.test_code: r for r in everything.rows} == {
        code: row for code, (row, _status, _flags) in displayed.items()
    }
    for row, status, flags in displayed.values():
        assert (status, flags) == (status_label(row.status), flags_text(row))
    assert assert_counts_agree(world, board) == {
        FlagReason.CRITICAL_NOT_ACKNOWLEDGED: 1,
        FlagReason.NOT_PICKED_UP: 1,
    }
    assert displayed["K"][0].reasons == (FlagReason.CRITICAL_NOT_ACKNOWLEDGED,)
    assert displayed["CBC"][0].reasons == (FlagReason.NOT_PICKED_UP,)
    drawn = (Kind.COLLECTED, Kind.LABELLED, Kind.VERIFIED)
    expected = {
        a: (SpecimenStatus.RECEIVED, (*drawn, Kind.PICKED_UP, Kind.RECEIVED)),
        b: (
            SpecimenStatus.LOST,
            (*drawn, Kind.PICKED_UP, Kind.LOST, Kind.RECOLLECTION_REQUESTED, Kind.RECOLLECTED),
        ),  # issue 13: the original is marked "recollected by" its replacement
        b2: (SpecimenStatus.VERIFIED, drawn),
    }
    by_accession = {r.accession: r for r in everything.rows}
    assert set(by_accession) == {a, b2}  # B's test moved to its recollection
    with world.uow() as uow:
        for accession, (specimen_status, kinds) in expected.items():
            timeline = specimen_timeline(uow, world.users["alex"], accession=accession)
            assert timeline.verified, accession
            assert timeline.status is specimen_status, accession
            assert tuple(e.kind for e in timeline.entries) == kinds, accession
            replayed: SpecimenStatus | None = None
            for entry in timeline.entries:
                replayed = next_status(replayed, entry.kind)
            assert replayed is specimen_status, accession  # the last event that moves it
    assert by_accession[a].status is Status.FINAL
    assert by_accession[b2].status is Status.COLLECTED
