"""Station step 2: the stated date of birth in the clinic's formats, typed on a busy machine."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest
from PySide6.QtCore import QCoreApplication, QEvent, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QWidget
from pytestqt.qtbot import QtBot

from labdesk.bootstrap import Core
from labdesk.config import Config
from labdesk.domain.clock import FixedClock
from labdesk.domain.errors import NotFound
from labdesk.domain.patient import Patient, PatientIdentifier, Sex
from labdesk.domain.people import Site, Station
from labdesk.kernel.dto import SignedInUser
from labdesk.station.patients import lookup_by_scan
from ui.app import context_of
from ui.main_window import MainWindow
from ui.navigation import PageId
from ui.station.banner import Step
from ui.station.page import StationPage
from ui.widgets.feedback import Tone

STATION = "DRAW-2"
BORN = date(1945, 1, 13)
DAY_FIRST = ("%d/%m/%Y", "%Y-%m-%d")


@pytest.fixture
def config(tmp_path: Path, request: pytest.FixtureRequest) -> Config:
    """The ui conftest's station config, with the settings a test asks for."""
    config = Config(
        database_url=f"sqlite:///{tmp_path / 't.sqlite3'}",
        data_dir=tmp_path,
        station_code=STATION,
    )
    return config.with_overrides(**getattr(request, "param", {}))


@pytest.fixture
def patient_id(core: Core, clock: FixedClock) -> int:
    """Edna Hill, born 1945-01-13, at a clinic with this station."""
    with core.uow() as uow:
        site = Site(code="CLINIC", name="Riverside", timezone="America/New_York")
        uow.people.add(site)
        uow.people.flush()
        assert site.id is not None
        uow.people.add(Station(code=STATION, name="Chair 2", site_id=site.id))
        patient = Patient(
            mrn="M100900",
            family_name="Hill",
            given_name="Edna",
            birth_date=BORN,
            sex=Sex.FEMALE,
            created_at=clock.now(),
        )
        uow.patients.add(patient)
        uow.patients.flush()
        assert patient.id is not None
        uow.patients.add_identifier(
            PatientIdentifier(patient_id=patient.id, system="wristband", value="WBM100900")
        )
        uow.commit()
        return patient.id


@pytest.fixture
def page(
    qtbot: QtBot,
    core: Core,
    patient_id: int,
    user_named: Callable[[str], SignedInUser],
) -> StationPage:
    """The station (in a main window, so the scanner watches the keyboard) at step 2."""
    window = MainWindow(context_of(core), user_named("maria"))
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    page = window.page(PageId.STATION)
    assert isinstance(page, StationPage)
    page.feedback.audible = False
    window.show_page(PageId.STATION)
    page.controller.open_patient(patient_id)
    qtbot.waitUntil(lambda: page.step is Step.IDENTIFY, timeout=5000)
    page.identify_step.name_check.setChecked(True)
    page.identify_step.dob_edit.setFocus()
    return page


_stamp = [5_000_000]


def type_busy(widget: QWidget, text: str, gap_ms: int = 150) -> None:
    """A person types ``text`` and Enter; the busy workstation processes the keys together."""
    keys = [(Qt.Key(ord(ch.upper())), ch) for ch in text] + [(Qt.Key.Key_Return, "")]
    for key, ch in keys:
        for kind in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease):
            event = QKeyEvent(kind, key, Qt.KeyboardModifier.NoModifier, ch)
            event.setTimestamp(_stamp[0])
            QCoreApplication.postEvent(widget, event)
        _stamp[0] += gap_ms
    QCoreApplication.processEvents()


def identified(core: Core, patient_id: int) -> bool:
    """What the database says (not the screen)."""
    with core.uow() as uow:
        encounter = uow.station.open_for_patient(patient_id, STATION)
        assert encounter is not None
        return encounter.identified_at is not None


@pytest.mark.parametrize("typed", ["01/13/1945", "1945-01-13", "01/13/45"])
def test_us_default_confirms_a_month_first_date_typed_on_a_busy_workstation(
    qtbot: QtBot, page: StationPage, core: Core, patient_id: int, typed: str
) -> None:
    type_busy(page.identify_step.dob_edit, typed)
    qtbot.waitUntil(lambda: page.step is Step.PLAN, timeout=5000)
    assert page.controller.encounter is not None
    assert page.controller.encounter.identified
    assert identified(core, patient_id)
    assert "No patient has the identifier" not in page.message.text()


def test_day_first_date_is_not_understood_once_and_kept_for_retyping(
    qtbot: QtBot,
    page: StationPage,
    core: Core,
    patient_id: int,
    screenshot: Callable[[QWidget, str], Path],
) -> None:
    step = page.identify_step
    type_busy(step.dob_edit, "13/01/1945")
    screenshot(page.window(), "station_2_identify_date_not_understood")
    assert step.message.text() == "Date not understood: type it as 1945-01-13."
    assert step.message.is_error
    assert page.message.text() == ""  # shown once, next to the field
    assert step.dob_edit.text() == "13/01/1945"
    assert step.dob_edit.selectedText() == "13/01/1945"
    assert page.step is Step.IDENTIFY
    assert not identified(core, patient_id)
    QTest.keyClicks(step.dob_edit, "01/13/1945")  # retyping replaces the selection
    assert step.dob_edit.text() == "01/13/1945"


@pytest.mark.parametrize("config", [{"date_formats": DAY_FIRST}], indirect=True)
def test_day_first_clinic_confirms_a_day_first_date(
    qtbot: QtBot, page: StationPage, core: Core, patient_id: int
) -> None:
    step = page.identify_step
    assert "13/01/1945" in step.dob_edit.placeholderText()
    type_busy(step.dob_edit, "13/01/1945")
    qtbot.waitUntil(lambda: page.step is Step.PLAN, timeout=5000)
    assert identified(core, patient_id)


def test_a_date_that_does_not_match_says_so_once_and_keeps_the_text(
    qtbot: QtBot, page: StationPage, core: Core, patient_id: int
) -> None:
    step = page.identify_step
    type_busy(step.dob_edit, "01/14/1945")
    qtbot.waitUntil(lambda: "does not match" in step.message.text(), timeout=5000)
    qtbot.waitUntil(lambda: not page.controller.busy, timeout=5000)
    assert page.message.text() == ""
    assert page.feedback.played[-1] is Tone.ALARM
    assert step.dob_edit.text() == "01/14/1945"
    assert step.dob_edit.selectedText() == "01/14/1945"
    assert not identified(core, patient_id)
    # The two-identifier rule stands: the right date without the name tick is refused.
    step.name_check.setChecked(False)
    step.dob_edit.setText("01/13/1945")
    QTest.keyClick(step.dob_edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: "Confirm the patient's name" in step.message.text(), timeout=5000)
    assert not identified(core, patient_id)


@pytest.mark.parametrize("config", [{"scanner_prefix": "#"}], indirect=True)
def test_a_prefixed_wristband_scan_into_the_date_field_still_confirms(
    qtbot: QtBot, page: StationPage, core: Core, patient_id: int
) -> None:
    step = page.identify_step
    step.name_check.setChecked(False)  # the wristband alone is the two-identifier check
    type_busy(step.dob_edit, "#WBM100900", gap_ms=5)
    qtbot.waitUntil(lambda: page.step is Step.PLAN, timeout=5000)
    assert identified(core, patient_id)
    assert step.dob_edit.text() == ""


def test_a_date_taken_for_a_scan_is_named_as_a_date(core: Core, patient_id: int) -> None:
    with core.uow() as uow:
        with pytest.raises(NotFound, match="is a date, not a wristband") as info:
            lookup_by_scan(uow, "01/13/1945")
        assert "date of birth field" in info.value.hint
        with pytest.raises(NotFound, match="No patient has the identifier"):
            lookup_by_scan(uow, "WBX999999")
        assert lookup_by_scan(uow, "WBM100900").id == patient_id


@pytest.mark.parametrize("config", [{"date_formats": DAY_FIRST}], indirect=True)
def test_day_first_clinic_finds_the_patient_by_a_day_first_date_of_birth(
    qtbot: QtBot, core: Core, patient_id: int, user_named: Callable[[str], SignedInUser]
) -> None:
    """The search box reads dates in the clinic's formats, not the US default."""
    window = MainWindow(context_of(core), user_named("maria"))
    qtbot.addWidget(window)
    window.show()
    page = window.page(PageId.STATION)
    assert isinstance(page, StationPage)
    find = page.find_step
    find.search_edit.setText("13/01/1945")
    qtbot.waitUntil(lambda: find.model.rowCount() == 1, timeout=5000)
    find.search_edit.setText("1945-02-13")
    qtbot.waitUntil(lambda: find.model.rowCount() == 0, timeout=5000)
    find.search_edit.setText("13.01.1945")  # pasted from another system
    qtbot.waitUntil(lambda: find.model.rowCount() == 1, timeout=5000)
