"""Small dialogs of the station: a reason, a manual order, a forensic custody form.

Cancelling a recollection uses the clinician board's dialog
(:mod:`ui.widgets.recollection_cancel`). Tests replace :func:`ask_reason`,
:func:`ask_order` and :func:`ask_forensic` (module attributes), as they do with
``QMessageBox`` statics.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from PySide6.QtCore import QSortFilterProxyModel, Qt
from PySide6.QtGui import QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QInputDialog,
    QLineEdit,
    QListView,
    QVBoxLayout,
    QWidget,
)

from labdesk.domain.forensic import ForensicForm
from labdesk.domain.order import Priority
from labdesk.kernel.dto import CatalogRow


def ask_reason(parent: QWidget, title: str, prompt: str) -> str | None:
    """A one-line reason, or None when cancelled."""
    text, ok = QInputDialog.getText(parent, title, prompt)
    return text.strip() if ok else None


@dataclass(frozen=True)
class OrderRequest:
    """What the manual order dialog returns."""

    codes: tuple[str, ...]
    provider: str
    priority: Priority


class OrderDialog(QDialog):
    """Pick catalog tests (type to filter, Space ticks), the ordering provider and priority."""

    def __init__(self, catalog: Sequence[CatalogRow], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.tr("Enter an order"))
        self.tests = QStandardItemModel(self)
        for row in catalog:
            item = QStandardItem(f"{row.code} — {row.name} ({row.container_code})")
            item.setData(row.code, Qt.ItemDataRole.UserRole)
            item.setCheckable(True)
            item.setEditable(False)
            self.tests.appendRow(item)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.tests)
        self.proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.filter_edit = QLineEdit(self)
        self.filter_edit.setPlaceholderText(self.tr("Type to filter tests, Space ticks one"))
        self.filter_edit.textChanged.connect(self.proxy.setFilterFixedString)
        self.list = QListView(self)
        self.list.setModel(self.proxy)
        self.provider_edit = QLineEdit(self)
        self.priority_combo = QComboBox(self)
        self.priority_combo.addItem(self.tr("Routine"), Priority.ROUTINE)
        self.priority_combo.addItem(self.tr("STAT"), Priority.STAT)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form = QFormLayout()
        form.addRow(self.tr("&Filter"), self.filter_edit)
        form.addRow(self.tr("&Tests"), self.list)
        form.addRow(self.tr("Ordering &provider"), self.provider_edit)
        form.addRow(self.tr("P&riority"), self.priority_combo)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(buttons)
        self.resize(560, 520)

    def request(self) -> OrderRequest:
        """The ticked tests, provider and priority."""
        codes = tuple(
            str(self.tests.item(i).data(Qt.ItemDataRole.UserRole))
            for i in range(self.tests.rowCount())
            if self.tests.item(i).checkState() == Qt.CheckState.Checked
        )
        return OrderRequest(
            codes, self.provider_edit.text().strip(), Priority(self.priority_combo.currentData())
        )


def ask_order(parent: QWidget, catalog: Sequence[CatalogRow]) -> OrderRequest | None:
    """Run the order dialog; None when cancelled."""
    dialog = OrderDialog(catalog, parent)
    return dialog.request() if dialog.exec() == QDialog.DialogCode.Accepted else None


class ForensicDialog(QDialog):
    """The custody and control form items the collector records for a forensic urine."""

    def __init__(self, observed: bool, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(
            self.tr("Observed recollection — custody form") if observed else self.tr("Custody form")
        )
        self.ccf_edit = QLineEdit(self)
        self.temperature = _spin(0, 45, 1, self.tr(" °C"))
        self.minutes = _spin(0, 60, 1, self.tr(" min"))
        self.bottle_a = _spin(0, 120, 0, self.tr(" mL"))
        self.bottle_b = _spin(0, 120, 0, self.tr(" mL"))
        self.sealed = QCheckBox(self.tr("Bottles A and B &sealed and dated by me"), self)
        self.initialled = QCheckBox(self.tr("Seals &initialled by the donor"), self)
        self.donor_id = QCheckBox(self.tr("Donor &photo ID checked"), self)
        self.observed = QCheckBox(self.tr("Directly &observed collection"), self)
        self.observed.setChecked(observed)
        self.remarks = QLineEdit(self)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form = QFormLayout()
        form.addRow(self.tr("CCF &number"), self.ccf_edit)
        form.addRow(self.tr("&Temperature (32–38 °C)"), self.temperature)
        form.addRow(self.tr("&Minutes void → reading (≤ 4)"), self.minutes)
        form.addRow(self.tr("Bottle &A (≥ 30 mL)"), self.bottle_a)
        form.addRow(self.tr("Bottle &B (≥ 15 mL)"), self.bottle_b)
        for box in (self.sealed, self.initialled, self.donor_id, self.observed):
            form.addRow("", box)
        form.addRow(self.tr("&Remarks"), self.remarks)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(buttons)

    def form(self) -> ForensicForm:
        """The form as entered (0 in a number field counts as not entered)."""
        return ForensicForm(
            ccf_number=self.ccf_edit.text(),
            temperature_c=self.temperature.value() or None,
            minutes_to_temperature_read=self.minutes.value() if self.temperature.value() else None,
            bottle_a_ml=self.bottle_a.value() or None,
            bottle_b_ml=self.bottle_b.value() or None,
            bottles_sealed_and_dated=self.sealed.isChecked(),
            donor_initialled_seals=self.initialled.isChecked(),
            donor_id_checked=self.donor_id.isChecked(),
            observed=self.observed.isChecked(),
            remarks=self.remarks.text(),
        )


def _spin(low: float, high: float, decimals: int, suffix: str) -> QDoubleSpinBox:
    spin = QDoubleSpinBox()
    spin.setRange(low, high)
    spin.setDecimals(decimals)
    spin.setSuffix(suffix)
    spin.setSpecialValueText("—")
    return spin


def ask_forensic(parent: QWidget, *, observed: bool = False) -> ForensicForm | None:
    """Run the custody form dialog; None when cancelled."""
    dialog = ForensicDialog(observed, parent)
    return dialog.form() if dialog.exec() == QDialog.DialogCode.Accepted else None
