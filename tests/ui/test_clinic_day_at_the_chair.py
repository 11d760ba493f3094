"""Issue 13 where its features meet: a morning at the chair off the happy path, on screen.

Three patients and one lost tube, through the real screens (station, courier, lab
receiving, results board; the lab's results arrive as HL7 messages):

* A (John): a 2-hour OGTT. At 09:00 he ate at 03:00 (6 h, 8 h needed): rescheduled, the
  board says why. At 11:00 fasting is met: fasting draw, 1H drawn late with a reason that
  goes to the lab (NTE), 2H pending with its countdown.
* B (Jane): CMP and CBC. The lab rejects the serum tube (haemolysed) and the CBC tube never
  arrives (lost, coded "not in the bag"); the board flags both; both are drawn again from
  "To recollect" and the flags clear; an add-on to the new tube is allowed (ADD-ON label),
  one to the rejected tube is refused with the reason.
* C (Tobi, 4 kg): the plan is over 5 % of his blood volume, pediatric tubes bring it under;
  an add-on to his full microtainer is refused for volume.

Where the features met, this found (and checks): the last patient's preparation question,
answer and blood-volume check shown to the next patient (and blocking Collect); a reschedule
that said nothing; a clinician's add-on from the board turned into a label-permission error;
collect-step rows pushed down by every earlier visit's layout stretch; a timed draw whose
window closed, "missed" at the station but unflagged on the board (a scheduled step's window
is now its collection deadline).

At the end the board rows, the counts strip and every specimen's timeline agree. Every label
printed is decoded with zxing-cpp. Screenshots go to /work/notes/s21/shots only when
``LABDESK_SHOTS`` is set (CI writes nothing).
"""

from __future__ import annotations

import dataclasses
import io
import os
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import zxingcpp
from custody_world import World
from PIL import Image
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QInputDialog, QLabel, QLineEdit, QMessageBox, QWidget
from pytestqt.qtbot import QtBot

from labdesk.bootstrap import Core
from labdesk.custody.dto import SpecimenTimeline
from labdesk.custody.timeline import specimen_timeline
from labdesk.domain.clock import FixedClock
from labdesk.domain.custody import CustodyEventKind as Kind
from labdesk.domain.custody import next_status
from labdesk.domain.loss import LossReason
from labdesk.domain.order import TestStatus as Status
from labdesk.domain.overdue import FlagReason
from labdesk.domain.patient import Patient, PatientIdentifier, Sex
from labdesk.domain.people import Station
from labdesk.domain.preparation import PreparationKind
from labdesk.domain.recollection import RejectionReason
from labdesk.domain.specimen import SpecimenStatus
from labdesk.interface.ingest import Ingestor
from labdesk.kernel.dto import SignedInUser
from labdesk.ports import UnitOfWork
from labdesk.results.board import load_board
from labdesk.results.board_dto import BoardRow
from labdesk.results.board_query import BoardQuery
from printers.manifest_pdf import PdfManifestPrinter
from tests.integration.hl7_world import group, obx, oru
from tests.ui.station_window import open_station_window, place_order, scan, station_of, wait_view
from tests.ui.test_clinic_day import (
    POLICY,
    answer_next_question,
    assert_counts_agree,
    courier_scan,
    lab_column,
    reload,
    results_page,
)
from ui.app import context_of
from ui.context import AppContext
from ui.custody.courier_page import CourierPage
from ui.custody.receiving_page import LabReceivingPage
from ui.main_window import MainWindow
from ui.results.board_model import flags_text, reason_label, status_label
from ui.results.dialogs import ResultDetailDialog
from ui.results.page import ResultsPage
from ui.station.banner import Step
from ui.station.page import StationPage
from ui.tasks import wait_for_background_jobs
from ui.widgets.add_on_dialog import AddOnDialog

STATION = "DRAW-2"  # the ui conftest's station code
WAIT_MS = 10_000
CHILD = "M100099"
BORN = {"M100001": "1980-03-04", "M100002": "1975-11-20", CHILD: "2022-01-10"}
STATUS_COLUMN, FLAGS_COLUMN = 5, 0
SHOTS = os.environ.get("LABDESK_SHOTS")
SHOTS_DIR = Path("/work/notes/s21/shots")


def shot(widget: QWidget, name: str) -> None:
    """Grab ``widget`` into the shots folder, only when ``LABDESK_SHOTS`` is set (not in CI)."""
    if not SHOTS:
        return
    SHOTS_DIR.mkdir(parents=True, exist_ok=True)
    path = SHOTS_DIR / f"chair_{name}.png"
    assert widget.grab().save(str(path)), f"could not save {path}"


# ---------------------------------------------------------------- the clinic


@pytest.fixture
def labels_dir(tmp_path: Path) -> Path:
    return tmp_path / "labels"


@pytest.fixture
def world(
    core: Core, clock: FixedClock, user_named: Callable[[str], SignedInUser], labels_dir: Path
) -> World:
    """Chair 2 at CLINIC (09:00 in New York); John's OGTT, Jane's chemistry, Tobi's bloods."""
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
        child = Patient(
            mrn=CHILD,
            family_name="Okafor",
            given_name="Tobi",
            birth_date=date(2022, 1, 10),
            sex=Sex.MALE,
            created_at=clock.now(),
        )
        uow.patients.add(child)
        uow.patients.flush()
        ids = {}
        for mrn in ("M100001", "M100002", CHILD):
            patient = uow.patients.by_mrn(mrn)
            assert patient is not None
            assert patient.id is not None
            ids[mrn] = patient.id
            uow.patients.add_identifier(
                PatientIdentifier(patient_id=patient.id, system="wristband", value=f"WB{mrn}")
            )
        uow.commit()
    place_order(core, ids["M100001"], ("GTT0", "GTT1H", "GTT2H"), "EHR-A-OGTT")
    place_order(core, ids["M100002"], ("CMP", "CBC"), "EHR-B-CHEM")
    place_order(core, ids[CHILD], ("CMP", "LFT", "K", "CBC", "PTINR"), "EHR-C-PEDS")
    return world


@pytest.fixture
def context(core: Core, world: World) -> AppContext:
    return context_of(core)


@pytest.fixture
def window(qtbot: QtBot, context: AppContext, world: World) -> Iterator[MainWindow]:
    window = open_station_window(qtbot, context, world.users["maria"], height=900)
    yield window
    wait_for_background_jobs()


# ---------------------------------------------------------------- station helpers


def open_patient(qtbot: QtBot, page: StationPage, mrn: str) -> None:
    """F2 (next patient), then the wristband scanned: up to the plan."""
    page.window().activateWindow()  # back from another screen's window
    qtbot.waitUntil(page.window().isActiveWindow, timeout=WAIT_MS)
    QTest.keyClick(page, Qt.Key.Key_F2)
    qtbot.waitUntil(lambda: page.step is Step.FIND, timeout=WAIT_MS)
    page.search_edit.setFocus()
    scan(qtbot, f"WB{mrn}")
    wait_view(qtbot, page, lambda v: v.identified and v.patient.mrn == mrn)
    qtbot.waitUntil(lambda: page.step is Step.PLAN, timeout=WAIT_MS)


def confirm_patient(qtbot: QtBot, page: StationPage, mrn: str) -> None:
    """A task opened from a worklist: date of birth and name confirm the patient."""
    qtbot.waitUntil(lambda: page.step is Step.IDENTIFY, timeout=WAIT_MS)
    step = page.identify_step
    qtbot.keyClicks(step.dob_edit, BORN[mrn])
    step.name_check.setChecked(True)
    QTest.keyClick(step.dob_edit, Qt.Key.Key_Return)
    wait_view(qtbot, page, lambda v: v.identified)
    qtbot.waitUntil(lambda: page.step is Step.PLAN, timeout=WAIT_MS)


def planned(page: StationPage) -> list[tuple[str, tuple[str, ...]]]:
    plan = page.plan_step.plan_model
    rows = [plan.row_at(i) for i in range(plan.rowCount())]
    return [(r.container_code, tuple(r.test_codes)) for r in rows]


def answer_fasting(qtbot: QtBot, page: StationPage, last_ate: str) -> None:
    panel = page.plan_step.preparation
    qtbot.waitUntil(lambda: bool(panel.requirements), timeout=WAIT_MS)
    assert [r.kind for r in panel.requirements] == [PreparationKind.FASTING]
    assert not page.plan_step.collect_button.isEnabled()  # asked before Collect
    field = panel.question_field(PreparationKind.FASTING)
    assert isinstance(field, QLineEdit)
    field.setFocus()
    qtbot.keyClicks(field, last_ate)


def save_collection(qtbot: QtBot, page: StationPage, tubes: int) -> dict[str, str]:
    """Ctrl+S on the collect step, up to the labels: the accessions by container."""
    QTest.keyClick(page.collect_step, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    wait_view(qtbot, page, lambda v: len(v.specimens) == tubes)  # says why, if refused
    qtbot.waitUntil(lambda: page.step is Step.LABELS, timeout=WAIT_MS)
    view = page.controller.encounter
    assert view is not None
    return {s.container_code: s.accession for s in view.specimens}


def print_scan_finish(
    qtbot: QtBot, page: StationPage, labels_dir: Path, printed_text: str = ""
) -> list[str]:
    """Ctrl+P; every new label decoded (one barcode each, the tubes' accessions), each
    scanned back, Ctrl+Enter. ``printed_text`` must be printed on every new ZPL label."""
    before = set(labels_dir.glob("*")) if labels_dir.exists() else set()
    printed: list[Any] = []
    page.controller.printed.connect(printed.append)
    QTest.keyClick(page.labels_step, Qt.Key.Key_P, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: bool(printed), timeout=WAIT_MS)
    page.controller.printed.disconnect(printed.append)
    assert printed[0].all_printed
    wait_view(qtbot, page, lambda v: all(s.labelled for s in v.specimens))
    view = page.controller.encounter
    assert view is not None
    accessions = sorted(s.accession for s in view.specimens)
    new = set(labels_dir.glob("*")) - before
    decoded = []
    for png in sorted(p for p in new if p.suffix == ".png"):
        (text,) = [d.text for d in zxingcpp.read_barcodes(Image.open(png))]
        decoded.append(text)
    assert sorted(decoded) == accessions  # one label per tube, each its own
    preview = zxingcpp.read_barcodes(Image.open(io.BytesIO(printed[0].preview_png)))
    assert preview[0].text in accessions
    zpls = [p.read_text(encoding="utf-8") for p in new if p.suffix == ".zpl"]
    assert len(zpls) == len(accessions)
    for zpl in zpls:
        assert printed_text in zpl
        assert any(a in zpl for a in accessions)
    page.labels_step.specimens_table.setFocus()
    for accession in accessions:
        scan(qtbot, accession)
    wait_view(qtbot, page, lambda v: all(s.verified for s in v.specimens))
    QTest.keyClick(page.labels_step, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: page.step is Step.FIND, timeout=WAIT_MS)
    return accessions


# ---------------------------------------------------------------- board helpers

Key = tuple[str, str]  # (MRN, test code)


def board_rows(page: ResultsPage) -> dict[Key, tuple[BoardRow, str, str]]:
    """Every row shown, by patient and test, with its Status and Flags cells as displayed."""
    rows: dict[Key, tuple[BoardRow, str, str]] = {}
    for n in range(page.model.rowCount()):
        row = page.model.row_at(n)
        assert row is not None
        key = (row.mrn, row.test_code)
        assert key not in rows, f"{key} is on the board twice"
        rows[key] = (
            row,
            page.model.index(n, STATUS_COLUMN).data(),
            page.model.index(n, FLAGS_COLUMN).data(),
        )
    return rows


def select_row(qtbot: QtBot, page: ResultsPage, key: Key) -> None:
    for n in range(page.model.rowCount()):
        row = page.model.row_at(n)
        if row is not None and (row.mrn, row.test_code) == key:
            page.table.clearSelection()
            page.table.selectRow(n)
            return
    raise AssertionError(f"{key} is not on the board")


def board_add_on(
    qtbot: QtBot, page: ResultsPage, key: Key, code: str, accession: str = ""
) -> AddOnDialog:
    """The board's add-on dialog for the selected row, ``code`` picked and checked."""
    select_row(qtbot, page, key)
    page.add_on_button.click()
    dialog = page.add_on_dialog
    assert dialog is not None
    qtbot.addWidget(dialog)
    qtbot.waitUntil(lambda: dialog.test_combo.count() > 10, timeout=WAIT_MS)
    if accession:  # a tube no row names any more: typed over the row's
        dialog.accession_edit.selectAll()
        qtbot.keyClicks(dialog.accession_edit, accession)
    dialog.select_test(code)
    QTest.keyClick(dialog.accession_edit, Qt.Key.Key_Return)  # checks
    qtbot.waitUntil(lambda: dialog.preview is not None, timeout=WAIT_MS)
    return dialog


def pending_note(qtbot: QtBot, page: ResultsPage, key: Key, monkeypatch: Any) -> str:
    """The text of the row's detail dialog (opened as a user would, from the board)."""
    shown: list[ResultDetailDialog] = []
    monkeypatch.setattr(ResultDetailDialog, "exec", lambda self: shown.append(self) or 0)
    select_row(qtbot, page, key)
    with qtbot.waitSignal(page.detail_loaded, timeout=WAIT_MS):
        page.open_selected()
    (dialog,) = shown
    qtbot.addWidget(dialog)
    return " ".join(label.text() for label in dialog.findChildren(QLabel))


def _decode_png(png: bytes) -> str:
    (text,) = [d.text for d in zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))]
    return text


# ---------------------------------------------------------------- the morning


def test_a_morning_at_the_chair_off_the_happy_path(
    qtbot: QtBot,
    window: MainWindow,
    context: AppContext,
    world: World,
    clock: FixedClock,
    password: str,
    labels_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    page = station_of(window)
    find = page.find_step

    # 1. 09:00, John (A): his OGTT asks when he last ate; 03:00 is 6 h: rescheduled.
    open_patient(qtbot, page, "M100001")
    assert planned(page) == [("GRAY", ("GTT0",))]  # the later draws wait for the first
    answer_fasting(qtbot, page, "03:00")
    panel = page.plan_step.preparation
    qtbot.waitUntil(lambda: panel.reschedule_button.isVisibleTo(panel), timeout=WAIT_MS)
    assert not page.plan_step.collect_button.isEnabled()
    shot(window, "1_a_not_fasting")

    def reason(_parent: object, _title: str, _label: str, text: str = "") -> tuple[str, bool]:
        return f"{text}; back at 11:00 without eating", True

    monkeypatch.setattr("ui.station.page.QInputDialog.getText", reason)
    panel.reschedule_button.click()
    wait_view(qtbot, page, lambda v: len(v.missed_test_ids) == 1)
    monkeypatch.undo()
    assert page.message.text() == (
        "1 test(s) rescheduled: they stay pending, the reason is on the board. "
        "Nothing else to draw: close the visit (Ctrl+Shift+X)."
    )
    shot(window, "1b_a_rescheduled")
    # Nothing drawn: the visit is closed with Ctrl+Shift+X (no reason asked) and John leaves.
    keys = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier
    QTest.keyClick(page, Qt.Key.Key_X, keys)
    qtbot.waitUntil(lambda: page.step is Step.FIND, timeout=WAIT_MS)

    # 2. 09:05, Jane (B): CMP and CBC, two tubes.
    clock.advance(timedelta(minutes=5))
    open_patient(qtbot, page, "M100002")
    assert sorted(planned(page)) == [("LAV", ("CBC",)), ("SST", ("CMP",))]
    # Nothing of John's visit is shown for Jane, even before her checks arrive: not his
    # fasting question with his answer, not his plan's blood.
    assert page.plan_step.preparation.requirements == ()
    assert not page.plan_step.preparation.isVisibleTo(page.plan_step)
    volume = page.plan_step.volume
    assert not volume.isVisibleTo(page.plan_step) or "9 mL" in volume.summary.text()
    qtbot.waitUntil(lambda: page.plan_step.collect_button.isEnabled(), timeout=WAIT_MS)
    QTest.keyClick(page.plan_step, Qt.Key.Key_K, Qt.KeyboardModifier.ControlModifier)
    b_tubes = save_collection(qtbot, page, 2)
    print_scan_finish(qtbot, page, labels_dir)
    b_sst, b_lav = b_tubes["SST"], b_tubes["LAV"]

    # 3. 09:15, Tobi (C), 4 kg: 16.2 mL is over 5 % of 300 mL; pediatric tubes fit.
    clock.advance(timedelta(minutes=10))
    open_patient(qtbot, page, CHILD)
    assert sorted(c for c, _ in planned(page)) == ["LAV", "LBLU", "PST", "SST"]
    qtbot.waitUntil(lambda: volume.isVisible(), timeout=WAIT_MS)
    volume.weight_edit.setFocus()
    qtbot.keyClicks(volume.weight_edit, "4")
    QTest.keyClick(volume.weight_edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: volume.check is not None and volume.check.over, timeout=WAIT_MS)
    assert "Over the limit by 1.2 mL" in volume.summary.text()
    assert not page.plan_step.collect_button.isEnabled()
    shot(page.plan_step, "2_c_over_the_limit")
    volume.pediatric_check.setFocus()
    QTest.keyClick(volume.pediatric_check, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: volume.check is not None and not volume.check.over, timeout=WAIT_MS)
    assert sorted(planned(page)) == [
        ("LAVM", ("CBC",)),
        ("LBLUP", ("PTINR",)),
        ("PSTM", ("K",)),
        ("SSTM", ("CMP", "LFT")),
    ]
    assert page.plan_step.collect_button.isEnabled()
    shot(page.plan_step, "3_c_pediatric_tubes")
    QTest.keyClick(page.plan_step, Qt.Key.Key_K, Qt.KeyboardModifier.ControlModifier)
    c_tubes = save_collection(qtbot, page, 4)
    print_scan_finish(qtbot, page, labels_dir)
    # Tobi's visit is over: his pediatric choice and his weight stay with him.
    assert not page.pediatric
    assert not volume.pediatric_check.isChecked()
    assert volume.weight_edit.placeholderText() == "weight in kg"

    # 4. 09:25, the courier takes the six tubes.
    clock.advance(timedelta(minutes=10))
    printer = PdfManifestPrinter(f"pdf://{(tmp_path / 'manifest.pdf').as_posix()}")
    courier = CourierPage(
        dataclasses.replace(context, manifest_printer=printer), world.users["chris"]
    )
    qtbot.addWidget(courier)
    courier.resize(1280, 800)
    qtbot.waitUntil(lambda: courier.site_box.count() == 2, timeout=WAIT_MS)
    with qtbot.waitSignal(courier.manifest_loaded, timeout=WAIT_MS):
        courier.start_button.click()
    shipped = [b_sst, b_lav, *c_tubes.values()]
    assert courier.ready_model.rowCount() == len(shipped)
    outcomes = courier_scan(qtbot, courier, *shipped)
    assert {o.code.value for o in outcomes} == {"added"}
    monkeypatch.setattr(QMessageBox, "question", lambda *_a: QMessageBox.StandardButton.Yes)
    monkeypatch.setattr(QInputDialog, "getText", lambda *_a, **_k: (password, True))
    with qtbot.waitSignal(courier.printed, timeout=WAIT_MS):
        courier.finish_button.click()
    monkeypatch.undo()
    assert courier.manifest is not None
    manifest = courier.manifest.number

    # 5. 09:55, the lab: Jane's SST haemolysed (rejected), her lavender not in the bag.
    clock.advance(timedelta(minutes=30))
    lab = LabReceivingPage(context, world.users["lena"])
    qtbot.addWidget(lab)
    lab.resize(1280, 800)
    received = courier_scan(qtbot, lab, manifest, b_sst, *c_tubes.values())[1:]
    assert {r.code.value for r in received} == {"received"}
    monkeypatch.setattr(
        "ui.custody.receiving_page.ask_rejection",
        lambda *_a, **_k: (RejectionReason.HAEMOLYSED, "grossly haemolysed"),
    )
    proxy = lab.table.model()
    (at,) = [n for n in range(lab.model.rowCount()) if lab.model.row_at(n).accession == b_sst]
    lab.table.selectRow(proxy.mapFromSource(lab.model.index(at, 0)).row())  # type: ignore[attr-defined]
    lab.reject_button.click()
    qtbot.waitUntil(lambda: world.status(b_sst) is SpecimenStatus.REJECTED, timeout=WAIT_MS)
    monkeypatch.undo()
    asked = answer_next_question(qtbot, QMessageBox.StandardButton.Yes)
    with qtbot.waitSignal(lab.closed, timeout=WAIT_MS) as closed:
        lab.close_button.click()
    (question,) = asked
    assert b_lav in question
    assert closed.args[0].reported_lost == (b_lav,)
    qtbot.waitUntil(lambda: lab_column(lab).get(b_lav) == "Lost", timeout=WAIT_MS)
    assert lab_column(lab)[b_sst] == "Rejected"
    shot(lab, "4_lab_rejected_and_lost")

    # 6. The board: the lost tube is flagged at once; the rejected one waits for its grace.
    board = results_page(qtbot, context, world)
    _, cmp_status, cmp_flags = board_rows(board)[("M100002", "CMP")]
    assert (cmp_status, cmp_flags) == ("Rejected", "Awaiting recollection")

    # 10:55: A's pending fasting draw says why; B's two tubes flagged.
    clock.advance(timedelta(minutes=60))
    reload(qtbot, board)
    rows = board_rows(board)
    a_fasting, a_status, _ = rows[("M100001", "GTT0")]
    assert (a_fasting.status, a_status) == (Status.ORDERED, status_label(Status.ORDERED))
    note = pending_note(qtbot, board, ("M100001", "GTT0"), monkeypatch)
    assert "Rescheduled: fasting not met (needs 8 h, 6 h 00 min)" in note, note
    assert "back at 11:00 without eating" in note
    _, cmp_status, cmp_flags = rows[("M100002", "CMP")]
    assert cmp_status == "Rejected"
    assert reason_label(FlagReason.NO_RECOLLECTION) in cmp_flags
    _, cbc_status, cbc_flags = rows[("M100002", "CBC")]
    assert cbc_status == "Lost"
    assert "Lost, not recollected" in cbc_flags
    counts = assert_counts_agree(world, board)
    assert counts[FlagReason.LOST] == 1
    assert counts[FlagReason.NO_RECOLLECTION] == 1
    shot(board, "5_board_rejected_lost")
    with world.uow() as uow:
        lost = specimen_timeline(uow, world.users["sam"], accession=b_lav)
    (loss,) = [e for e in lost.entries if e.kind is Kind.LOST]
    assert loss.reason == LossReason.NOT_IN_BAG.value  # the loss is coded

    # 7. 11:00, Jane is drawn again from "To recollect"; both flags clear.
    clock.advance(timedelta(minutes=5))
    window.activateWindow()
    QTest.keyClick(page, Qt.Key.Key_F2)
    find.reload_worklist()
    qtbot.waitUntil(lambda: find.recollect_model.rowCount() == 2, timeout=WAIT_MS)
    new_b: dict[str, str] = {}
    for left in (2, 1):
        qtbot.waitUntil(lambda n=left: find.recollect_model.rowCount() == n, timeout=WAIT_MS)
        find.worklist_tabs.setCurrentWidget(find.recollect_table)
        find.recollect_table.setFocus()
        find.recollect_table.selectRow(0)
        QTest.keyClick(find.recollect_table, Qt.Key.Key_Return)
        confirm_patient(qtbot, page, "M100002")
        assert len(planned(page)) == 1  # the task's tube only
        QTest.keyClick(page.plan_step, Qt.Key.Key_K, Qt.KeyboardModifier.ControlModifier)
        new_b.update(save_collection(qtbot, page, 1))
        print_scan_finish(qtbot, page, labels_dir)
        find.reload_worklist()
    qtbot.waitUntil(lambda: find.recollect_model.rowCount() == 0, timeout=WAIT_MS)
    assert set(new_b) == {"SST", "LAV"}
    b_sst2, b_lav2 = new_b["SST"], new_b["LAV"]
    reload(qtbot, board)
    rows = board_rows(board)
    for code, accession in (("CMP", b_sst2), ("CBC", b_lav2)):
        row, status, _ = rows[("M100002", code)]
        assert (row.accession, status) == (accession, status_label(Status.COLLECTED))
        assert not {FlagReason.LOST, FlagReason.NO_RECOLLECTION} & set(row.reasons)
    counts = assert_counts_agree(world, board)
    assert FlagReason.LOST not in counts
    assert FlagReason.NO_RECOLLECTION not in counts

    # 8. Add-ons. At the chair (Ctrl+Shift+D) the MA adds TSH to the new SST: allowed, its
    #    label prints again marked ADD-ON. From the board Dr. Patel adds FT4 (allowed; his
    #    role prints no labels, so none is offered); TSH to the rejected tube is refused with
    #    the reason; TSH to Tobi's full microtainer is refused: not enough serum left.
    window.activateWindow()
    page.setFocus()
    keys = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier
    QTest.keyClick(page, Qt.Key.Key_D, keys)
    qtbot.waitUntil(lambda: page.add_on_dialog is not None, timeout=WAIT_MS)
    dialog = page.add_on_dialog
    assert dialog is not None
    qtbot.waitUntil(lambda: dialog.test_combo.count() > 10, timeout=WAIT_MS)
    qtbot.keyClicks(dialog.accession_edit, b_sst2)
    dialog.select_test("TSH")
    qtbot.keyClicks(dialog.requester_edit, "Dr. Sam Patel (phone)")
    QTest.keyClick(dialog.accession_edit, Qt.Key.Key_Return)  # checks
    qtbot.waitUntil(lambda: dialog.preview is not None, timeout=WAIT_MS)
    assert dialog.add_button.isEnabled(), dialog.verdict.text()
    before = set(labels_dir.glob("*"))
    with qtbot.waitSignal(dialog.printed, timeout=WAIT_MS) as printed:
        dialog.add_button.click()
    assert _decode_png(printed.args[0][0].preview_png) == b_sst2
    new_files = set(labels_dir.glob("*")) - before
    (png,) = [p for p in new_files if p.suffix == ".png"]
    assert [d.text for d in zxingcpp.read_barcodes(Image.open(png))] == [b_sst2]
    (zpl,) = [p.read_text(encoding="utf-8") for p in new_files if p.suffix == ".zpl"]
    assert "ADD-ON TSH" in zpl
    assert b_sst2 in zpl
    shot(dialog, "6_add_on_allowed")
    dialog.close()

    reload(qtbot, board)
    dialog = board_add_on(qtbot, board, ("M100002", "CMP"), "FT4")
    assert dialog.accession_edit.text() == b_sst2
    assert dialog.add_button.isEnabled(), dialog.verdict.text()
    assert not dialog.reprint_check.isEnabled()  # a clinician prints no labels
    assert not dialog.reprint_check.isChecked()
    with qtbot.waitSignal(dialog.added, timeout=WAIT_MS):
        dialog.add_button.click()
    assert dialog.verdict.text().startswith(f"FT4 added to {b_sst2}")
    dialog.close()

    dialog = board_add_on(qtbot, board, ("M100002", "CMP"), "TSH", accession=b_sst)
    assert not dialog.add_button.isEnabled()
    assert "the specimen was rejected by the lab" in dialog.verdict.text()
    assert dialog.order_button.isVisibleTo(dialog)  # a new collection is offered
    shot(dialog, "7_add_on_rejected_tube")
    dialog.close()

    dialog = board_add_on(qtbot, board, (CHILD, "CMP"), "TSH")
    assert dialog.accession_edit.text() == c_tubes["SSTM"]
    assert not dialog.add_button.isEnabled()
    assert "not enough serum left: 0 of 0.2 mL" in dialog.verdict.text()
    shot(dialog, "8_add_on_no_volume")
    dialog.close()

    # 9. 11:10, John again: fasting met (03:00 is 8 h ago). The fasting draw.
    clock.advance(timedelta(minutes=10))
    window.activateWindow()
    open_patient(qtbot, page, "M100001")
    assert planned(page) == [("GRAY", ("GTT0",))]
    answer_fasting(qtbot, page, "03:00")
    qtbot.waitUntil(lambda: page.plan_step.collect_button.isEnabled(), timeout=WAIT_MS)
    QTest.keyClick(page.plan_step, Qt.Key.Key_K, Qt.KeyboardModifier.ControlModifier)
    (row_widget,) = page.collect_step.rows
    if row_widget.fasting is not None:
        row_widget.fasting.setCurrentIndex(1)  # "Fasting"
    a0 = save_collection(qtbot, page, 1)["GRAY"]
    print_scan_finish(qtbot, page, labels_dir, "OGTT FASTING")
    timed = find.timed_panel
    qtbot.waitUntil(lambda: timed.model.rowCount() == 1, timeout=WAIT_MS)
    assert timed.model.data(timed.model.index(0, 1)) == "OGTT 1H"

    # 10. 12:20, 1H ten minutes late: the reason is asked for and goes to the lab (NTE).
    clock.advance(timedelta(minutes=70))
    open_patient(qtbot, page, "M100001")
    assert planned(page) == [("GRAY", ("GTT1H",))]
    QTest.keyClick(page.plan_step, Qt.Key.Key_K, Qt.KeyboardModifier.ControlModifier)
    (row_widget,) = page.collect_step.rows
    # The fifth collection of the morning: its tube row is at the top of the step, not
    # pushed down by the earlier visits' layout.
    assert row_widget.geometry().top() < 40, row_widget.geometry()
    assert "late by 5 min" in row_widget.timing_label.text()
    QTest.keyClick(page.collect_step, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    assert page.step is Step.COLLECT  # nothing saved before the reason
    assert row_widget.timing_reason is not None
    row_widget.timing_reason.setFocus()
    qtbot.keyClicks(row_widget.timing_reason, "patient was at the X-ray desk")
    shot(window, "9_a_1h_late_reason")
    QTest.keyClick(row_widget.timing_reason, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: page.step is Step.LABELS, timeout=WAIT_MS)
    wait_view(qtbot, page, lambda v: len(v.specimens) == 1)
    (a1,) = print_scan_finish(qtbot, page, labels_dir, "OGTT 1H")
    with world.uow() as uow:
        message = uow.hl7.outbound_for_specimens(a1)
        assert message is not None
        payload = message.payload
    (nte,) = [s for s in payload.split("\r") if s.startswith("NTE|") and "Timed draw" in s]
    assert "late by 5 min); reason: patient was at the X-ray desk" in nte

    # 11. 2H pending, counting down; the lab sends Tobi's potassium (HL7).
    qtbot.waitUntil(
        lambda: (
            timed.model.rowCount() == 1 and timed.model.data(timed.model.index(0, 1)) == "OGTT 2H"
        ),
        timeout=WAIT_MS,
    )
    assert timed.model.data(timed.model.index(0, 4)) == "due in 0:50"
    find.worklist_tabs.setCurrentWidget(timed)
    shot(window, "10_a_2h_countdown")
    ingestor = Ingestor(context.uow, clock, timezone="UTC")
    message = oru(
        "CHAIR1",
        group("K", "F", obx("K", "4.4", units="mmol/L"), filler=c_tubes["PSTM"], placer=""),
        mrn=CHILD,
    ).replace("Testpatient^Alpha||19800102|F", "Okafor^Tobi||20220110|M")
    reply = ingestor.handle_frame(message, "lab")
    assert "MSA|AA" in reply.ack, reply.ack

    # 12. The board, the counts and every timeline agree: now (nothing overdue yet) and
    #     two hours later, when the new tubes wait past their pickup and the 2H is missed.
    reload(qtbot, board)
    rows = board_rows(board)
    steps = {code: rows[("M100001", code)][1] for code in ("GTT0", "GTT1H", "GTT2H")}
    assert steps == {
        "GTT0": status_label(Status.COLLECTED),
        "GTT1H": status_label(Status.COLLECTED),
        "GTT2H": status_label(Status.ORDERED),
    }
    assert rows[(CHILD, "K")][0].status is Status.FINAL
    assert assert_day_agrees(world, board, rows) == {}
    shot(board, "11_board_end_of_morning")

    clock.advance(timedelta(hours=2, minutes=5))  # 14:25 in New York
    reload(qtbot, board)
    rows = board_rows(board)
    shot(board, "12_board_afternoon")
    counts = assert_day_agrees(world, board, rows)
    waiting = {k for k, (r, _s, _f) in rows.items() if FlagReason.NOT_PICKED_UP in r.reasons}
    assert waiting == {
        ("M100001", "GTT0"), ("M100001", "GTT1H"),
        ("M100002", "CMP"), ("M100002", "CBC"), ("M100002", "TSH"), ("M100002", "FT4"),
    }  # fmt: skip
    assert counts[FlagReason.NOT_PICKED_UP] == len(waiting)
    timed.tick()  # the station says the 2H window closed (and the board flags it)
    assert timed.model.data(timed.model.index(0, 4)) == "missed (window closed 70 min ago)"

    # The links both ways, and the lab told which tube each recollection replaces.
    for old, new in ((b_sst, b_sst2), (b_lav, b_lav2)):
        assert world.kinds(old)[-2:] == [Kind.RECOLLECTION_REQUESTED, Kind.RECOLLECTED]
        with world.uow() as uow:
            old_line = intact_timeline(uow, world, old)
            new_line = intact_timeline(uow, world, new)
            message = uow.hl7.outbound_for_specimens(new)
            assert message is not None
            payload = message.payload
        assert old_line.entries[-1].note == f"recollected by {new}"
        assert new_line.entries[0].note.startswith(f"recollection of {old}")
        assert old in payload
    assert world.kinds(b_sst2).count(Kind.ADDED_ON) == 2
    assert world.status(b_sst) is SpecimenStatus.REJECTED
    assert world.status(b_lav) is SpecimenStatus.LOST
    assert (rows[("M100001", "GTT0")][0].accession, rows[("M100001", "GTT1H")][0].accession) == (
        a0,
        a1,
    )


def assert_day_agrees(
    world: World, page: ResultsPage, rows: dict[Key, tuple[BoardRow, str, str]]
) -> dict[FlagReason, int]:
    """The board shown, the database and the specimens' timelines tell one story.

    Every ordered test of the day is on exactly one row, in the state the database holds;
    each row's cells are its state's words; the counts strip counts the rows' flags; every
    specimen's timeline is intact and replays to its stored status, which fits the state of
    the tests it carries. Returns the counts raised.
    """
    with world.uow() as uow:
        everything = load_board(
            uow, world.clock, world.users["sam"], POLICY, BoardQuery(include_closed=True),
            audit=False, page_size=100_000,
        )  # fmt: skip
        ordered = {}
        for mrn in ("M100001", "M100002", CHILD):
            patient = uow.patients.by_mrn(mrn)
            assert patient is not None
            assert patient.id is not None
            orders = [o.id for o in uow.orders.active_for_patient(patient.id) if o.id]
            for test in uow.orders.tests_for_orders(orders):
                ordered[test.id] = (mrn, test.test_code, test.status, test.specimen_id)
        accession_of = {
            sid: uow.specimens.get(sid).accession  # type: ignore[union-attr,unused-ignore]
            for *_rest, sid in ordered.values()
            if sid is not None
        }
    by_test = Counter(r.ordered_test_id for r in everything.rows)
    assert set(by_test) == set(ordered)  # every ordered test of the day is on the board
    assert set(by_test.values()) == {1}  # on one row only
    assert {(r.mrn, r.test_code): r for r in everything.rows} == {k: v[0] for k, v in rows.items()}
    for row, status, flags in rows.values():
        mrn, code, stored, specimen_id = ordered[row.ordered_test_id]
        assert (row.mrn, row.test_code, row.status) == (mrn, code, stored)
        assert (row.accession or None) == (accession_of[specimen_id] if specimen_id else None)
        assert (status, flags) == (status_label(row.status), flags_text(row))
    counts = assert_counts_agree(world, page)
    assert sum(counts.values()) == sum(len(r.flags) for r, _s, _f in rows.values())
    fits = {  # a test's state, the states its tube may be in
        Status.COLLECTED: {SpecimenStatus.VERIFIED},
        Status.RECEIVED: {SpecimenStatus.RECEIVED},
        Status.FINAL: {SpecimenStatus.RECEIVED},
    }
    with world.uow() as uow:
        for row, _status, _flags in rows.values():
            if not row.accession:
                continue
            timeline = intact_timeline(uow, world, row.accession)
            assert timeline.status in fits[row.status], (row.test_code, timeline.status)
    return counts


def test_the_board_flags_a_timed_draw_whose_window_closed(
    qtbot: QtBot, window: MainWindow, context: AppContext, world: World, clock: FixedClock,
    labels_dir: Path,
) -> None:  # fmt: skip
    page = station_of(window)
    open_patient(qtbot, page, "M100001")
    answer_fasting(qtbot, page, "21:30")  # 11.5 h: met
    qtbot.waitUntil(lambda: page.plan_step.collect_button.isEnabled(), timeout=WAIT_MS)
    QTest.keyClick(page.plan_step, Qt.Key.Key_K, Qt.KeyboardModifier.ControlModifier)
    (row_widget,) = page.collect_step.rows
    if row_widget.fasting is not None:
        row_widget.fasting.setCurrentIndex(1)  # "Fasting"
    save_collection(qtbot, page, 1)
    print_scan_finish(qtbot, page, labels_dir, "OGTT FASTING")
    clock.advance(timedelta(hours=2, minutes=30))  # past both the 1H and the 2H window
    timed = page.find_step.timed_panel
    qtbot.waitUntil(lambda: timed.model.rowCount() == 1, timeout=WAIT_MS)
    timed.tick()
    assert str(timed.model.data(timed.model.index(0, 4))).startswith("missed")
    board = results_page(qtbot, context, world)
    rows = board_rows(board)
    assert rows[("M100001", "GTT1H")][0].flags, flags_text(rows[("M100001", "GTT1H")][0])


def intact_timeline(uow: UnitOfWork, world: World, accession: str) -> SpecimenTimeline:
    """The specimen's timeline, checked: its chain verifies, and replaying its events
    ends in the status stored on the specimen (the last event that moves it says so)."""
    timeline = specimen_timeline(uow, world.users["alex"], accession=accession)
    assert timeline.verified, accession
    replayed: SpecimenStatus | None = None
    for entry in timeline.entries:
        replayed = next_status(replayed, entry.kind)
    stored = uow.specimens.by_accession(accession)
    assert stored is not None
    assert replayed is timeline.status is stored.status, accession
    return timeline
