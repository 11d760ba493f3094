"""Lab receiving page: scan the courier's manifest, then its specimens; reconcile and close.

The first scan must be the manifest barcode (scanning it again resumes it); each specimen
scan is answered with a colour and a sound. The table is the reconciliation: expected,
received, damaged, rejected, missing and unexpected specimens.

Live updates (``ui/live.py``): the open manifest's reconciliation reloads when manifests or
custody change at any station (a second receiver's scans, a tube received on another
manifest, the courier finishing the pickup).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QTableView,
    QWidget,
)

from labdesk.custody.commands import CloseReceipt, OpenReceipt, ReceiveScan, RejectSpecimen
from labdesk.custody.dto import ManifestRow, Reconciliation, RejectionResult, ScanFeedback
from labdesk.custody.receipt import reconciliation
from labdesk.domain.errors import StorageError
from labdesk.domain.manifest import ManifestStatus, ReceiptOutcome, is_manifest_number
from labdesk.domain.recollection import RejectionReason
from labdesk.domain.scan_rules import Severity
from labdesk.kernel.changes import Topic
from labdesk.kernel.dto import SignedInUser
from ui.context import AppContext
from ui.custody.courier_page import RETRY_HINT
from ui.custody.models import ManifestRowModel
from ui.custody.widgets import (
    ScanBanner,
    ScanQueue,
    TransitPanel,
    ask_rejection,
    missing_question,
)
from ui.tasks import CommandOp, QueryOp
from ui.widgets.page import Page
from ui.widgets.specimen_timeline import open_specimen_timeline
from ui.widgets.table_view import sorting_table_view

logger = logging.getLogger(__name__)

LIVE_TOPICS = (Topic.MANIFESTS, Topic.CUSTODY)
"""What the reconciliation shows."""


class LabReceivingPage(Page):
    """What a lab receiver sees after signing in."""

    scan_handled = Signal(object)
    reconciled = Signal(object)
    closed = Signal(object)

    def __init__(
        self, context: AppContext, user: SignedInUser, parent: QWidget | None = None
    ) -> None:
        super().__init__(context, user, parent)
        self.view: Reconciliation | None = None
        self._live_loading = False
        self._live_again = False
        self._queue = ScanQueue(self._scan)
        self.scan_edit = QLineEdit(self)
        self.scan_edit.setPlaceholderText(self.tr("Scan the manifest barcode, then each tube"))
        self.scan_edit.setAccessibleName(self.tr("Lab receipt scan"))
        self.scan_edit.returnPressed.connect(self._scanned)
        self.damaged_box = QCheckBox(self.tr("Next tube is damaged (seal broken, leaking)"), self)
        self.manifest_label = QLabel(self.tr("No manifest open."), self)
        self.summary_label = QLabel(self)
        self.banner = ScanBanner(self)
        self.model = ManifestRowModel(context.config.clinic_timezone, self)
        self.table: QTableView = sorting_table_view(self.model, self)
        self.transit = TransitPanel(context, self, user=user)
        self.reject_button = QPushButton(self.tr("Reject…"), self)
        self.reject_button.clicked.connect(self.reject_selected)
        self.timeline_button = QPushButton(self.tr("Timeline…"), self)
        self.timeline_button.clicked.connect(self.show_timeline)
        self.close_button = QPushButton(self.tr("Close receipt…"), self)
        self.close_button.clicked.connect(self.close_receipt)
        self.new_button = QPushButton(self.tr("Next manifest"), self)
        self.new_button.clicked.connect(self.clear)
        buttons = QHBoxLayout()
        for button in (self.timeline_button, self.reject_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        buttons.addWidget(self.new_button)
        buttons.addWidget(self.close_button)
        layout = self.page_layout(
            self.tr("Lab receiving"),
            self.tr(
                "Scan the courier's manifest, then every tube. Missing, damaged and "
                "unexpected specimens are listed; reject with a reason to request a "
                "recollection."
            ),
        )
        layout.addWidget(self.scan_edit)
        layout.addWidget(self.damaged_box)
        layout.addWidget(self.banner)
        layout.addWidget(self.manifest_label)
        layout.addWidget(self.summary_label)
        layout.addWidget(self.table, 3)
        layout.addWidget(self.transit, 1)
        layout.addLayout(buttons)
        self.setFocusProxy(self.scan_edit)
        self._enable()
        self.live_view = self.watch_changes(LIVE_TOPICS, self._reload_live)

    def _enable(self) -> None:
        receiving = self.view is not None and self.view.status is ManifestStatus.RECEIVING
        self.close_button.setEnabled(receiving)
        self.reject_button.setEnabled(self.view is not None)

    def clear(self) -> None:
        """Put the current manifest aside and wait for the next one."""
        self.view = None
        self.model.set_rows([])
        self.manifest_label.setText(self.tr("No manifest open."))
        self.summary_label.setText("")
        self._enable()
        self.scan_edit.setFocus()

    # ------------------------------------------------------------ scanning

    def _scanned(self) -> None:
        text = self.scan_edit.text()
        self.scan_edit.clear()
        if text.strip():
            self._queue.push(text)

    def _scan(self, text: str) -> None:
        bus, user = self._context.bus, self._user
        view = self.view
        damaged = self.damaged_box.isChecked()
        if view is None or (is_manifest_number(text) and text.strip() != view.number):
            if view is not None and view.status is ManifestStatus.RECEIVING:
                self.banner.show_text(
                    self.tr("Manifest {n} is still open: close it first.").format(n=view.number),
                    Severity.ERROR,
                )
                self._queue.next()
                return
            CommandOp(bus, OpenReceipt(scanned=text), user).run(
                self._opened, self._scan_failed, owner=self
            )
            return
        command = ReceiveScan(manifest_number=view.number, scanned=text, damaged=damaged)
        CommandOp(bus, command, user).run(self._received, self._scan_failed, owner=self)

    def _opened(self, view: Reconciliation) -> None:
        self._show(view)
        self.banner.show_text(view.message, Severity.INFO if view.resumed else Severity.OK)
        self.scan_handled.emit(view)
        self._queue.next()

    def _received(self, feedback: ScanFeedback) -> None:
        if feedback.rows:
            self.model.replace_or_add(feedback.rows, "specimen_id")
            self.damaged_box.setChecked(False)
            self._summarise()
        self.banner.show_feedback(feedback)
        self.scan_handled.emit(feedback)
        self._queue.next()

    def _scan_failed(self, error: Exception) -> None:
        self.banner.show_error(error, RETRY_HINT if isinstance(error, StorageError) else "")
        self.scan_handled.emit(error)
        self._queue.next()

    def _show(self, view: Reconciliation) -> None:
        self.view = view
        self.model.set_rows(view.rows)
        self.manifest_label.setText(
            self.tr("Manifest {n} ({s})").format(
                n=view.number, s=view.status.value.replace("_", " ")
            )
        )
        self._summarise()
        self._enable()
        self.reconciled.emit(view)

    def _summarise(self) -> None:
        if self.view is None:
            return
        rows = [self.model.row_at(n) for n in range(self.model.rowCount())]
        current = Reconciliation(self.view.number, self.view.status, tuple(rows))
        self.view = current
        text = self.tr(
            "Expected {e} · received {r} · damaged {d} · rejected {j} · lost {l} · missing {m} · "
            "unexpected {u}"
        ).format(
            e=len(current.expected),
            r=len(current.received),
            d=len(current.damaged),
            j=len(current.rejected),
            l=len(current.lost),
            m=len(current.missing),
            u=len(current.unexpected),
        )
        elsewhere = len(current.received_elsewhere)
        if elsewhere:
            text += self.tr(" · received on other manifests {x}").format(x=elsewhere)
        self.summary_label.setText(text)

    # ------------------------------------------------------------ actions

    def _selected_row(self) -> ManifestRow | None:
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            self.banner.show_text(self.tr("Select a specimen first."), Severity.INFO, sound=False)
            return None
        source = self.table.model().mapToSource(rows[0])  # type: ignore[attr-defined]
        row: ManifestRow = self.model.row_at(source.row())
        return row

    def _ask_rejection(self, row: ManifestRow) -> tuple[RejectionReason, str] | None:
        # Received damaged (seal broken, leaking): the one reason the lab already knows.
        damaged = row.lab_outcome is ReceiptOutcome.DAMAGED
        return ask_rejection(
            self, row.accession, suggested=RejectionReason.LEAKING if damaged else None
        )

    def reject_selected(self) -> None:
        """Reject the selected specimen with a coded reason (opens a recollection task)."""
        selected = self._selected_row()
        if selected is None:
            return
        choice = self._ask_rejection(selected)
        if choice is None:
            return
        command = RejectSpecimen(accession=selected.accession, reason=choice[0], note=choice[1])
        CommandOp(self._context.bus, command, self._user).run(
            self._rejected, self.banner.show_error, owner=self
        )

    def _rejected(self, result: RejectionResult) -> None:
        self.banner.show_text(result.message, Severity.INFO if result.already else Severity.OK)
        self._refresh()

    def _refresh(self, then: Callable[[Reconciliation], None] | None = None) -> None:
        if self.view is None:
            return
        number = self.view.number

        def done(view: Reconciliation) -> None:
            self._show(view)
            if then is not None:
                then(view)

        QueryOp(self._context.bus, reconciliation, self._user, number).run(
            done, self._load_failed, owner=self
        )

    def _reload_live(self) -> None:
        """Re-read the open manifest after a change elsewhere, one read at a time."""
        if self.view is None or self._live_loading:
            self._live_again = self.view is not None
            return
        self._live_loading = True
        number = self.view.number

        def done(view: Reconciliation) -> None:
            if self.view is not None and self.view.number == view.number:
                self._show(view)  # unless the receiver moved on to the next manifest
            self._live_finished()

        def failed(error: Exception) -> None:
            # The banner answers scans: keep it; the strip says when the server is away.
            logger.warning("reconciliation not re-read after a change: %s", error)
            self._live_finished()

        QueryOp(self._context.bus, reconciliation, self._user, number).run(done, failed, owner=self)

    def _live_finished(self) -> None:
        self._live_loading = False
        if self._live_again:
            self._live_again = False
            self._reload_live()

    def _load_failed(self, error: Exception) -> None:
        self.banner.show_error(error)
        self._enable()

    def _confirm_missing(self, accessions: Sequence[str]) -> bool:
        return missing_question(self, accessions).exec() == QMessageBox.StandardButton.Yes

    def close_receipt(self) -> None:
        """Close the manifest; missing specimens are reported lost once confirmed.

        The list is reloaded first, so the question names exactly the tubes the close will
        report lost (not one received meanwhile, here or on another manifest); the service
        refuses to close if that set changed before the answer arrived.
        """
        view = self.view
        if view is None or view.status is not ManifestStatus.RECEIVING:
            return
        self.close_button.setEnabled(False)
        self._refresh(self._close_confirmed)

    def _close_confirmed(self, view: Reconciliation) -> None:
        if view.status is not ManifestStatus.RECEIVING:
            return
        missing = view.missing
        if missing and not self._confirm_missing([r.accession for r in missing]):
            self.banner.show_text(
                self.tr("Receipt not closed: scan the missing tubes, or close again."),
                Severity.INFO,
                sound=False,
            )
            return
        command = CloseReceipt(
            manifest_number=view.number,
            confirmed_missing=frozenset(r.specimen_id for r in missing),
        )
        CommandOp(self._context.bus, command, self._user).run(
            self._closed, self._close_failed, owner=self
        )

    def _closed(self, view: Reconciliation) -> None:
        self._show(view)
        lost = len(view.reported_lost)
        text = self.tr("Manifest {n} received and closed.").format(n=view.number)
        if lost:
            text += " " + self.tr("%n specimen(s) reported lost: {list}.", "", lost).format(
                list=", ".join(view.reported_lost)
            )
        self.banner.show_text(text, Severity.WARNING if lost else Severity.OK)
        self.closed.emit(view)

    def _close_failed(self, error: Exception) -> None:
        self.banner.show_error(error)
        self._refresh()  # the list changed under the question: show it as it is now

    def show_timeline(self) -> None:
        """Open the timeline of the selected specimen."""
        selected = self._selected_row()
        if selected is not None:
            open_specimen_timeline(self, self._context, selected.specimen_id, self._user)
