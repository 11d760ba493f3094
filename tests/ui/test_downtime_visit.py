"""A whole visit at the chair while the server is away, through the screens, then replay.

The medical assistant signs in at the station while the server answers (so the replica
keeps her), the server goes away, and the visit runs as any other: wristband scan, plan,
collect, labels printed at the chair (their barcodes decoded with zxing-cpp), scan-back,
finish. The banner says the station works offline and how much waits. When the server is
back the outbox replays, and the server then holds what the same visit online leaves: the
same tubes under the same accessions, each collected, labelled and verified, and the
chains verify.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import zxingcpp
from PIL import Image
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QWidget
from pytestqt.qtbot import QtBot
from sqlalchemy import func, select

from labdesk.access.audit_log import verify_audit_log
from labdesk.access.commands import SignIn
from labdesk.adapters import orm
from labdesk.adapters.downtime.station_store import StationStore, open_station_store
from labdesk.bootstrap import Core
from labdesk.custody.verify import verify_chains
from labdesk.domain.custody import CustodyEventKind
from labdesk.domain.people import Station
from labdesk.downtime.blocks import BlockPolicy
from labdesk.downtime.mode import Connectivity
from labdesk.downtime.router import StationRouter
from tests.ui.downtime_clinic import STATION, seed_clinic, station_router
from tests.ui.station_window import (
    open_station_window,
    scan,
    station_of,
    wait_view,
)
from ui.app import context_of
from ui.main_window import MainWindow
from ui.station.banner import Step


@pytest.fixture
def labels_dir(tmp_path: Path) -> Path:
    return tmp_path / "labels"


@pytest.fixture
def server(core: Core, labels_dir: Path) -> Core:
    """The clinic's server: this station, a wristband and an order for John Smith."""
    return seed_clinic(core, labels_dir)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[StationStore]:
    station_file = open_station_store(tmp_path / "station.sqlite3", STATION)
    yield station_file
    station_file.close()


@pytest.fixture
def router(server: Core, store: StationStore) -> StationRouter:
    return station_router(server, store)


def test_a_whole_visit_offline_at_the_chair_then_replayed(
    qtbot: QtBot,
    server: Core,
    router: StationRouter,
    store: StationStore,
    password: str,
    labels_dir: Path,
    screenshot: Callable[[QWidget, str], Path],
) -> None:
    # Online: Maria signs in here; the station fills its replica and reserves its block.
    maria = router.bus.handle(SignIn(username="maria", password=password, station=STATION))
    router.keep_ready(BlockPolicy(size=20, top_up_below=5))
    window: MainWindow = open_station_window(qtbot, context_of(server, mode=router), maria)
    assert window.offline_banner.isHidden()

    router.go_offline("the server did not answer within 2 s")
    qtbot.waitUntil(lambda: window.offline_banner.isVisible())
    assert "Working offline since" in window.offline_banner.label.text()

    page = station_of(window)
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    page.search_edit.setFocus()
    scan(qtbot, "WBM100001")
    wait_view(qtbot, page, lambda v: v.identified)
    QTest.keyClick(page.plan_step, Qt.Key.Key_K, Qt.KeyboardModifier.ControlModifier)
    QTest.keyClick(page.collect_step, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: page.step is Step.LABELS, timeout=5000)
    wait_view(qtbot, page, lambda v: len(v.specimens) == 2)

    outcomes: list[object] = []
    page.controller.printed.connect(outcomes.append)
    QTest.keyClick(page.labels_step, Qt.Key.Key_P, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: bool(outcomes), timeout=10000)
    assert outcomes[0].all_printed  # type: ignore[attr-defined]
    assert len(list(labels_dir.glob("*.zpl"))) == 2  # the label printer is on the local network
    encounter = page.controller.encounter
    assert encounter is not None
    accessions = sorted(s.accession for s in encounter.specimens)
    png = outcomes[0].preview_png  # type: ignore[attr-defined]
    decoded = [d.text for d in zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))]
    assert decoded
    assert decoded[0] in accessions

    page.labels_step.specimens_table.setFocus()
    for accession in accessions:
        scan(qtbot, accession)
        wait_view(
            qtbot,
            page,
            lambda v, a=accession: (
                next(s for s in v.specimens if s.accession == a).status.value == "verified"
            ),
        )
    QTest.keyClick(page.labels_step, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: page.step is Step.FIND, timeout=5000)
    QTest.keyClick(page.find_step, Qt.Key.Key_F5)  # the worklist, from the replica
    qtbot.waitUntil(lambda: page.find_step.waiting_model.rowCount() == 0, timeout=5000)
    qtbot.waitUntil(lambda: "actions waiting to be sent" in window.offline_banner.label.text())
    pending = router.status().pending
    assert pending >= 6  # open, collect, labels, two scan-backs, finish
    assert f"{pending} actions waiting" in window.offline_banner.label.text()
    screenshot(window, "downtime_visit_offline")
    with server.uow() as uow:  # nothing reached the server while it was away
        assert uow.session.scalar(select(func.count()).select_from(orm.specimens)) == 0

    # The server answers again: the outbox replays; the banner goes.
    assert router.resync().connectivity is Connectivity.ONLINE
    qtbot.waitUntil(lambda: window.offline_banner.isHidden())
    with server.uow() as uow:
        stored = sorted(uow.session.scalars(select(orm.specimens.c.accession)))
        assert stored == accessions  # the very IDs on the printed labels
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
        jobs = uow.session.scalar(select(func.count()).select_from(orm.print_jobs))
        assert jobs == 0  # the server printed nothing again
        assert verify_chains(uow).ok
        assert verify_audit_log(uow, server.clock, None, record=False).ok
    assert len(list(labels_dir.glob("*.zpl"))) == 2
    with store() as uow:
        assert not uow.outbox.pending()


def test_a_visit_drawn_elsewhere_meanwhile_waits_in_the_station_worklist(
    qtbot: QtBot,
    server: Core,
    router: StationRouter,
    password: str,
    screenshot: Callable[[QWidget, str], Path],
) -> None:
    """The same order drawn at another chair during the outage: after replay the banner
    stays with the item to reconcile, and its button opens this station's worklist."""
    from labdesk.domain.people import Role
    from labdesk.kernel.messagebus import MessageBus
    from labdesk.station.commands import CollectSpecimens, OpenEncounterByWristband
    from labdesk.station.dto import ContainerCollection
    from labdesk.station.encounter import load_encounter
    from ui.downtime.reconciliation_view import StationReconciliationView

    maria = router.bus.handle(SignIn(username="maria", password=password, station=STATION))
    router.keep_ready(BlockPolicy(size=20, top_up_below=5))
    window: MainWindow = open_station_window(qtbot, context_of(server, mode=router), maria)
    router.go_offline("the server did not answer within 2 s")
    qtbot.waitUntil(lambda: window.offline_banner.isVisible())
    page = station_of(window)
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    page.search_edit.setFocus()
    scan(qtbot, "WBM100001")
    wait_view(qtbot, page, lambda v: v.identified)
    QTest.keyClick(page.plan_step, Qt.Key.Key_K, Qt.KeyboardModifier.ControlModifier)
    QTest.keyClick(page.collect_step, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: page.step is Step.LABELS, timeout=5000)

    # Meanwhile another chair, still on the server, draws the same order.
    other = MessageBus(server.uow, server.clock)
    with server.uow() as uow:
        ma = next(u for u in uow.people.users() if u.role is Role.MEDICAL_ASSISTANT)
        chair = uow.people.station_by_code(STATION)
        assert chair is not None
        uow.people.add(Station(code="DRAW-9", name="Chair 9", site_id=chair.site_id))
        uow.commit()
        from labdesk.access.auth import session_of

        colleague = session_of(ma, "DRAW-9")
    eid = other.handle(
        OpenEncounterByWristband(scanned="WBM100001", station_code="DRAW-9"), colleague
    )
    view = other.query(load_encounter, colleague, eid)
    other.handle(
        CollectSpecimens(
            encounter_id=eid,
            containers=tuple(
                ContainerCollection(c.container_code, c.ordered_test_ids)
                for c in view.plan.containers
            ),
        ),
        colleague,
    )

    status = router.resync()
    assert (status.connectivity, status.conflicts) == (Connectivity.ONLINE, 1)
    qtbot.waitUntil(lambda: "1 item to reconcile" in window.offline_banner.label.text())
    assert window.offline_banner.isVisible()  # online, and still something to do
    assert window.offline_banner.reconcile_button.isVisible()
    window.offline_banner.reconcile_button.click()
    worklist = window.pages.currentWidget()
    assert isinstance(worklist, StationReconciliationView)
    qtbot.waitUntil(lambda: "Collected at two stations" in _texts(worklist), timeout=5000)
    screenshot(window, "downtime_station_worklist")


def _texts(widget: QWidget) -> str:
    """Every cell of every table view under ``widget`` (what the user reads)."""
    from PySide6.QtWidgets import QAbstractItemView

    out = []
    for table in widget.findChildren(QAbstractItemView):
        model = table.model()
        if model is None:
            continue
        for row in range(model.rowCount()):
            for column in range(model.columnCount()):
                out.append(str(model.index(row, column).data() or ""))
    return " | ".join(out)
