"""Stations tab: register workstations and sites (printer addresses live on the printers panel)."""

from __future__ import annotations

from PySide6.QtCore import QT_TRANSLATE_NOOP, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from labdesk.access import workstations as stations
from labdesk.access.commands import SaveSite, SaveStation
from labdesk.kernel.dto import SignedInUser
from ui.context import AppContext
from ui.tasks import CommandOp, QueryOp
from ui.widgets.errors import error_text
from ui.widgets.message_label import MessageLabel
from ui.widgets.table_model import Column, RowTableModel
from ui.widgets.table_view import sorting_table_view

_CONTEXT = "StationsTableModel"


class StationsTableModel(RowTableModel[stations.StationRow]):
    """One row per workstation."""

    translation_context = _CONTEXT
    columns = (
        Column[stations.StationRow](QT_TRANSLATE_NOOP(_CONTEXT, "Code"), lambda r: r.code),
        Column[stations.StationRow](QT_TRANSLATE_NOOP(_CONTEXT, "Name"), lambda r: r.name),
        Column[stations.StationRow](QT_TRANSLATE_NOOP(_CONTEXT, "Site"), lambda r: r.site_code),
        Column[stations.StationRow](
            QT_TRANSLATE_NOOP(_CONTEXT, "Label printer"),
            lambda r: r.label_printer_uri or "—",
            stretch=True,
        ),
        Column[stations.StationRow](
            QT_TRANSLATE_NOOP(_CONTEXT, "Document printer"),
            lambda r: r.document_printer_uri or "—",
        ),
    )


class StationsPanel(QWidget):
    """Lists stations; adds or renames a station or a site."""

    loaded = Signal(int)
    saved = Signal()

    def __init__(self, context: AppContext, user: SignedInUser, parent: QWidget | None = None):
        super().__init__(parent)
        self._context = context
        self._user = user
        self.model = StationsTableModel(self)
        self.table: QTableView = sorting_table_view(self.model, self)
        self.message_label = MessageLabel(self)
        self.code_edit = QLineEdit()
        self.code_edit.setPlaceholderText("DRAW-2")
        self.name_edit = QLineEdit()
        self.site_combo = QComboBox()
        self.site_combo.setEditable(True)
        save = QPushButton(self.tr("Save station"))
        save.clicked.connect(self._save_clicked)
        station_form = QFormLayout()
        station_form.addRow(self.tr("Station &code"), self.code_edit)
        station_form.addRow(self.tr("Station &name"), self.name_edit)
        station_form.addRow(self.tr("&Site"), self.site_combo)
        station_form.addRow("", save)
        station_box = QGroupBox(self.tr("Add or change a station"))
        station_box.setLayout(station_form)
        self.site_code_edit = QLineEdit()
        self.site_name_edit = QLineEdit()
        self.site_zone_edit = QLineEdit(context.config.clinic_timezone)
        self.site_lab_check = QCheckBox(self.tr("This site is a lab"))
        save_site = QPushButton(self.tr("Save site"))
        save_site.clicked.connect(self._save_site_clicked)
        site_form = QFormLayout()
        site_form.addRow(self.tr("Site c&ode"), self.site_code_edit)
        site_form.addRow(self.tr("Site na&me"), self.site_name_edit)
        site_form.addRow(self.tr("&Time zone"), self.site_zone_edit)
        site_form.addRow("", self.site_lab_check)
        site_form.addRow("", save_site)
        site_box = QGroupBox(self.tr("Add or change a site"))
        site_box.setLayout(site_form)
        forms = QHBoxLayout()
        forms.addWidget(station_box)
        forms.addWidget(site_box)
        layout = QVBoxLayout(self)
        layout.addWidget(self.message_label)
        layout.addWidget(self.table, 1)
        layout.addLayout(forms)
        self.reload()

    def reload(self) -> None:
        """Fetch stations and sites in the background."""
        clock, user = self._context.clock, self._user
        QueryOp(
            self._context.bus,
            lambda uow: (
                stations.list_stations(uow, clock, user),
                stations.list_sites(uow, clock, user),
            ),
        ).run(self._show, self._failed, owner=self)

    def _show(self, data: tuple[list[stations.StationRow], list[stations.SiteRow]]) -> None:
        rows, sites = data
        self.model.set_rows(rows)
        current = self.site_combo.currentText()
        self.site_combo.clear()
        self.site_combo.addItems([s.code for s in sites])
        if current:
            self.site_combo.setCurrentText(current)
        self.loaded.emit(len(rows))

    def _failed(self, error: Exception) -> None:
        self.message_label.show_error(error_text(error))

    def save_station(self, code: str, name: str, site_code: str) -> None:
        """Register or update a station in the background."""
        command = SaveStation(code=code, name=name, site_code=site_code)
        CommandOp(self._context.bus, command, self._user).run(self._saved, self._failed, owner=self)

    def save_site(self, code: str, name: str, timezone: str, is_lab: bool) -> None:
        """Create or update a site in the background."""
        command = SaveSite(code=code, name=name, timezone=timezone, is_lab=is_lab)
        CommandOp(self._context.bus, command, self._user).run(self._saved, self._failed, owner=self)

    def _saved(self, row: stations.StationRow | stations.SiteRow) -> None:
        self.message_label.show_info(self.tr("Saved {code}.").format(code=row.code))
        self.saved.emit()
        self.reload()

    def _save_clicked(self) -> None:
        self.save_station(
            self.code_edit.text(), self.name_edit.text(), self.site_combo.currentText()
        )

    def _save_site_clicked(self) -> None:
        self.save_site(
            self.site_code_edit.text(),
            self.site_name_edit.text(),
            self.site_zone_edit.text(),
            self.site_lab_check.isChecked(),
        )
