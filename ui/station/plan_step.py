"""Step 3: the patient's orders (add, cancel) and the draw plan in order of draw.

In a recollection visit the plan holds only the tests to draw again; the patient's other
pending tests join when the assistant ticks "also draw the pending tests".
"""

from __future__ import annotations

from datetime import UTC, datetime

from PySide6.QtCore import QSortFilterProxyModel, Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from labdesk.domain.draw_plan import DrawPlan
from labdesk.domain.order import TestStatus
from labdesk.station.at_chair import ChairChecks
from labdesk.station.dto import EncounterView
from ui.station.models import OrdersModel, PlanModel
from ui.station.preparation_panel import PreparationPanel
from ui.station.style import set_style
from ui.station.swatch import install_swatch
from ui.station.tables import fit_to_rows, station_table
from ui.station.volume_panel import VolumePanel
from ui.widgets.feedback import COLOURS, Tone
from ui.widgets.message_label import MessageLabel


def _shortcut(widget: QWidget, text: str, keys: str, slot: object) -> QAction:
    action = QAction(text, widget)
    action.setShortcut(QKeySequence(keys))
    action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
    action.triggered.connect(slot)
    widget.addAction(action)
    return action


class PlanStep(QWidget):
    """Orders on top, the draw plan below; Collect moves on."""

    add_order_requested = Signal()
    cancel_requested = Signal(list)
    """Ordered test ids to cancel (the page asks for the reason)."""
    collect_requested = Signal()
    winged_set_changed = Signal(bool)
    with_pending_changed = Signal(bool)
    """In a recollection visit: plan the patient's pending tests too."""
    cancel_recollection_requested = Signal()

    def __init__(self, timezone: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.orders_model = OrdersModel(timezone, self)
        self.plan_model = PlanModel(self)
        self.orders_table: QTableView = station_table(self.orders_model, self)
        self.orders_table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.plan_table: QTableView = station_table(self.plan_model, self)
        self.plan_table.setSortingEnabled(False)  # the order of draw is the order
        install_swatch(self.plan_table, PlanModel.CAP_COLUMN)
        self.add_button = QPushButton(self.tr("&Add order… (Ctrl+N)"), self)
        self.cancel_button = QPushButton(self.tr("Cancel selected tests… (Del)"), self)
        self.winged_check = QCheckBox(self.tr("&Winged (butterfly) set"), self)
        self.pending_check = QCheckBox(self.tr("Also draw the &pending tests"), self)
        self.pending_check.hide()
        self.cancel_recollection_button = QPushButton(self.tr("Cancel recollection…"), self)
        self.cancel_recollection_button.hide()
        self.may_cancel_recollection = True
        """False hides the cancel button (only a clinician may cancel a recollection)."""
        self.plan_heading = QLabel(self)
        self.collect_button = QPushButton(self.tr("Co&llect… (Ctrl+K)"), self)
        self.collect_button.setDefault(True)
        self.summary_label = QLabel(self)
        self.notes_label = MessageLabel(self)
        self.problems_label = MessageLabel(self)
        self.message = MessageLabel(self)
        self.preparation = PreparationPanel(timezone, lambda: datetime.now(UTC), self)
        self.volume = VolumePanel(self)
        self._has_containers = False
        self.preparation.changed.connect(self._gate_collect)
        self.volume.changed.connect(self._gate_collect)
        self._build_layout()
        self.add_button.clicked.connect(self.add_order_requested)
        self.cancel_button.clicked.connect(self._cancel_selected)
        self.collect_button.clicked.connect(self.collect_requested)
        self.winged_check.toggled.connect(self.winged_set_changed)
        self.pending_check.toggled.connect(self.with_pending_changed)
        self.cancel_recollection_button.clicked.connect(self.cancel_recollection_requested)
        _shortcut(self, self.tr("Add order"), "Ctrl+N", self.add_order_requested.emit)
        _shortcut(self, self.tr("Collect"), "Ctrl+K", self.collect_button.click)
        cancel = QAction(self.tr("Cancel tests"), self.orders_table)
        cancel.setShortcut(QKeySequence(Qt.Key.Key_Delete))
        cancel.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        cancel.triggered.connect(self._cancel_selected)
        self.orders_table.addAction(cancel)
        self.setFocusProxy(self.collect_button)

    def _build_layout(self) -> None:
        orders_bar = QHBoxLayout()
        orders_bar.addWidget(QLabel(self.tr("<b>Orders</b>")))
        orders_bar.addStretch(1)
        orders_bar.addWidget(self.add_button)
        orders_bar.addWidget(self.cancel_button)
        plan_bar = QHBoxLayout()
        plan_bar.addWidget(self.plan_heading)
        plan_bar.addWidget(self.summary_label, 1)
        plan_bar.addWidget(self.cancel_recollection_button)
        plan_bar.addWidget(self.pending_check)
        plan_bar.addWidget(self.winged_check)
        plan_bar.addWidget(self.collect_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(orders_bar)
        layout.addWidget(self.orders_table, 2)
        layout.addLayout(plan_bar)
        layout.addWidget(self.problems_label)
        layout.addWidget(self.plan_table, 3)
        layout.addWidget(self.notes_label)
        layout.addWidget(self.preparation)
        layout.addWidget(self.volume)
        layout.addWidget(self.message)
        self.setTabOrder(self.orders_table, self.add_button)
        self.setTabOrder(self.add_button, self.cancel_button)
        self.setTabOrder(self.cancel_button, self.plan_table)
        self.setTabOrder(self.plan_table, self.pending_check)
        self.setTabOrder(self.pending_check, self.winged_check)
        self.setTabOrder(self.winged_check, self.collect_button)

    def show_encounter(self, view: EncounterView) -> None:
        """Fill the tables from ``view``."""
        self.orders_model.set_rows(view.orders)
        fit_to_rows(self.orders_table, self.orders_model)
        plan = view.plan
        self.plan_model.set_rows(plan.containers)
        fit_to_rows(self.plan_table, self.plan_model)
        blood = len(plan.blood)
        self.summary_label.setText(
            self.tr("{blood} blood tube(s), {blood_ml:g} mL blood · {urine} urine").format(
                blood=blood, blood_ml=plan.total_blood_volume_ml, urine=len(plan.urine)
            )
        )
        self.notes_label.show_info("\n".join(plan.notes))
        self.notes_label.setVisible(bool(plan.notes))
        self.problems_label.setVisible(bool(plan.problems))
        if plan.problems:
            self.problems_label.show_error(
                "\n".join(
                    self.tr("NO LABEL for {code}: {message} {hint}").format(
                        code=p.test_code, message=p.message, hint=p.hint
                    )
                    for p in plan.problems
                )
            )
        else:
            self.problems_label.show_info("")
        self._has_containers = bool(plan.containers)
        self._gate_collect()
        self._show_mode(view)
        set_style(self.summary_label, f"color: {COLOURS[Tone.OK]};" if blood else "")

    def _show_mode(self, view: EncounterView) -> None:
        """Heading, recollection controls and the hint under the plan."""
        info = view.recollection
        pending = sum(r.status is TestStatus.ORDERED for r in view.orders)
        self.pending_check.setVisible(info is not None and (pending > 0 or self.with_pending))
        self.pending_check.setText(self.tr("Also draw the &pending tests (%n)", "", pending))
        self.cancel_recollection_button.setVisible(
            info is not None and info.open and self.may_cancel_recollection
        )
        if info is None:
            self.plan_heading.setText(self.tr("<b>Draw plan</b> (CLSI order of draw)"))
            if not pending:
                self.message.show_info(
                    self.tr("Nothing left to collect. Add an order, or go on to the labels.")
                )
            else:
                self.message.show_info("")
            return
        self.plan_heading.setText(self.tr("<b>Recollection draw plan</b> (CLSI order of draw)"))
        if info.open and info.test_codes:
            self.message.show_info(
                self.tr("Draw again only: {tests}. The labels are new ones.").format(
                    tests=", ".join(info.test_codes)
                )
            )
        elif info.open:
            self.message.show_error(
                self.tr("Nothing of this recollection is left to draw: cancel the task.")
            )
        elif info.recollected_accession:
            self.message.show_info(
                self.tr("Recollection saved as {accession}: print the labels (step 5).").format(
                    accession=info.recollected_accession
                )
            )
        else:
            self.message.show_info(self.tr("This recollection was cancelled."))

    def show_chair(self, checks: ChairChecks, plan: DrawPlan) -> None:
        """The preparation questions and the blood-volume check of the plan shown."""
        self.preparation.set_requirements(checks.requirements, plan)
        self.volume.show_check(checks.volume)
        self._gate_collect()

    def _gate_collect(self) -> None:
        """Collect needs containers, every preparation answer, and blood within the limit."""
        ready = self.preparation.ready() and self.volume.ready()
        self.collect_button.setEnabled(self._has_containers and ready)
        if self._has_containers and not ready:
            self.collect_button.setToolTip(
                self.tr("Answer the preparation questions and settle the blood volume first.")
            )
        else:
            self.collect_button.setToolTip("")

    @property
    def with_pending(self) -> bool:
        """True when the pending tests are planned with the recollection."""
        return self.pending_check.isChecked()

    def reset(self) -> None:
        """Back to an ordinary visit (the recollection choice is forgotten)."""
        self.pending_check.blockSignals(True)
        self.pending_check.setChecked(False)
        self.pending_check.blockSignals(False)

    def selected_test_ids(self) -> list[int]:
        """Ids of the selected ordered tests."""
        proxy = self.orders_table.model()
        assert isinstance(proxy, QSortFilterProxyModel)
        selected = self.orders_table.selectionModel().selectedRows()
        rows = {proxy.mapToSource(i).row() for i in selected}
        return [self.orders_model.row_at(r).ordered_test_id for r in sorted(rows)]

    def _cancel_selected(self) -> None:
        ids = self.selected_test_ids()
        if ids:
            self.cancel_requested.emit(ids)
        else:
            self.message.show_error(self.tr("Select the tests to cancel first."))
