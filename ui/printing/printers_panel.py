"""Admin "Printers" tab: this station's printers, a test print, and the print queue.

All printer and database work runs off the UI thread: reads as bus queries; saving the
printers, printing (a test label, a reprint) and checking an unconfirmed job as commands
(a print job is committed by the command, then sent by its after-commit step). Tests
replace :func:`ask_reason` (a module attribute), as they do with ``QMessageBox`` statics.

The queue reloads when print jobs change at any station (``ui/live.py``; while the panel is
shown, else once it is shown again); without a change feed it is re-read every 15 s while
shown.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import (
    QFormLayout,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from labdesk.domain.printing import PrintJobKind, PrintJobStatus
from labdesk.kernel.changes import Topic
from labdesk.kernel.dto import SignedInUser
from labdesk.printing.commands import (
    PrintTestLabel,
    ReprintJob,
    ResolveUnconfirmedJob,
    UpdateStationPrinters,
)
from labdesk.printing.dto import PrinterCheck, PrintJobRow, PrintSetup, StationPrinters
from labdesk.printing.station_printers import station_printers
from labdesk.printing.views import list_print_jobs, printer_status
from ui.context import AppContext
from ui.printing.queue_model import PrintQueueModel
from ui.tasks import CommandOp, QueryOp, run_in_background
from ui.widgets.errors import error_text
from ui.widgets.message_view import MessageView
from ui.widgets.table_view import sorting_table_view

if TYPE_CHECKING:
    from ui.live import LiveView

QUEUE_REFRESH_MS = 15_000
QUEUE_LIMIT = 200


def ask_reason(parent: QWidget, title: str, prompt: str) -> str | None:
    """A one-line reason, or None when cancelled."""
    text, ok = QInputDialog.getText(parent, title, prompt)
    return text.strip() if ok else None


class PrintersPanel(QWidget):
    """Edits the station's printer addresses and shows the station's print queue."""

    printers_loaded = Signal(object)
    queue_loaded = Signal(int)
    action_finished = Signal(str)

    def __init__(
        self, context: AppContext, user: SignedInUser, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self._context = context
        self._user = user
        self.label_edit = QLineEdit(self)
        self.label_edit.setPlaceholderText("tcp://192.168.1.50:9100")
        self.document_edit = QLineEdit(self)
        self.document_edit.setPlaceholderText("pdf:///srv/labdesk/documents")
        self.hint_label = QLabel(
            self.tr(
                "Addresses: tcp://HOST:9100 (network Zebra), cups://QUEUE (raw CUPS queue), "
                "file:///FOLDER (virtual printer), pdf:///FILE.pdf (documents). Test print "
                "uses the label printer typed above, saved or not."
            ),
            self,
        )
        self.hint_label.setWordWrap(True)
        # Both quote addresses, which may be long and have no spaces: they wrap anywhere
        # instead of widening the panel or being cut off (issue 11, item 7).
        self.override_label = MessageView(self)
        self.override_label.setVisible(False)
        self.save_button = QPushButton(self.tr("&Save printers"), self)
        self.test_button = QPushButton(self.tr("&Test print"), self)
        self.message = MessageView(self)
        self.model = PrintQueueModel(context.config.clinic_timezone, self)
        self.table: QTableView = sorting_table_view(self.model, self)
        self.refresh_button = QPushButton(self.tr("&Refresh"), self)
        self.reprint_button = QPushButton(self.tr("Re&print…"), self)
        self.printed_button = QPushButton(self.tr("It &printed"), self)
        self.not_printed_button = QPushButton(self.tr("It did &not print"), self)
        self._layout()
        self.save_button.clicked.connect(self.save)
        self.test_button.clicked.connect(self.test_print)
        self.refresh_button.clicked.connect(self.reload_queue)
        self.reprint_button.clicked.connect(self.reprint_selected)
        self.printed_button.clicked.connect(lambda: self.resolve_selected(printed=True))
        self.not_printed_button.clicked.connect(lambda: self.resolve_selected(printed=False))
        self.table.selectionModel().selectionChanged.connect(self._update_buttons)
        self._timer = QTimer(self)
        self._timer.setInterval(QUEUE_REFRESH_MS)
        self._timer.timeout.connect(self._refresh_if_visible)
        self._update_buttons()
        self.live_view: LiveView | None = None
        if context.print_setup is None:
            self.setEnabled(False)
            self.message.show_error(self.tr("Printing is not set up in this app."))
            return
        live = context.live
        if live is None:
            self._timer.start()  # no change feed: poll while shown
        else:
            self.live_view = live.watch(
                self, (Topic.PRINT_JOBS,), self.reload_queue, finished=self.queue_loaded
            )
        self.reload()

    @property
    def setup(self) -> PrintSetup:
        """This workstation's print setup (the panel is disabled without one)."""
        assert self._context.print_setup is not None
        return self._context.print_setup

    def _layout(self) -> None:
        form = QFormLayout()
        form.addRow(self.tr("&Label printer"), self.label_edit)
        form.addRow(self.tr("&Document printer"), self.document_edit)
        buttons = QHBoxLayout()
        buttons.addWidget(self.save_button)
        buttons.addWidget(self.test_button)
        buttons.addStretch(1)
        queue_buttons = QHBoxLayout()
        queue_buttons.addWidget(QLabel(self.tr("Print queue of this station"), self))
        queue_buttons.addStretch(1)
        for button in (
            self.refresh_button,
            self.printed_button,
            self.not_printed_button,
            self.reprint_button,
        ):
            queue_buttons.addWidget(button)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.hint_label)
        layout.addWidget(self.override_label)
        layout.addLayout(buttons)
        layout.addWidget(self.message)
        layout.addLayout(queue_buttons)
        layout.addWidget(self.table, 1)

    # ------------------------------------------------------------ loading

    def reload(self) -> None:
        """Load the station's printers and its queue in the background."""
        QueryOp(self._context.bus, station_printers, self.setup).run(
            self._show_printers, self._failed, owner=self
        )
        self.reload_queue()

    def reload_queue(self) -> None:
        """Load the newest print jobs in the background."""
        QueryOp(
            self._context.bus,
            list_print_jobs,
            self._user,
            station_code=self.setup.station_code,
            limit=QUEUE_LIMIT,
        ).run(self._show_queue, self._failed, owner=self)

    def _refresh_if_visible(self) -> None:
        if self.isVisible():
            self.reload_queue()

    def _show_printers(self, printers: StationPrinters) -> None:
        self.label_edit.setText(printers.label_printer_uri)
        self.document_edit.setText(printers.document_printer_uri)
        overrides = [
            self.tr("label printer {uri}").format(uri=printers.label_override)
            if printers.label_override
            else "",
            self.tr("document printer {uri}").format(uri=printers.document_override)
            if printers.document_override
            else "",
        ]
        shown = [text for text in overrides if text]
        self.override_label.setVisible(bool(shown))
        self.override_label.show_info(
            self.tr(
                "This workstation overrides the stored {what} (config file or "
                "LABDESK_LABEL_PRINTER / LABDESK_DOCUMENT_PRINTER)."
            ).format(what=self.tr(" and ").join(shown))
        )
        self.printers_loaded.emit(printers)

    def _show_queue(self, rows: list[PrintJobRow]) -> None:
        self.model.set_rows(rows)
        self._update_buttons()
        self.queue_loaded.emit(len(rows))

    def _failed(self, error: Exception) -> None:
        self.message.show_error(error_text(error))
        self.action_finished.emit(self.message.text())
        if self.live_view is not None:
            self.live_view.load_failed()  # the next change may reload (never stuck loading)

    # ------------------------------------------------------------ actions

    def save(self) -> None:
        """Store the station's printer addresses (checked first; audited)."""
        command = UpdateStationPrinters(
            setup=self.setup,
            label_printer_uri=self.label_edit.text(),
            document_printer_uri=self.document_edit.text(),
        )

        def done(printers: StationPrinters) -> None:
            self._show_printers(printers)
            self._info(
                self.tr("Printers saved for station {code}.").format(code=self.setup.station_code)
            )

        CommandOp(self._context.bus, command, self._user).run(done, self._failed, owner=self)

    def test_print(self) -> None:
        """Ask the printer for its status, then print a test label on it."""
        typed = self.label_edit.text().strip() or None
        bus, user, setup = self._context.bus, self._user, self.setup
        command = PrintTestLabel(setup=setup, printer_uri=typed)
        self.test_button.setEnabled(False)
        self.message.show_info(self.tr("Printing a test label…"))

        def work() -> tuple[PrinterCheck, PrintJobRow]:
            row = bus.handle(command, user)
            return printer_status(setup.opener, row.printer_uri), row

        run_in_background(work, self._tested, self._test_failed, owner=self)

    def _tested(self, result: tuple[PrinterCheck, PrintJobRow]) -> None:
        check, row = result
        self.test_button.setEnabled(True)
        self.reload_queue()
        if row.printed:
            self._info(
                self.tr("Test label printed on {uri} (job {job}). Printer: {state}").format(
                    uri=row.printer_uri, job=row.id, state=check.summary
                )
            )
        else:
            self.message.show_error(
                self.tr("The test label did not print (job {job}): {error}").format(
                    job=row.id, error=row.last_error
                )
            )
            self.action_finished.emit(self.message.text())

    def _test_failed(self, error: Exception) -> None:
        self.test_button.setEnabled(True)
        self._failed(error)

    def reprint_selected(self) -> None:
        """Reprint the selected label job after asking why."""
        row = self._selected()
        if row is None:
            return
        reason = ask_reason(
            self,
            self.tr("Reprint label"),
            self.tr("Why is the label of {what} printed again?").format(
                what=row.accession or self.tr("job {job}").format(job=row.id)
            ),
        )
        if reason is None:
            return
        command = ReprintJob(setup=self.setup, job_id=row.id, reason=reason)
        CommandOp(self._context.bus, command, self._user).run(
            self._reprinted, self._failed, owner=self
        )

    def resolve_selected(self, *, printed: bool) -> None:
        """Record whether the selected unconfirmed job's label is on the tube."""
        row = self._selected()
        if row is None or not row.unconfirmed:
            return
        command = ResolveUnconfirmedJob(setup=self.setup, job_id=row.id, printed=printed)
        CommandOp(self._context.bus, command, self._user).run(
            self._resolved, self._failed, owner=self
        )

    def _reprinted(self, row: PrintJobRow) -> None:
        self.reload_queue()
        if row.printed:
            self._info(self.tr("Reprint printed (job {job}).").format(job=row.id))
            return
        self.message.show_error(
            self.tr("The reprint (job {job}) did not print: {error}").format(
                job=row.id, error=row.last_error
            )
        )
        self.action_finished.emit(self.message.text())

    def _resolved(self, row: PrintJobRow) -> None:
        self.reload_queue()
        if row.printed:
            self._info(self.tr("Job {job} marked as printed.").format(job=row.id))
        else:
            self._info(
                self.tr("Job {job} marked as not printed: select it and reprint.").format(
                    job=row.id
                )
            )

    # ------------------------------------------------------------ helpers

    def _selected(self) -> PrintJobRow | None:
        indexes = self.table.selectionModel().selectedRows()
        if not indexes:
            return None
        proxy = self.table.model()
        source = proxy.mapToSource(indexes[0])  # type: ignore[attr-defined]
        return self.model.row_at(source.row())

    def _update_buttons(self) -> None:
        row = self._selected()
        reprintable = (
            row is not None
            and row.kind is PrintJobKind.LABEL
            and row.status is not PrintJobStatus.QUEUED
        )
        self.reprint_button.setEnabled(reprintable)
        unconfirmed = row is not None and row.unconfirmed
        self.printed_button.setEnabled(unconfirmed)
        self.not_printed_button.setEnabled(unconfirmed)

    def _info(self, text: str) -> None:
        self.message.show_info(text)
        self.action_finished.emit(text)
