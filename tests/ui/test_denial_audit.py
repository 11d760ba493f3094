"""The desktop app's audit gaps: role denials of background jobs, clinic time in the users tab."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWidget
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from labdesk.access.audit_log import verify_audit_log
from labdesk.access.users import UserRow
from labdesk.bootstrap import Core
from labdesk.domain.audit import AuditAction, AuditEntry
from labdesk.domain.people import Role
from labdesk.domain.result import AckMeaning
from labdesk.kernel.dto import SignedInUser
from labdesk.results.acknowledge import acknowledge_results
from labdesk.results.board_dto import AckOutcome
from ui.admin.users_panel import UsersPanel, UsersTableModel
from ui.app import AppController, context_of
from ui.tasks import run_in_background

CHICAGO = "America/Chicago"


@pytest.fixture
def controller(qtbot: QtBot, core: Core) -> Iterator[AppController]:
    """The app connected to ``core``'s database (as at start-up, before anyone signs in)."""
    controller = AppController(core.config)
    qtbot.addWidget(controller.sign_in)
    controller.start()
    with qtbot.waitSignal(controller.core_ready):
        controller.connect_database()
    yield controller
    controller.shutdown()


def _denials(core: Core) -> list[AuditEntry]:
    with core.uow() as uow:
        entries = [e for e in uow.audit.all_in_order() if e.action is AuditAction.DENY]
        uow.session.expunge_all()
        return entries


def _acknowledge_in_background(qtbot: QtBot, core: Core, user: SignedInUser) -> Exception:
    failures: list[Exception] = []

    def acknowledge() -> AckOutcome:
        with core.uow() as uow:
            return acknowledge_results(uow, core.clock, user, [1], AckMeaning.REVIEWED)

    run_in_background(acknowledge, lambda _outcome: None, failures.append)
    qtbot.waitUntil(lambda: bool(failures))
    return failures[0]


def test_a_denied_background_job_is_audited(
    qtbot: QtBot,
    controller: AppController,
    core: Core,
    user_named: Callable[[str], SignedInUser],
) -> None:
    maria = user_named("maria")
    error = _acknowledge_in_background(qtbot, core, maria)
    assert "may not acknowledge results" in str(error)
    [entry] = _denials(core)
    assert (entry.user_id, entry.station) == (maria.id, core.config.station_code)
    assert (entry.entity, entry.entity_id, entry.outcome) == (
        "permission",
        "acknowledge_results",
        "denied",
    )
    with core.uow() as uow:
        assert verify_audit_log(uow, core.clock, None, record=False).ok


def test_denials_are_not_written_to_a_closed_database(
    qtbot: QtBot, core: Core, user_named: Callable[[str], SignedInUser]
) -> None:
    controller = AppController(core.config)
    qtbot.addWidget(controller.sign_in)
    with qtbot.waitSignal(controller.core_ready):
        controller.connect_database()
    controller.shutdown()  # the app's core is gone: nothing may still write through it
    _acknowledge_in_background(qtbot, core, user_named("maria"))
    assert _denials(core) == []


def _row(**changes: object) -> UserRow:
    row = UserRow(
        id=1,
        username="maria",
        display_name="Maria Alvarez",
        initials="MA",
        role=Role.MEDICAL_ASSISTANT,
        active=True,
        locked=False,
        failed_attempts=0,
        has_badge=False,
        has_pin=False,
        expires_at=datetime(2026, 3, 3, 3, 0, tzinfo=UTC),  # still March 2nd in Chicago
        removed=False,
        must_change_password=False,
        last_sign_in_at=datetime(2026, 3, 2, 14, 5, tzinfo=UTC),
        created_at=datetime(2026, 1, 5, 9, 0, tzinfo=UTC),
    )
    return replace(row, **changes)  # type: ignore[arg-type]


def test_users_tab_shows_clinic_time(
    qtbot: QtBot,
    core: Core,
    user_named: Callable[[str], SignedInUser],
    qtmodeltester: ModelTester,
    screenshot: Callable[[QWidget, str], Path],
) -> None:
    model = UsersTableModel(CHICAGO)
    model.set_rows([_row(), _row(id=2, username="lena", expires_at=None, last_sign_in_at=None)])
    qtmodeltester.check(model)
    headers = [model.headerData(c, Qt.Orientation.Horizontal) for c in range(model.columnCount())]
    expires, last = headers.index("Expires"), headers.index("Last sign-in")
    assert model.index(0, expires).data() == "2026-03-02"
    assert model.index(0, last).data() == "2026-03-02 08:05"  # CST, UTC-6
    assert model.index(1, expires).data() == model.index(1, last).data() == "—"
    context = context_of(replace(core, config=replace(core.config, clinic_timezone=CHICAGO)))
    panel = UsersPanel(context, user_named("alex"))
    qtbot.addWidget(panel)
    assert panel.model.timezone == CHICAGO
    qtbot.waitUntil(lambda: panel.model.rowCount() == 5)
    panel.model.set_rows([_row()])
    panel.resize(1100, 300)
    screenshot(panel, "users_panel_clinic_time")
