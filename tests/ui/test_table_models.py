"""Table models: Qt's model contract, display text and sort values."""

from __future__ import annotations

from datetime import date

import pytest
from PySide6.QtCore import QSortFilterProxyModel, Qt
from pytestqt.modeltest import ModelTester

from labdesk.domain.catalog import SpecimenCategory, TemperatureClass
from labdesk.domain.patient import Sex
from labdesk.kernel.dto import CatalogRow, PatientSummary
from ui.admin.catalog_table_model import CatalogTableModel, format_minutes
from ui.station.patient_table_model import PatientTableModel
from ui.widgets.table_model import SORT_ROLE


def _patient(pid: int, family: str, given: str, born: date) -> PatientSummary:
    return PatientSummary(
        id=pid,
        mrn=f"M{pid:06d}",
        family_name=family,
        given_name=given,
        birth_date=born,
        sex=Sex.FEMALE,
    )


def _test(code: str, stat: int | None, handling: str = "") -> CatalogRow:
    return CatalogRow(
        code=code,
        loinc="1-1",
        name=f"{code} test",
        specimen_type="serum",
        container_code="SST",
        container_name="Gold SST 5 mL",
        cap_colour="gold",
        draw_rank=31,
        category=SpecimenCategory.BLOOD,
        preferred_volume_ml=5.0,
        minimum_volume_ml=0.5,
        transport_temperature=TemperatureClass.REFRIGERATED,
        routine_tat_min=1440,
        stat_tat_min=stat,
        handling=handling,
    )


def _texts(model: PatientTableModel | CatalogTableModel, row: int) -> list[str]:
    return [model.index(row, c).data() for c in range(model.columnCount())]


def test_patient_model_contract_and_display(qtmodeltester: ModelTester) -> None:
    model = PatientTableModel()
    qtmodeltester.check(model)
    model.set_rows([_patient(1, "O'Brien", "Siobhán", date(1980, 3, 4))])
    qtmodeltester.check(model)
    headers = [model.headerData(c, Qt.Orientation.Horizontal) for c in range(4)]
    assert headers == ["MRN", "Name", "DOB", "Sex"]
    assert _texts(model, 0) == ["M000001", "O'Brien, Siobhán", "1980-03-04", "Female"]


def test_catalog_model_contract_and_display(qtmodeltester: ModelTester) -> None:
    model = CatalogTableModel()
    model.set_rows([_test("TSH", None, "protect_from_light"), _test("K", 60)])
    qtmodeltester.check(model)
    headers = [model.headerData(c, Qt.Orientation.Horizontal) for c in range(model.columnCount())]
    assert headers == [
        "Code",
        "Name",
        "LOINC",
        "Container",
        "Cap",
        "Volume mL (min)",
        "Transport",
        "Routine TAT",
        "STAT TAT",
    ]
    assert _texts(model, 1)[5:] == ["5 (0.5)", "Refrigerated", "24 h", "1 h"]
    tooltip = model.index(0, 1).data(Qt.ItemDataRole.ToolTipRole)
    assert "Protect from light" in tooltip


def test_catalog_sorts_tests_without_stat_last(qtmodeltester: ModelTester) -> None:
    model = CatalogTableModel()
    model.set_rows([_test("A", None), _test("B", 60), _test("C", 30)])
    proxy = QSortFilterProxyModel()
    proxy.setSourceModel(model)
    proxy.setSortRole(SORT_ROLE)
    proxy.sort(8, Qt.SortOrder.AscendingOrder)
    qtmodeltester.check(proxy)
    assert [proxy.index(r, 0).data() for r in range(3)] == ["C", "B", "A"]


@pytest.mark.parametrize(
    ("minutes", "text"),
    [(None, "—"), (45, "45 min"), (60, "1 h"), (90, "1 h 30 min"), (2880, "48 h")],
    ids=["none", "minutes", "hour", "mixed", "days-as-hours"],
)
def test_format_minutes(minutes: int | None, text: str) -> None:
    assert format_minutes(minutes) == text
