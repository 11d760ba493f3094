"""Station plan tables sized once per set of rows; styles set only when they change.

Scan -> plan on screen (issue 14): ResizeToContents columns were measured again on every
page switch and the step indicator and banner restyled ten widgets a scan.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtWidgets import QHeaderView, QLabel, QTableView
from pytestqt.qtbot import QtBot

from ui.station.banner import Step, StepIndicator
from ui.station.style import set_style
from ui.station.swatch import install_swatch
from ui.station.tables import fit_to_rows, station_table
from ui.widgets.table_model import Column, RowTableModel


@dataclass(frozen=True)
class Tube:
    position: int
    cap: str
    name: str
    note: str


class TubeModel(RowTableModel[Tube]):
    columns = (
        Column[Tube]("#", lambda t: str(t.position)),
        Column[Tube]("Cap", lambda t: t.cap),
        Column[Tube]("Container", lambda t: t.name),
        Column[Tube]("Handling", lambda t: t.note, stretch=True),
    )


TUBES = [
    Tube(1, "Light blue", "Citrate 2.7 mL", "Fill to the line"),
    Tube(2, "Gold", "SST 5 mL with a long synthetic container name", ""),
    Tube(3, "Lavender", "EDTA", "Invert 8x"),
]


def _table(qtbot: QtBot) -> tuple[QTableView, TubeModel]:
    model = TubeModel()
    view = station_table(model)
    install_swatch(view, 1)
    qtbot.addWidget(view)
    view.resize(900, 300)
    view.show()
    return view, model


def test_columns_fit_the_new_rows_once_and_are_not_measured_again(qtbot: QtBot) -> None:
    view, model = _table(qtbot)
    model.set_rows(TUBES)
    fit_to_rows(view, model)
    header = view.horizontalHeader()
    modes = [header.sectionResizeMode(s) for s in range(4)]
    assert modes[:3] == [QHeaderView.ResizeMode.Interactive] * 3
    assert modes[3] is QHeaderView.ResizeMode.Stretch
    proxy = view.model()
    for section in range(3):
        needed = [view.sizeHintForIndex(proxy.index(r, section)).width() for r in range(3)]
        assert header.sectionSize(section) == max(*needed, header.sectionSizeHint(section))
    # Fewer, shorter rows next visit: the columns follow them.
    wide = header.sectionSize(2)
    model.set_rows(TUBES[2:])
    fit_to_rows(view, model)
    assert header.sectionSize(2) < wide


def test_the_fit_follows_the_sorted_rows_and_an_empty_list(qtbot: QtBot) -> None:
    view, model = _table(qtbot)
    model.set_rows(TUBES)
    view.sortByColumn(2, view.horizontalHeader().sortIndicatorOrder())
    fit_to_rows(view, model)
    header = view.horizontalHeader()
    long_name = view.fontMetrics().horizontalAdvance(TUBES[1].name)
    assert header.sectionSize(2) > long_name
    model.set_rows([])
    fit_to_rows(view, model)
    assert header.sectionSize(2) == header.sectionSizeHint(2)


def test_a_style_sheet_is_only_set_when_it_changes(qtbot: QtBot) -> None:
    label = QLabel()
    qtbot.addWidget(label)
    assert set_style(label, "color: red;")
    assert not set_style(label, "color: red;")
    assert label.styleSheet() == "color: red;"
    assert set_style(label, "")


def test_the_step_indicator_restyles_only_the_labels_that_change(qtbot: QtBot) -> None:
    steps = StepIndicator()
    qtbot.addWidget(steps)
    steps.set_step(Step.PLAN)
    calls: list[str] = []
    for label in steps.labels.values():
        label.setStyleSheet = calls.append  # type: ignore[method-assign]
    steps.set_step(Step.PLAN)
    assert calls == []
    steps.set_step(Step.COLLECT)
    assert len(calls) == 2  # the plan label (now done) and the collect label (now current)
