"""Preparation and blood volume through the station screen (pytest-qt), labels decoded.

A fasting glucose whose patient ate six hours ago: the plan step asks when they last ate,
Collect stays disabled until the answer and then a 'collect anyway' comment are given, and
the answer reaches the specimen and the lab's message. A 4 kg child whose plan is over the
24 h blood-volume limit: the weight is typed at the chair, the plan says by how much, and
the pediatric tubes bring it within the limit; every label decodes to its tube.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import zxingcpp
from PIL import Image
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QLabel, QLineEdit, QWidget
from pytestqt.qtbot import QtBot

from labdesk.bootstrap import Core
from labdesk.domain.forensic import ForensicForm
from labdesk.domain.patient import Patient, PatientIdentifier, Sex
from labdesk.domain.people import Site, Station
from labdesk.domain.preparation import PreparationKind
from labdesk.kernel.dto import SignedInUser
from tests.ui.station_window import open_station_window, place_order, scan, station_of, wait_view
from ui.app import context_of
from ui.context import AppContext
from ui.main_window import MainWindow
from ui.results.dialogs import ResultDetailDialog
from ui.results.page import ResultsPage
from ui.station.banner import Step
from ui.station.page import StationPage
from ui.tasks import wait_for_background_jobs

STATION = "DRAW-2"
WAIT_MS = 10_000
CHILD_MRN = "M100099"


@pytest.fixture
def labels_dir(tmp_path: Path) -> Path:
    return tmp_path / "labels"


@pytest.fixture
def chair_core(core: Core, labels_dir: Path) -> Core:
    """The station, Jane's fasting glucose and lipids and a 4-year-old's four blood tests."""
    with core.uow() as uow:
        site = Site(code="CLINIC", name="Riverside", timezone="America/New_York")
        uow.people.add(site)
        uow.people.flush()
        assert site.id is not None
        uow.people.add(
            Station(
                code=STATION, name="Chair 2", site_id=site.id,
                label_printer_uri=f"file://{labels_dir}",
            )
        )  # fmt: skip
        jane = uow.patients.by_mrn("M100002")
        child = Patient(
            mrn=CHILD_MRN,
            family_name="Okafor",
            given_name="Tobi",
            birth_date=date(2022, 1, 10),
            sex=Sex.MALE,
            created_at=core.clock.now(),
        )
        uow.patients.add(child)
        uow.patients.flush()
        assert jane is not None
        assert jane.id is not None
        assert child.id is not None
        for patient_id, mrn in ((jane.id, "M100002"), (child.id, CHILD_MRN)):
            uow.patients.add_identifier(
                PatientIdentifier(patient_id=patient_id, system="wristband", value=f"WB{mrn}")
            )
        uow.commit()
        ids = (jane.id, child.id)
    place_order(core, ids[0], ("GLUF", "LIPID"), "EHR-FAST")
    place_order(core, ids[1], ("CMP", "K", "CBC", "PTINR"), "EHR-CHILD")
    return core


@pytest.fixture
def context(chair_core: Core) -> AppContext:
    return context_of(chair_core)


@pytest.fixture
def window(
    qtbot: QtBot, context: AppContext, user_named: Callable[[str], SignedInUser]
) -> Iterator[MainWindow]:
    window = open_station_window(qtbot, context, user_named("maria"), height=900)
    yield window
    wait_for_background_jobs()


def _open(qtbot: QtBot, page: StationPage, mrn: str) -> None:
    qtbot.waitUntil(lambda: page.find_step.waiting_model.rowCount() == 2, timeout=WAIT_MS)
    page.search_edit.setFocus()
    scan(qtbot, f"WB{mrn}")
    wait_view(qtbot, page, lambda v: v.identified)
    assert page.step is Step.PLAN


def _collect_and_decode(
    qtbot: QtBot,
    page: StationPage,
    labels_dir: Path,
    on_collect_step: Callable[[], None] | None = None,
) -> dict[str, str]:
    """Ctrl+K, Ctrl+S, then print the labels: each new label PNG, decoded, by container."""
    QTest.keyClick(page.plan_step, Qt.Key.Key_K, Qt.KeyboardModifier.ControlModifier)
    assert page.step is Step.COLLECT
    if on_collect_step is not None:
        on_collect_step()
    QTest.keyClick(page.collect_step, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: page.step is Step.LABELS, timeout=WAIT_MS)
    wait_view(qtbot, page, lambda v: bool(v.specimens))
    printed: list[Any] = []
    page.controller.printed.connect(printed.append)
    QTest.keyClick(page.labels_step, Qt.Key.Key_P, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: bool(printed), timeout=WAIT_MS)
    assert printed[0].all_printed
    wait_view(qtbot, page, lambda v: all(s.labelled for s in v.specimens))
    decoded = [
        d.text for png in sorted(labels_dir.glob("*.png"))
        for d in zxingcpp.read_barcodes(Image.open(png))
    ]  # fmt: skip
    preview = zxingcpp.read_barcodes(Image.open(io.BytesIO(printed[0].preview_png)))
    assert preview[0].text in decoded
    view = page.controller.encounter
    assert view is not None
    by_accession = {s.accession: s.container_code for s in view.specimens}
    assert sorted(decoded) == sorted(by_accession)  # one label per tube, each its own
    return {by_accession[a]: a for a in decoded}


def test_fasting_not_met_is_collected_anyway_with_a_comment(
    qtbot: QtBot,
    window: MainWindow,
    chair_core: Core,
    labels_dir: Path,
    screenshot: Callable[[QWidget, str], Path],
) -> None:
    page = station_of(window)
    _open(qtbot, page, "M100002")
    panel = page.plan_step.preparation
    qtbot.waitUntil(lambda: panel.isVisible(), timeout=WAIT_MS)
    assert [r.kind for r in panel.requirements] == [PreparationKind.FASTING]
    assert not page.plan_step.collect_button.isEnabled()
    QTest.keyClick(page.plan_step, Qt.Key.Key_K, Qt.KeyboardModifier.ControlModifier)
    assert page.step is Step.PLAN  # Ctrl+K does nothing before the question is answered

    # 14:00 UTC is 09:00 in New York: breakfast at 03:00 is 6 h, not the 12 h asked for.
    (fasting,) = panel.requirements  # one question for the glucose (8 h) and lipids (12 h)
    assert (fasting.hours, fasting.test_codes) == (12, ("GLUF", "LIPID"))
    assert "Fasting test ordered" not in page.plan_step.notes_label.text()  # asked once
    field = panel.question_field(PreparationKind.FASTING)
    assert isinstance(field, QLineEdit)
    field.setFocus()
    qtbot.keyClicks(field, "03:00")
    assert not page.plan_step.collect_button.isEnabled()
    assert panel.comment.isVisibleTo(panel)
    assert panel.reschedule_button.isVisibleTo(panel)
    screenshot(window, "preparation_not_met")
    qtbot.keyClicks(panel.comment, "ate at 03:00 before a night shift; Dr. Patel: draw now")
    assert page.plan_step.collect_button.isEnabled()
    screenshot(page.plan_step, "preparation_collect_anyway")

    def asked_once() -> None:  # the lipid tube asks no 'Fasted?' of its own
        rows = {r.container.container_code: r for r in page.collect_step.rows}
        assert set(rows) == {"GRAY", "SST"}
        assert all(r.fasting is None for r in rows.values())

    decoded = _collect_and_decode(qtbot, page, labels_dir, asked_once)
    assert set(decoded) == {"GRAY", "SST"}
    with chair_core.uow() as uow:
        specimen = uow.specimens.by_accession(decoded["GRAY"])
        assert specimen is not None
        assert specimen.id is not None
        (answer,) = uow.preparation.answers_for_specimen(specimen.id)
        sst = uow.specimens.by_accession(decoded["SST"])
        assert sst is not None
        flags = [uow.station.detail(i) for i in (specimen.id, sst.id or 0)]
        fasted = [d.fasting if d is not None else None for d in flags]
        (message,) = [uow.hl7.outbound(i) for i in uow.hl7.due_outbound(chair_core.clock.now(), 10)]
        assert message is not None
        payload = message.payload
    assert not answer.met
    assert "6 h 00 min before" in answer.answer
    assert answer.comment.startswith("ate at 03:00 before a night shift")
    assert fasted == [False, False]  # the collections' flags, from the one answer (6 h)
    assert "OBX|1|ST|PREP-FASTING^" in payload
    assert "NTE|1|L|Preparation not met, collected anyway: ate at 03:00" in payload


def test_a_child_over_the_24h_limit_is_switched_to_pediatric_tubes(
    qtbot: QtBot,
    window: MainWindow,
    chair_core: Core,
    labels_dir: Path,
    screenshot: Callable[[QWidget, str], Path],
) -> None:
    page = station_of(window)
    _open(qtbot, page, CHILD_MRN)
    plan, volume = page.plan_step.plan_model, page.plan_step.volume
    codes = [plan.row_at(i).container_code for i in range(plan.rowCount())]
    assert codes == ["LBLU", "SST", "PST", "LAV"]
    qtbot.waitUntil(lambda: volume.isVisible(), timeout=WAIT_MS)
    assert "Enter the weight" in volume.summary.text()

    volume.weight_edit.setFocus()
    qtbot.keyClicks(volume.weight_edit, "0")
    QTest.keyClick(volume.weight_edit, Qt.Key.Key_Return)
    assert "A weight of 0 kg is not possible" in volume.message.text()  # nothing sent
    volume.weight_edit.clear()
    qtbot.keyClicks(volume.weight_edit, "500")
    QTest.keyClick(volume.weight_edit, Qt.Key.Key_Return)
    assert "A weight of 500 kg is not possible" in volume.message.text()
    assert "Weigh the patient" in volume.message.text()
    volume.weight_edit.clear()
    qtbot.keyClicks(volume.weight_edit, "4")
    QTest.keyClick(volume.weight_edit, Qt.Key.Key_Return)
    # 4 kg x 75 mL/kg = 300 mL; 5 % is 15 mL a day; the plan is 16.2 mL.
    qtbot.waitUntil(lambda: volume.check is not None and volume.check.over, timeout=WAIT_MS)
    assert "Over the limit by 1.2 mL" in volume.summary.text()
    assert not page.plan_step.collect_button.isEnabled()
    assert volume.pediatric_check.isVisibleTo(volume)
    screenshot(page.plan_step, "volume_over_limit")

    volume.pediatric_check.setFocus()
    QTest.keyClick(volume.pediatric_check, Qt.Key.Key_Space)
    qtbot.waitUntil(
        lambda: (
            [plan.row_at(i).container_code for i in range(plan.rowCount())]
            == ["LBLUP", "SSTM", "PSTM", "LAVM"]
        ),
        timeout=WAIT_MS,
    )
    qtbot.waitUntil(lambda: volume.check is not None and not volume.check.over, timeout=WAIT_MS)
    assert page.plan_step.collect_button.isEnabled()
    screenshot(page.plan_step, "volume_pediatric_tubes")

    decoded = _collect_and_decode(qtbot, page, labels_dir)
    assert set(decoded) == {"LBLUP", "SSTM", "PSTM", "LAVM"}
    with chair_core.uow() as uow:
        weight = uow.preparation.latest_weight(
            page.controller.encounter.patient.id,  # type: ignore[union-attr]
            chair_core.clock.now() - timedelta(days=1),
        )
    assert weight is not None
    assert weight.weight_kg == 4


def _badges(core: Core, **badges: str) -> dict[str, int]:
    """Register ``username=badge`` badges; the users' ids by username."""
    ids = {}
    with core.uow() as uow:
        for username, badge in badges.items():
            user = uow.people.user_by_username(username)
            assert user is not None
            assert user.id is not None
            user.badge_id = badge
            ids[username] = user.id
        uow.commit()
    return ids


def test_collector_and_observer_badges_are_scanned_at_the_collect_step(
    qtbot: QtBot,
    window: MainWindow,
    chair_core: Core,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ids = _badges(chair_core, alex="BADGE-ALEX", lena="BADGE-LENA")
    with chair_core.uow() as uow:
        jane = uow.patients.by_mrn("M100002")
        assert jane is not None
        jane_id = jane.id
    assert jane_id is not None
    place_order(chair_core, jane_id, ("UDSDOT",), "EHR-DOT")
    page = station_of(window)
    _open(qtbot, page, "M100002")
    panel = page.plan_step.preparation
    qtbot.waitUntil(lambda: panel.isVisible(), timeout=WAIT_MS)
    field = panel.question_field(PreparationKind.FASTING)
    field.setFocus()
    qtbot.keyClicks(field, "20:30")  # 12 h 30 min before 09:00 in New York: met
    QTest.keyClick(page.plan_step, Qt.Key.Key_K, Qt.KeyboardModifier.ControlModifier)
    assert page.step is Step.COLLECT
    witness = page.collect_step.witness
    assert witness.observer_edit.isVisibleTo(page.collect_step)  # a forensic cup is planned
    form = ForensicForm(
        ccf_number="T5556667", temperature_c=35.0, minutes_to_temperature_read=2,
        bottle_a_ml=35, bottle_b_ml=20, bottles_sealed_and_dated=True,
        donor_initialled_seals=True, donor_id_checked=True,
    )  # fmt: skip
    monkeypatch.setattr("ui.station.dialogs.ask_forensic", lambda *_a, **_k: form)
    (cup,) = [r for r in page.collect_step.rows if r.container.chain_of_custody]
    assert cup.form_button is not None
    cup.form_button.click()

    # Alex drew while Maria types: his badge, scanned into the collector's field.
    assert page.collect_step.collector_label.text().startswith("Collector: ")
    assert "badge" not in page.collect_step.collector_label.text()  # the signed-in user
    witness.collector_edit.setFocus()
    scan(qtbot, "BADGE-ALEX")
    assert witness.collector_badge == "BADGE-ALEX"
    assert page.collect_step.collector_label.text() == "Collector: the badge scanned"
    assert witness.observer_badge == ""
    QTest.keyClick(page.collect_step, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: "observed it" in page.message.text(), timeout=WAIT_MS)
    assert page.step is Step.COLLECT  # refused: nothing saved
    assert not page.controller.encounter.specimens  # type: ignore[union-attr]

    # The next badge scanned on the step fills the (empty, required) observer's field.
    page.collect_step.setFocus()
    scan(qtbot, "BADGE-LENA")
    assert witness.observer_badge == "BADGE-LENA"
    assert witness.collector_badge == "BADGE-ALEX"
    QTest.keyClick(page.collect_step, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: page.step is Step.LABELS, timeout=WAIT_MS)
    view = page.controller.encounter
    assert view is not None
    by_code = {s.container_code: s.id for s in view.specimens}
    assert set(by_code) == {"GRAY", "SST", "CCUP"}
    with chair_core.uow() as uow:
        for specimen_id in by_code.values():
            specimen = uow.specimens.get(specimen_id)
            assert specimen is not None
            assert specimen.collected_by_id == ids["alex"]
            (collected,) = [
                e for e in uow.custody.for_specimen(specimen_id) if e.kind.value == "collected"
            ]
            assert collected.actor_id == ids["alex"]  # the custody chain names the collector
            witness_row = uow.preparation.witness(specimen_id)
            assert witness_row is not None
            assert witness_row.collector_id == ids["alex"]
        observed = uow.preparation.witness(by_code["CCUP"])
    assert observed is not None
    assert observed.observer_id == ids["lena"]


def test_a_rescheduled_test_stays_pending_with_its_reason_on_the_results_board(
    qtbot: QtBot,
    window: MainWindow,
    chair_core: Core,
    monkeypatch: pytest.MonkeyPatch,
    user_named: Callable[[str], SignedInUser],
) -> None:
    page = station_of(window)
    _open(qtbot, page, "M100002")
    panel = page.plan_step.preparation
    qtbot.waitUntil(lambda: panel.isVisible(), timeout=WAIT_MS)
    field = panel.question_field(PreparationKind.FASTING)
    field.setFocus()
    qtbot.keyClicks(field, "07:10")
    qtbot.waitUntil(lambda: panel.reschedule_button.isVisibleTo(panel), timeout=WAIT_MS)
    asked: list[str] = []

    def reason(_parent: object, _title: str, _label: str, text: str = "") -> tuple[str, bool]:
        asked.append(text)
        return f"{text}; ate at 07:10, back tomorrow", True

    monkeypatch.setattr("ui.station.page.QInputDialog.getText", reason)
    panel.reschedule_button.click()
    qtbot.waitUntil(
        lambda: (
            page.controller.encounter is not None
            and len(page.controller.encounter.missed_test_ids) == 2
        ),
        timeout=WAIT_MS,
    )
    assert asked == ["fasting not met (needs 12 h, 1 h 50 min)"]

    board = ResultsPage(context_of(chair_core), user_named("sam"))
    qtbot.addWidget(board)
    board.poll_timer.stop()
    qtbot.waitUntil(lambda: board.model.rowCount() > 0, timeout=WAIT_MS)
    rows = board.model.rows_in(0, board.model.rowCount() - 1)
    (position,) = [i for i, r in enumerate(rows) if r.test_code == "GLUF"]
    assert rows[position].status.value == "ordered"  # still pending
    flags_cell = str(board.model.data(board.model.index(position, 0)))
    assert flags_cell.startswith("Awaiting collection · Rescheduled: fasting not met"), flags_cell
    shown: list[ResultDetailDialog] = []
    monkeypatch.setattr(ResultDetailDialog, "exec", lambda self: shown.append(self) or 0)
    board.table.selectRow(position)
    with qtbot.waitSignal(board.detail_loaded, timeout=WAIT_MS):
        board.open_selected()
    (dialog,) = shown
    text = " ".join(label.text() for label in dialog.findChildren(QLabel))
    assert (
        "Not collected yet: Rescheduled: fasting not met (needs 12 h, 1 h 50 min); "
        "ate at 07:10, back tomorrow (at the chair, Maria Alvarez" in text
    )
