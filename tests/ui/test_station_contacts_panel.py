"""Admin Station contacts tab (offscreen): contacts, unused ranges and a highlighted skew."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWidget
from pytestqt.qtbot import QtBot
from sqlalchemy import insert

from labdesk.adapters.orm.downtime import accession_blocks
from labdesk.bootstrap import Core
from labdesk.domain.clock import FixedClock
from labdesk.downtime.contacts import ContactReport, report_contact
from labdesk.kernel.dto import SignedInUser
from ui.admin.station_contacts_panel import StationContactsPanel, StationContactsTableModel
from ui.context import AppContext

NOTES = Path("/work/notes/s22")


def test_stations_show_contact_gaps_and_skew(
    qtbot: QtBot,
    core: Core,
    app_context: AppContext,
    clock: FixedClock,
    user_named: Callable[[str], SignedInUser],
    screenshot: Callable[[QWidget, str], Path],
) -> None:
    with core.uow() as uow:
        uow.session.execute(
            insert(accession_blocks).values(
                station="DRAW-3",
                year=2026,
                first=501,
                last=600,
                issued_up_to=540,
                reserved_at=clock.now(),
            )
        )
        uow.commit()
    for station, skew, pending in (("DRAW-2", timedelta(minutes=3), 4), ("DRAW-3", timedelta(), 0)):
        report_contact(
            core.uow,
            ContactReport(
                station=station,
                station_clock_at=clock.now() + skew,
                outbox_pending=pending,
                outbox_conflicts=0,
                block_remaining=60,
                app_version="1.4.0",
            ),
            clock,
        )
    panel = StationContactsPanel(app_context, user_named("alex"))
    qtbot.addWidget(panel)
    with qtbot.waitSignal(panel.loaded, timeout=10_000) as blocker:
        pass
    assert blocker.args == [2]
    model = panel.model
    texts = {
        model.index(r, 0).data(): [model.index(r, c).data() for c in range(model.columnCount())]
        for r in range(model.rowCount())
    }
    assert texts["DRAW-2"][6] == "+180 s"
    assert texts["DRAW-3"][5] == "2026: 501–600".replace("501", "541")
    col = StationContactsTableModel.SKEW_COLUMN
    background = {
        model.index(r, 0).data(): model.index(r, col).data(Qt.ItemDataRole.BackgroundRole)
        for r in range(model.rowCount())
    }
    assert background["DRAW-2"] is not None
    assert background["DRAW-3"] is None
    assert "more than 2 minutes" in panel.message_label.text()
    panel.resize(1100, 300)
    panel.show()
    NOTES.mkdir(parents=True, exist_ok=True)
    assert panel.grab().save(str(NOTES / "stations.png"))
    screenshot(panel, "stations")
