"""Step 5: print this patient's labels, see the preview, scan each tube back, finish."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QKeySequence, QPixmap
from PySide6.QtWidgets import (
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from labdesk.station.dto import (
    AlarmRow,
    EncounterSpecimen,
    EncounterView,
    PrintOutcome,
    ScanOutcome,
    ScanResult,
)
from ui.scanner import route_scans_from
from ui.station.models import AlarmsModel, SpecimensModel
from ui.station.swatch import install_swatch
from ui.station.tables import station_table
from ui.widgets.feedback import Tone, flash
from ui.widgets.message_label import MessageLabel

PREVIEW_WIDTH = 420


def tone_of(outcome: ScanOutcome) -> Tone:
    """The sound and colour of a scan-back outcome."""
    return {
        ScanResult.TICKED: Tone.OK,
        ScanResult.DUPLICATE: Tone.WARNING,
        ScanResult.NOT_LABELLED: Tone.WARNING,
        ScanResult.ALARM: Tone.ALARM,
    }[outcome.result]


class LabelsStep(QWidget):
    """Print (Ctrl+P), preview, scan-back list with ticks and alarms, finish or abandon."""

    print_requested = Signal()
    mark_printed_requested = Signal()
    """The MA checked the tubes of unconfirmed labels: the labels are there and good."""
    reprint_requested = Signal()
    """The MA checked the tubes of unconfirmed labels: missing or partial, print again."""
    scan_typed = Signal(str)
    """An accession typed by hand (when a label will not scan)."""
    resolve_requested = Signal(int)
    observed_requested = Signal(int)
    waive_requested = Signal(int)
    finish_requested = Signal()

    def __init__(self, timezone: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.specimens_model = SpecimensModel(timezone, self)
        self.alarms_model = AlarmsModel(timezone, self)
        self.specimens_table: QTableView = station_table(self.specimens_model, self)
        self.specimens_table.setSortingEnabled(False)
        install_swatch(self.specimens_table, SpecimensModel.CAP_COLUMN)
        self.alarms_table: QTableView = station_table(self.alarms_model, self)
        self.print_button = QPushButton(self.tr("&Print labels (Ctrl+P)"), self)
        self.preview = QLabel(self.tr("The label preview appears here after printing."), self)
        self.preview.setMinimumSize(PREVIEW_WIDTH, 160)
        self.preview.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.preview.setStyleSheet("background: white; border: 1px solid #aaa;")
        self.print_status = MessageLabel(self)
        self.mark_printed_button = QPushButton(self.tr("Label is on the tube: &mark printed"), self)
        self.reprint_button = QPushButton(self.tr("Missing or partial: r&eprint"), self)
        self.mark_printed_button.hide()
        self.reprint_button.hide()
        self.scan_status = QLabel(self.tr("Scan each labelled tube now."), self)
        self.scan_status.setWordWrap(True)
        self.manual_edit = QLineEdit(self)
        self.manual_edit.setPlaceholderText(self.tr("Label will not scan? Type its number + Enter"))
        route_scans_from(self.manual_edit)
        self.alarm_banner = QLabel(self)
        self.alarm_banner.setWordWrap(True)
        self.alarm_banner.hide()
        self.resolve_button = QPushButton(self.tr("&Resolve alarm… (Ctrl+R)"), self)
        self.observed_button = QPushButton(self.tr("&Observed recollection…"), self)
        self.waive_button = QPushButton(self.tr("No recollection (reason)…"), self)
        self.finish_button = QPushButton(self.tr("&Finish visit (Ctrl+Enter)"), self)
        self.blockers_label = MessageLabel(self)
        self._build_layout()
        self.print_button.clicked.connect(self.print_requested)
        self.mark_printed_button.clicked.connect(self.mark_printed_requested)
        self.reprint_button.clicked.connect(self.reprint_requested)
        self.manual_edit.returnPressed.connect(self._typed)
        self.resolve_button.clicked.connect(self._resolve)
        self.observed_button.clicked.connect(self._observed)
        self.waive_button.clicked.connect(self._waive)
        self.finish_button.clicked.connect(self.finish_requested)
        for keys, slot in (
            ("Ctrl+P", self.print_requested.emit),
            ("Ctrl+R", self._resolve),
            ("Ctrl+Return", self.finish_requested.emit),
            ("Ctrl+Enter", self.finish_requested.emit),
        ):
            action = QAction(self)
            action.setShortcut(QKeySequence(keys))
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            action.triggered.connect(slot)
            self.addAction(action)
        self.setFocusProxy(self.specimens_table)  # always enabled; scans land here

    def _build_layout(self) -> None:
        left = QVBoxLayout()
        left.addWidget(self.print_button, 0, Qt.AlignmentFlag.AlignLeft)
        left.addWidget(self.preview)
        left.addWidget(self.print_status)
        unconfirmed = QHBoxLayout()
        unconfirmed.addWidget(self.mark_printed_button)
        unconfirmed.addWidget(self.reprint_button)
        unconfirmed.addStretch(1)
        left.addLayout(unconfirmed)
        left.addStretch(1)
        right = QVBoxLayout()
        tubes_bar = QHBoxLayout()
        tubes_bar.addWidget(QLabel(self.tr("<b>Tubes of this patient</b>")))
        tubes_bar.addStretch(1)
        tubes_bar.addWidget(self.observed_button)
        tubes_bar.addWidget(self.waive_button)
        right.addLayout(tubes_bar)
        right.addWidget(self.specimens_table, 2)
        right.addWidget(self.scan_status)
        right.addWidget(self.manual_edit)
        alarm_bar = QHBoxLayout()
        alarm_bar.addWidget(QLabel(self.tr("<b>Scan alarms</b>")))
        alarm_bar.addStretch(1)
        alarm_bar.addWidget(self.resolve_button)
        right.addLayout(alarm_bar)
        right.addWidget(self.alarm_banner)
        right.addWidget(self.alarms_table, 1)
        finish = QHBoxLayout()
        finish.addWidget(self.blockers_label, 1)
        finish.addWidget(self.finish_button)
        right.addLayout(finish)
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.addLayout(left, 0, 0)
        grid.addLayout(right, 0, 1)
        grid.setColumnStretch(1, 1)
        self.setTabOrder(self.print_button, self.manual_edit)
        self.setTabOrder(self.manual_edit, self.resolve_button)
        self.setTabOrder(self.resolve_button, self.finish_button)

    def reset(self) -> None:
        """Clear the preview and messages for the next patient."""
        self.preview.setPixmap(QPixmap())
        self.preview.setText(self.tr("The label preview appears here after printing."))
        self.print_status.show_info("")
        self._show_unconfirmed_actions(False)
        self.scan_status.setText(self.tr("Scan each labelled tube now."))
        self.scan_status.setStyleSheet("")

    def show_encounter(self, view: EncounterView) -> None:
        """Tubes, alarms and what still blocks finishing."""
        self.specimens_model.set_rows(view.specimens)
        self.alarms_model.set_rows(view.alarms)
        recollect = any(s.needs_observed_recollection for s in view.specimens)
        self.observed_button.setVisible(recollect)
        self.waive_button.setVisible(recollect)
        self.resolve_button.setEnabled(bool(view.open_alarms))
        self.print_button.setEnabled(any(not s.labelled for s in view.specimens))
        if view.blockers:
            self.blockers_label.show_error(
                self.tr("Before finishing: {items}.").format(items="; ".join(view.blockers))
            )
        else:
            self.blockers_label.show_info(self.tr("All done: finish the visit (Ctrl+Enter)."))
        alarms = len(view.open_alarms)
        self.alarm_banner.setVisible(bool(alarms))
        if alarms:
            self.alarm_banner.setText(
                self.tr(
                    "⚠ %n open scan alarm(s): set the wrong tube aside, then resolve (Ctrl+R).",
                    "",
                    alarms,
                )
            )
            flash(self.alarm_banner, Tone.ALARM)

    def show_print(self, outcome: PrintOutcome) -> None:
        """The preview of the first label and what printed."""
        if outcome.preview_png:
            pixmap = QPixmap()
            pixmap.loadFromData(outcome.preview_png, "PNG")
            self.preview.setPixmap(
                pixmap.scaledToWidth(PREVIEW_WIDTH, Qt.TransformationMode.SmoothTransformation)
            )
        unconfirmed = outcome.unconfirmed
        self._show_unconfirmed_actions(bool(unconfirmed))
        if outcome.all_printed:
            self.print_status.show_info(
                self.tr(
                    "%n label(s) printed. Label each tube now, then scan it.",
                    "",
                    len(outcome.labels),
                )
            )
        else:
            lines = [f"{label.accession}: {label.message}" for label in outcome.failures]
            head = []
            if unconfirmed:
                head.append(
                    self.tr(
                        "%n label(s) unconfirmed: check the tube, mark printed or reprint.",
                        "",
                        len(unconfirmed),
                    )
                )
            others = len(outcome.failures) - len(unconfirmed)
            if others:
                head.append(
                    self.tr(
                        "%n label(s) did not print. Fix the printer and press Print again "
                        "(only the missing labels print).",
                        "",
                        others,
                    )
                )
            self.print_status.show_error("\n".join([*head, *lines]))

    def _show_unconfirmed_actions(self, visible: bool) -> None:
        self.mark_printed_button.setVisible(visible)
        self.reprint_button.setVisible(visible)

    def show_scan(self, outcome: ScanOutcome) -> None:
        """Colour and text of the latest scan."""
        self.scan_status.setText(outcome.message)
        flash(self.scan_status, tone_of(outcome))

    def _typed(self) -> None:
        text = self.manual_edit.text().strip()
        self.manual_edit.clear()
        if text:
            self.scan_typed.emit(text)

    def _selected_alarm(self) -> int | None:
        for i in range(self.alarms_model.rowCount()):
            alarm: AlarmRow = self.alarms_model.row_at(i)
            if alarm.open:
                return alarm.id
        return None

    def _resolve(self) -> None:
        alarm = self._selected_alarm()
        if alarm is not None:
            self.resolve_requested.emit(alarm)

    def _recollection_specimen(self) -> int | None:
        for i in range(self.specimens_model.rowCount()):
            row: EncounterSpecimen = self.specimens_model.row_at(i)
            if row.needs_observed_recollection:
                return row.id
        return None

    def _observed(self) -> None:
        specimen = self._recollection_specimen()
        if specimen is not None:
            self.observed_requested.emit(specimen)

    def _waive(self) -> None:
        specimen = self._recollection_specimen()
        if specimen is not None:
            self.waive_requested.emit(specimen)
