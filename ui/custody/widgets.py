"""Pieces shared by the courier and lab screens: scan banner, in-transit panel, dialogs."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from PySide6.QtCore import QCoreApplication, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QInputDialog,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from labdesk.custody.commands import ReportLost
from labdesk.custody.dto import ScanFeedback, TransitFlagRow
from labdesk.custody.transit import in_transit_flags
from labdesk.domain.loss import LossReason
from labdesk.domain.recollection import RejectionReason
from labdesk.domain.scan_rules import Severity
from labdesk.domain.transit import next_flag_change
from labdesk.kernel.changes import Topic
from labdesk.kernel.dto import SignedInUser
from ui.context import AppContext
from ui.custody.loss_dialog import ask_loss
from ui.tasks import CommandOp, QueryOp
from ui.widgets.errors import error_text
from ui.widgets.feedback import ScanFeedback as Sounds
from ui.widgets.feedback import Tone
from ui.widgets.message_label import elide_long_runs
from ui.widgets.table_view import sorting_table_view

if TYPE_CHECKING:
    from ui.live import LiveView

#: (text colour, background) per severity.
STYLES = {
    Severity.OK: ("#1b7f3b", "#dff3e4"),
    Severity.INFO: ("#1f4e8c", "#dde8f7"),
    Severity.WARNING: ("#8a5200", "#fff1d6"),
    Severity.ERROR: ("#b00020", "#ffd7dc"),
}
TONES = {
    Severity.OK: Tone.OK,
    Severity.INFO: Tone.OK,
    Severity.WARNING: Tone.WARNING,
    Severity.ERROR: Tone.ALARM,
}
TRANSIT_REFRESH_MS = 60_000
"""Without a change feed: how often the in-transit flags are read again."""
TRANSIT_LONGEST_WAIT_MS = 3_600_000
"""With a feed: the longest wait for the next flag change (a reload at least hourly)."""
TRANSIT_SLACK_MS = 500
"""Reload this long after a flag is due, so the read sees it raised."""
TRANSIT_TOPICS = (Topic.CUSTODY, Topic.MANIFESTS, Topic.SPECIMENS)
"""What the in-transit flags depend on (besides time passing)."""


class ScanBanner(QLabel):
    """A large coloured line answering the last scan, with its sound."""

    def __init__(self, parent: QWidget | None = None, *, audible: bool = True) -> None:
        super().__init__(parent)
        self.setWordWrap(True)
        self.setMinimumHeight(48)
        font = self.font()
        font.setPointSizeF(font.pointSizeF() * 1.2)
        self.setFont(font)
        self.sounds = Sounds(self, audible=audible)
        self.severity: Severity | None = None

    def show_feedback(self, feedback: ScanFeedback) -> None:
        """Colour, text and sound of a scan's outcome."""
        text = f"{feedback.message} {feedback.hint}".strip()
        self.show_text(text, feedback.severity)

    def show_text(self, text: str, severity: Severity, *, sound: bool = True) -> None:
        """Show ``text`` coloured by ``severity`` (and play its tone)."""
        self.severity = severity
        colour, background = STYLES[severity]
        self.setStyleSheet(
            f"background-color: {background}; color: {colour}; border-radius: 4px; "
            "padding: 8px; font-weight: bold;"
        )
        self.setText(elide_long_runs(text))
        if sound:
            self.sounds.play(TONES[severity])

    def show_error(self, error: BaseException, extra: str = "") -> None:
        """A failure (storage, permission...) as an error line."""
        self.show_text(f"{error_text(error)} {extra}".strip(), Severity.ERROR)


class TransitPanel(QGroupBox):
    """Specimens overdue in transit or past stability.

    Refreshed when custody, manifests or specimens change (with the app's change feed) and
    once more when the next specimen on the road becomes overdue or passes its stability
    (a single-shot timer, so an idle panel runs no queries; without a feed: every minute);
    a hidden panel reads nothing and catches up when shown.
    Given the signed-in ``user``, its "Report lost…" button reports the selected specimen
    lost with a coded reason (``labdesk.custody.commands.ReportLost``).
    """

    loaded = Signal(int)
    reported_lost = Signal(str)
    """The accession just reported lost."""

    def __init__(
        self,
        context: AppContext,
        parent: QWidget | None = None,
        *,
        user: SignedInUser | None = None,
    ) -> None:
        super().__init__(parent)
        self.setTitle(self.tr("Overdue in transit"))
        self._context = context
        # Imported here: ui.screens' package imports the pages, which import this module, so a
        # module-level import made ``import ui.custody.widgets`` alone fail (a cycle).
        from ui.custody.models import TransitFlagModel

        self.model = TransitFlagModel(context.config.clinic_timezone, self)
        self.table: QTableView = sorting_table_view(self.model, self)
        self.status = QLabel(self)
        self._user = user
        self.lost_button = QPushButton(self.tr("Report lost…"), self)
        self.lost_button.setToolTip(self.tr("Report the selected specimen lost, with a reason"))
        self.lost_button.clicked.connect(self.report_selected_lost)
        self.lost_button.setVisible(user is not None)
        layout = QVBoxLayout(self)
        layout.addWidget(self.status)
        layout.addWidget(self.table)
        layout.addWidget(self.lost_button)
        self.live_view: LiveView | None = None
        live = context.live
        if live is not None:
            self.live_view = live.watch(self, TRANSIT_TOPICS, self.refresh, finished=self.loaded)
        self._timer = QTimer(self)
        self._timer.setInterval(TRANSIT_REFRESH_MS)
        self._timer.timeout.connect(self._minute_passed)
        if self.live_view is None:
            self._timer.start()
        else:  # restarted by every load, for the next flag change
            self._timer.setSingleShot(True)
            self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.refresh()

    def _minute_passed(self) -> None:
        if self.live_view is not None:
            self.live_view.request()  # hidden: stale until shown; never over a running load
        else:
            self.refresh()

    def refresh(self) -> None:
        """Reload the flags in the background."""
        clock = self._context.clock  # every specimen on the road: the next change is known
        QueryOp(self._context.bus, in_transit_flags, clock, flagged_only=False).run(
            self._show, self._failed, owner=self
        )

    def wait_ms(self, rows: list[TransitFlagRow], now: datetime) -> int:
        """How long until the flags of ``rows`` next change (capped, with slack)."""
        changes = [
            next_flag_change(
                now=now,
                picked_up_at=r.picked_up_at,
                transit_minutes=r.expected_minutes,
                stability_deadline=r.stability_deadline,
            )
            for r in rows
        ]
        soonest = min((c for c in changes if c is not None), default=None)
        if soonest is None:
            return TRANSIT_LONGEST_WAIT_MS
        wait = int((soonest - now).total_seconds() * 1000) + TRANSIT_SLACK_MS
        return min(TRANSIT_LONGEST_WAIT_MS, max(0, wait))

    def _show(self, every: list[TransitFlagRow]) -> None:
        if self.live_view is not None:
            self._timer.start(self.wait_ms(every, self._context.clock.now()))
        rows = [r for r in every if r.flags]
        self.model.set_rows(rows)
        self.status.setText(
            self.tr("%n specimen(s) need attention.", "", len(rows))
            if rows
            else self.tr("Nothing overdue in transit.")
        )
        self.loaded.emit(len(rows))

    def _failed(self, error: Exception) -> None:
        self.status.setText(error_text(error))
        if self.live_view is not None:
            self._timer.start(TRANSIT_REFRESH_MS)  # try again in a minute
            self.live_view.load_failed()

    def selected_row(self) -> TransitFlagRow | None:
        """The flagged specimen selected in the table (None without a selection)."""
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            return None
        source = self.table.model().mapToSource(rows[0])  # type: ignore[attr-defined]
        row: TransitFlagRow = self.model.row_at(source.row())
        return row

    def report_selected_lost(self) -> None:
        """Ask the coded reason, then report the selected specimen lost (off the UI thread)."""
        row = self.selected_row()
        if row is None or self._user is None:
            self.status.setText(self.tr("Select the specimen to report lost."))
            return
        choice = ask_loss(self, row.accession)
        if choice is None:
            return
        reason, note = choice
        where = self.tr("In transit (manifest {number})").format(number=row.manifest_number)
        command = ReportLost(accession=row.accession, reason=reason, note=note, location=where)
        CommandOp(self._context.bus, command, self._user).run(
            lambda _task: self._reported(row.accession), self._failed_report, owner=self
        )

    def _reported(self, accession: str) -> None:
        self.status.setText(
            self.tr(
                "{accession} reported lost; its recollection is on the station worklist."
            ).format(accession=accession)
        )
        self.reported_lost.emit(accession)
        self.refresh()

    def _failed_report(self, error: Exception) -> None:
        self.status.setText(error_text(error))


def ask_secret(parent: QWidget, title: str, prompt: str) -> str | None:
    """Ask for a PIN or password (masked); None when cancelled."""
    text, ok = QInputDialog.getText(parent, title, prompt, QLineEdit.EchoMode.Password)
    return text if ok and text else None


class RejectDialog(QDialog):
    """Choose a coded rejection reason and add a note.

    No reason is chosen for the user (OK stays disabled until one is), except "Leaking or
    unsafe" for a tube received damaged: a wrong default would be recorded unnoticed.
    """

    def __init__(
        self,
        accession: str,
        parent: QWidget | None = None,
        *,
        suggested: RejectionReason | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.tr("Reject {accession}").format(accession=accession))
        self.reason = QComboBox(self)
        for reason in RejectionReason:
            self.reason.addItem(reason.label, reason)
        self.reason.setPlaceholderText(self.tr("Choose the reason…"))
        self.reason.setCurrentIndex(-1 if suggested is None else self.reason.findData(suggested))
        self.note = QLineEdit(self)
        self.note.setMaxLength(400)
        self.note.setPlaceholderText(self.tr("What was seen (optional)"))
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        self.reason.currentIndexChanged.connect(self._enable)
        form = QFormLayout(self)
        form.addRow(self.tr("Reason"), self.reason)
        form.addRow(self.tr("Note"), self.note)
        form.addRow(self.buttons)
        self._enable()

    @property
    def ok_button(self) -> QPushButton:
        """The OK button (enabled once a reason is chosen)."""
        button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        assert button is not None
        return button

    def _enable(self) -> None:
        self.ok_button.setEnabled(self.reason.currentIndex() >= 0)

    def accept(self) -> None:
        """Accept only with a reason (Enter in the note field must not skip choosing)."""
        if self.reason.currentIndex() >= 0:
            super().accept()

    def choice(self) -> tuple[RejectionReason, str]:
        """The chosen reason and note."""
        return RejectionReason(self.reason.currentData()), self.note.text().strip()


def ask_rejection(
    parent: QWidget, accession: str, *, suggested: RejectionReason | None = None
) -> tuple[RejectionReason, str] | None:
    """Run the rejection dialog; None when cancelled."""
    dialog = RejectDialog(accession, parent, suggested=suggested)
    return dialog.choice() if dialog.exec() == QDialog.DialogCode.Accepted else None


def missing_question(parent: QWidget, accessions: Sequence[str]) -> QMessageBox:
    """The "report these tubes lost?" question, answered No unless Yes is clicked.

    No is the default and escape button and has the focus, and the question is modal: the
    Enter a scanner sends after a barcode answers No, never reports tubes lost.
    """
    shown = ", ".join(accessions[:20]) + (" …" if len(accessions) > 20 else "")
    box = QMessageBox(
        QMessageBox.Icon.Warning,
        QCoreApplication.translate("custody_widgets", "Specimens missing"),
        QCoreApplication.translate(
            "custody_widgets",
            "%n specimen(s) on the manifest were not scanned:\n{list}\n\n"
            "Report them lost (reason: {reason}) and request their recollection?",
            "",
            len(accessions),
        ).format(list=shown, reason=LossReason.NOT_IN_BAG.label.lower()),
        QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
        parent,
    )
    box.setDefaultButton(QMessageBox.StandardButton.No)
    box.setEscapeButton(QMessageBox.StandardButton.No)
    return box


class ScanQueue:
    """Runs scans one after another (a scanner is faster than a round trip), in order."""

    def __init__(self, start: Callable[[str], None]) -> None:
        self._start = start
        self._waiting: list[str] = []
        self.busy = False

    def push(self, text: str) -> None:
        """Queue ``text``; start it now when nothing runs."""
        self._waiting.append(text)
        if not self.busy:
            self.next()

    def next(self) -> None:
        """Start the next queued scan (call when one finished)."""
        if not self._waiting:
            self.busy = False
            return
        self.busy = True
        self._start(self._waiting.pop(0))
