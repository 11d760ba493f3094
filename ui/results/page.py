"""Results page: the clinician board of every open ordered test, its flags and sign-off.

The board loads in the background (the services refresh the board table, count the flags
and read the first page), then reloads when the app's change feed says results,
acknowledgements, orders, specimens or custody changed (``ui/live.py``; only while the
page is shown, else once it is shown again), and once more when time alone changes it: each
load says when the next deadline passes or critical escalates (``Board.next_due_s``), and a
single-shot timer reloads then, so an idle board runs no queries in between. Without a feed
it polls a cheap change marker every few seconds instead. Filtering and sorting are
queries: the model reads the first page and the count at once, and further pages as the
view scrolls to them.
Everything goes through the bus off the UI thread. Loading the board, opening a result
and the signing preview are queries (``bus.query``/``QueryOp``): they commit their own
refresh of the board table and view audit, and leave no command record. Escalating,
acknowledging and exporting are commands (``CommandOp``), done once per idempotency key.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QPushButton,
    QTabWidget,
    QWidget,
)

from labdesk.domain.lifecycle import NEEDS_RECOLLECTION
from labdesk.domain.overdue import FlagReason
from labdesk.domain.permissions import Permission, allows
from labdesk.domain.timefmt import format_local
from labdesk.kernel.changes import Topic
from labdesk.kernel.dto import SignedInUser
from labdesk.results.ack_dto import SigningPreview
from labdesk.results.acknowledge import result_detail, signing_preview
from labdesk.results.board import board_marker, load_board, query_board
from labdesk.results.board_dto import AckOutcome, Board, BoardPage, BoardRow, TestDetail
from labdesk.results.board_query import PAGE_SIZE, BoardQuery
from labdesk.results.commands import AcknowledgeResults, EscalateOverdueCriticals, ExportOutstanding
from labdesk.results.export import ExportFormat, ExportSummary, default_file_name
from labdesk.results.overdue import turnaround_stats
from labdesk.results.overdue_settings import OverdueSettings, overdue_settings
from labdesk.station.commands import CancelRecollection
from labdesk.station.dto import RecollectionInfo
from labdesk.station.recollection import CANCEL_PERMISSION, open_recollection_of
from ui.context import AppContext
from ui.results.board_model import BoardTableModel
from ui.results.board_view import BoardTableView
from ui.results.critical_alert import CriticalAlert
from ui.results.detail_models import meaning_label
from ui.results.dialogs import AcknowledgeDialog, ResultDetailDialog, refusal_text
from ui.results.filter_bar import CountsStrip, FilterBar
from ui.results.turnaround_chart import TurnaroundChartView
from ui.tasks import CommandOp, QueryOp, run_in_background
from ui.widgets import recollection_cancel
from ui.widgets.add_on_dialog import AddOnDialog
from ui.widgets.errors import error_text
from ui.widgets.message_label import MessageLabel
from ui.widgets.page import Page

POLL_MS = 5_000
"""Without a change feed: how often the change marker is read."""
RELOAD_EVERY_S = 60.0
"""Without a change feed: reload this often even without changes, so flags appear as
deadlines pass (a load refreshes the board table and reads one page: cheap)."""
LONGEST_WAIT_S = 3600.0
"""With a feed: the longest wait for the next deadline. Past it the board reloads anyway, so
whatever time changes that no deadline names (closed tests leaving the board after days,
a wall clock set forward) shows within the hour."""
DUE_SLACK_S = 0.5
"""Reload this long after the deadline, so the load sees it passed."""
LIVE_TOPICS = (Topic.RESULTS, Topic.ACKS, Topic.ORDERS, Topic.SPECIMENS, Topic.CUSTODY)
"""What the board shows: a change to one of these reloads it."""
_TIMER_SLACK_S = 1.0
"""Qt's coarse timers may fire a little early: a load this close to a minute old is due."""
ESCALATE_EVERY_S = 60.0


class ResultsPage(Page):
    """What a clinician sees after signing in."""

    board_loaded = Signal(int)
    acknowledged = Signal(object)
    exported = Signal(object)
    detail_loaded = Signal(object)
    stats_loaded = Signal(int)

    def __init__(
        self,
        context: AppContext,
        user: SignedInUser,
        parent: QWidget | None = None,
        *,
        settings: OverdueSettings | None = None,
        page_size: int = PAGE_SIZE,
    ) -> None:
        super().__init__(context, user, parent)
        self.user = user  # the board's models read it
        tz = context.config.clinic_timezone
        self.timezone = tz
        self.settings = settings or overdue_settings(context.config)
        self.marker: tuple[Any, ...] | None = None
        self._loaded_at = 0.0
        self._escalated_at = 0.0
        self._sweep_due = False
        self._loading = False
        self._reload_again = False
        self._audit_next = True
        self._board: Board | None = None
        self.can_acknowledge = allows(user.role, Permission.ACKNOWLEDGE_RESULTS)
        self.can_export = allows(user.role, Permission.EXPORT_DATA)

        self.model = BoardTableModel(tz, self._fetch, self, page_size=page_size)
        self.model.fetch_failed.connect(self._fetch_failed)
        self.filters = FilterBar(user.id, self, base=lambda: self.model.query)
        self.filters.filter_changed.connect(self.apply_query)
        self.counts = CountsStrip(self)
        self.counts.reason_clicked.connect(self._filter_on_reason)
        self.critical_alert = CriticalAlert(tz, self)
        self.critical_alert.show_requested.connect(
            lambda: self._filter_on_reason(FlagReason.CRITICAL_NOT_ACKNOWLEDGED)
        )
        self.table = self._make_table()
        self.chart = TurnaroundChartView(self)
        self.tabs = QTabWidget(self)
        self.tabs.addTab(self.table, self.tr("&Board"))
        self.tabs.addTab(self.chart, self.tr("&Turnaround"))
        self.tabs.currentChanged.connect(self._tab_changed)
        self.status_label = MessageLabel(self)

        layout = self.page_layout(
            self.tr("Results"),
            self.tr(
                "Every open ordered test until a clinician signs its result. Flags count "
                "from collection; critical results escalate to the covering clinician."
            ),
        )
        layout.addWidget(self.critical_alert)
        layout.addWidget(self.filters)
        layout.addWidget(self.counts)
        layout.addWidget(self.tabs, 1)
        layout.addLayout(self._make_buttons())
        layout.addWidget(self.status_label)
        self.setFocusProxy(self.filters.search)
        self._make_shortcuts()

        self.poll_timer = QTimer(self)
        self.poll_timer.timeout.connect(self.poll)
        self.poll_timer.setInterval(POLL_MS)
        self.due_timer = QTimer(self)
        """Live: fires once, when the last load said the board next changes by time."""
        self.due_timer.setSingleShot(True)
        self.due_timer.setTimerType(Qt.TimerType.PreciseTimer)  # coarse ones fire early
        self.due_timer.timeout.connect(self._time_passed)
        # Live: changes reload the board, and the due timer the moment a deadline passes.
        # Else: the marker poll.
        self.live_view = self.watch_changes(LIVE_TOPICS, self.reload)
        if self.live_view is None:
            self.poll_timer.start()
        self.reload(audit=True)

    # ------------------------------------------------------------ layout

    def _make_table(self) -> BoardTableView:
        view = BoardTableView(self.model, self)
        view.activated.connect(lambda _index: self.open_selected())
        return view

    def _make_buttons(self) -> QHBoxLayout:
        self.open_button = QPushButton(self.tr("&Open…"), self)
        self.open_button.clicked.connect(self.open_selected)
        self.ack_button = QPushButton(self.tr("&Acknowledge…"), self)
        self.ack_button.clicked.connect(self.acknowledge_selected)
        self.bulk_button = QPushButton(self.tr("Acknowledge &normals…"), self)
        self.bulk_button.setToolTip(self.tr("Sign all selected normal final results at once"))
        self.bulk_button.clicked.connect(self.acknowledge_normals)
        self.refresh_button = QPushButton(self.tr("&Refresh"), self)
        self.refresh_button.clicked.connect(lambda: self.reload(audit=True))
        self.csv_button = QPushButton(self.tr("Export &CSV…"), self)
        self.csv_button.clicked.connect(lambda: self.export(ExportFormat.CSV))
        self.pdf_button = QPushButton(self.tr("Export &PDF…"), self)
        self.pdf_button.clicked.connect(lambda: self.export(ExportFormat.PDF))
        self.add_on_button = QPushButton(self.tr("A&dd-on test…"), self)
        self.add_on_button.setToolTip(self.tr("Add a test to the selected row's specimen"))
        self.add_on_button.clicked.connect(self.add_on_selected)
        self.add_on_button.setEnabled(allows(self.user.role, Permission.MANAGE_ORDERS))
        self.cancel_recollection_button = QPushButton(self.tr("Cancel reco&llection…"), self)
        self.cancel_recollection_button.setToolTip(
            self.tr("Decide that the selected rejected or lost test is not drawn again")
        )
        self.cancel_recollection_button.clicked.connect(self.cancel_recollection_selected)
        self.cancel_recollection_button.setEnabled(allows(self.user.role, CANCEL_PERMISSION))
        for button in (self.ack_button, self.bulk_button):
            button.setEnabled(self.can_acknowledge)
        for button in (self.csv_button, self.pdf_button):
            button.setEnabled(self.can_export)
        row = QHBoxLayout()
        for button in (
            self.open_button,
            self.ack_button,
            self.bulk_button,
            self.add_on_button,
            self.cancel_recollection_button,
        ):
            row.addWidget(button)
        row.addStretch(1)
        for button in (self.refresh_button, self.csv_button, self.pdf_button):
            row.addWidget(button)
        return row

    def _make_shortcuts(self) -> None:
        for keys, slot in (
            ("Ctrl+F", self.filters.search.setFocus),
            ("F5", lambda: self.reload(audit=True)),
            ("Ctrl+K", self.acknowledge_selected),
            ("Ctrl+Shift+K", self.acknowledge_normals),
        ):
            QShortcut(QKeySequence(keys), self, slot)

    # ------------------------------------------------------------ loading

    def reload(self, *, audit: bool = False) -> None:
        """Load the board in the background (queued when a load is running)."""
        self._audit_next = self._audit_next or audit
        if self._loading:
            self._reload_again = True
            return
        self._loading = True
        audit_this, self._audit_next = self._audit_next, False
        swept_long_ago = time.monotonic() - self._escalated_at >= ESCALATE_EVERY_S
        escalate = (swept_long_ago or self._sweep_due) and self._may_escalate()
        bus, user, settings = self._context.bus, self.user, self.settings
        query, page_size = self.model.query, self.model.page_size
        sweep = EscalateOverdueCriticals(
            policy=settings.policy, default_covering=settings.default_covering
        )

        def job() -> Board:
            if escalate:
                bus.handle(sweep, user)
            return bus.query(
                load_board, bus.clock, user, settings.policy, query,
                audit=audit_this, station=user.station, page_size=page_size,
            )  # fmt: skip

        if escalate:
            self._escalated_at = time.monotonic()
            self._sweep_due = False
        run_in_background(job, self._show_board, self._load_failed, owner=self)

    def _may_escalate(self) -> bool:
        """Whether the sweep could find work: no unacknowledged critical, nothing to hand on.

        The last load lists every unacknowledged critical for a user who may sign them; a
        new one arrives as a change, and the loads after it sweep again (its escalation is
        due minutes later, not at once).
        """
        board = self._board
        return board is None or not self.can_acknowledge or bool(board.criticals)

    def poll(self) -> None:
        """Reload when the change marker moved (or the board is a minute old)."""
        if self._loading:
            return
        if time.monotonic() - self._loaded_at >= RELOAD_EVERY_S - _TIMER_SLACK_S:
            self.reload()
            return
        QueryOp(self._context.bus, board_marker).run(self._marker_read, lambda _e: None, owner=self)

    def _marker_read(self, marker: tuple[Any, ...]) -> None:
        if marker != self.marker and not self._loading:
            self.reload()

    def seconds_to_due(self, board: Board) -> float:
        """How long after ``board`` was loaded time alone changes it (capped, with slack)."""
        if board.next_due_s is None:
            return LONGEST_WAIT_S
        return min(LONGEST_WAIT_S, max(0.0, board.next_due_s - board.now_s) + DUE_SLACK_S)

    def _time_passed(self) -> None:
        """A deadline passed: reload now if shown, else when shown again.

        The load sweeps for criticals to escalate even if a load swept less than
        :data:`ESCALATE_EVERY_S` ago: the deadline may be an escalation's, and the loads
        after this one no longer count it as due.
        """
        self._sweep_due = True
        if self.live_view is not None:
            self.live_view.request()

    def _show_board(self, board: Board) -> None:
        self._loading = False
        self._loaded_at = time.monotonic()
        if self.live_view is not None:
            self.due_timer.start(int(self.seconds_to_due(board) * 1000))
        wanted = self.model.query
        selected = self.table.remember_selection()
        self.marker = board.marker
        self._board = board
        self.model.set_board(board)
        if board.query != wanted:  # the filter or order changed while the board loaded
            self.model.set_query(wanted)
        self.filters.set_clinicians(board.clinicians)
        self.counts.set_counts(board.counts)
        self.critical_alert.update_criticals(board.criticals)
        self.table.restore_selection(selected)
        self._show_count()
        self.board_loaded.emit(self.model.rowCount())
        if self._reload_again:
            self._reload_again = False
            self.reload()

    def _load_failed(self, error: Exception) -> None:
        self._loading = False
        self._job_failed(error)

    def _job_failed(self, error: Exception) -> None:
        self.status_label.show_error(error_text(error))

    def _fetch(self, query: BoardQuery, offset: int, limit: int, with_total: bool) -> BoardPage:
        """One page of the board as the last load left it (the model's ``fetch``)."""
        return self._context.bus.query(
            query_board, self.user, query, self.model.now_s,
            offset=offset, limit=limit, with_total=with_total,
        )  # fmt: skip

    def _fetch_failed(self, error: Exception) -> None:
        self.status_label.show_error(
            self.tr("The board could not be read; it shows what it last read. {error}").format(
                error=error_text(error)
            )
        )

    def apply_query(self, query: BoardQuery) -> None:
        """Filter or re-sort the board (the first page is read now; an error is shown)."""
        if self.model.set_query(query):
            self._show_count()

    def current_query(self) -> BoardQuery:
        """The filter and order the board shows."""
        return self.model.query

    def _show_count(self) -> None:
        shown = self.model.rowCount()
        total = shown if self._board is None else self._board.whole(self.model.query.include_closed)
        text = self.tr("Showing {shown} of {total} ordered tests.").format(shown=shown, total=total)
        self.status_label.show_info(text)

    def _filter_on_reason(self, reason: FlagReason) -> None:
        if reason is FlagReason.UNMATCHED_RESULT:
            self.status_label.show_info(
                self.tr("Unmatched results wait on the Result worklist page for manual matching.")
            )
            return
        self.filters.set_flag(reason)

    def _tab_changed(self, index: int) -> None:
        if self.tabs.widget(index) is self.chart:
            self.load_stats()

    def load_stats(self) -> None:
        """Compute the turnaround chart's figures in the background."""
        context = self._context
        QueryOp(context.bus, turnaround_stats, context.clock, self.user).run(
            self._show_stats, self._job_failed, owner=self
        )

    def _show_stats(self, stats: list[Any]) -> None:
        self.chart.set_stats(stats)
        self.stats_loaded.emit(len(stats))

    # ------------------------------------------------------------ actions

    def selected_rows(self) -> list[BoardRow]:
        """The board rows selected in the view, top to bottom (pages not cached are read).

        Returns:
            The rows, or none when a page could not be read (the error is shown): acting
            on part of a selection would be worse than not acting.
        """
        try:
            return self.table.selected_rows()
        except Exception as error:  # the database went away: say so, act on nothing
            self._fetch_failed(error)
            return []

    def add_on_selected(self) -> None:
        """Add a test to the specimen of the selected row (the add-on dialog checks first)."""
        rows = self.selected_rows()
        if not rows or not rows[0].accession:
            self.status_label.show_info(self.tr("Select a test whose specimen is drawn."))
            return
        self.add_on_dialog = AddOnDialog(
            self._context, self.user, accession=rows[0].accession, parent=self
        )
        self.add_on_dialog.requester_edit.setText(self.user.display_name)
        self.add_on_dialog.show()

    def cancel_recollection_selected(self) -> None:
        """Cancel the recollection of the selected rejected or lost test (a reason needed)."""
        rows = self.selected_rows()
        if not rows or rows[0].status not in NEEDS_RECOLLECTION or not rows[0].accession:
            self.status_label.show_info(self.tr("Select a rejected or lost test."))
            return
        QueryOp(self._context.bus, open_recollection_of, self.user, rows[0].accession).run(
            self._ask_cancel_recollection, self._action_failed, owner=self
        )

    def _ask_cancel_recollection(self, info: RecollectionInfo) -> None:
        what = f"{info.accession}: {info.reason_label} — {', '.join(info.test_codes)}"
        answer = recollection_cancel.ask_cancel(self, what)
        if answer is None:
            return
        command = CancelRecollection(
            task_id=info.task_id,
            reason=answer.reason,
            cancel_tests=answer.cancel_tests,
            station_code=self.user.station,
        )

        def done(cancelled: int) -> None:
            self.status_label.show_info(
                self.tr("Recollection of {accession} cancelled ({count} tests cancelled).")
                .replace("{accession}", info.accession)
                .replace("{count}", str(cancelled))
            )
            self.reload(audit=False)

        CommandOp(self._context.bus, command, self.user).run(done, self._action_failed, owner=self)

    def _action_failed(self, error: Exception) -> None:
        self.status_label.show_error(error_text(error))

    def open_selected(self) -> None:
        """Open the drill-down of the current row."""
        rows = self.selected_rows()
        if not rows:
            self.status_label.show_info(self.tr("Select a test to open it."))
            return
        bus = self._context.bus
        test_id = rows[0].ordered_test_id
        QueryOp(bus, result_detail, bus.clock, self.user, self.settings.policy, test_id).run(
            self._show_detail, self._job_failed, owner=self
        )

    def _show_detail(self, detail: TestDetail) -> None:
        dialog = ResultDetailDialog(
            detail,
            self.timezone,
            can_acknowledge=self.can_acknowledge,
            open_timeline=self._open_timeline,
            parent=self,
        )
        self.detail_loaded.emit(dialog)
        if dialog.exec() == ResultDetailDialog.DialogCode.Accepted:
            self._acknowledge([detail.row])

    def _open_timeline(self, accession: str) -> None:
        from ui.widgets.specimen_timeline import open_specimen_timeline

        open_specimen_timeline(self, self._context, None, self.user, accession=accession)

    def acknowledge_selected(self) -> None:
        """Sign the selected result (one at a time: it may be abnormal)."""
        rows = self.selected_rows()
        if len(rows) != 1:
            self.status_label.show_info(
                self.tr("Select one result, or use Acknowledge normals for several.")
            )
            return
        self._acknowledge(rows)

    def acknowledge_normals(self) -> None:
        """Sign every selected normal final result at once."""
        rows = [r for r in self.selected_rows() if r.bulk_acknowledgeable]
        skipped = len(self.selected_rows()) - len(rows)
        if not rows:
            self.status_label.show_info(
                self.tr("None of the selected results is a normal final result.")
            )
            return
        if skipped:
            self.status_label.show_info(
                self.tr("%n abnormal, critical or unfinished result(s) left out.", "", skipped)
            )
        self._acknowledge(rows)

    def _acknowledge(self, rows: list[BoardRow]) -> None:
        if not self.can_acknowledge:
            return
        # Read what would be signed first: the dialog shows it, and a test that cannot be
        # acknowledged (no result yet) is refused before any signature is asked for.
        bus = self._context.bus
        ids = tuple(r.ordered_test_id for r in rows)
        QueryOp(bus, signing_preview, bus.clock, self.user, ids).run(
            self._sign, self._job_failed, owner=self
        )

    def _sign(self, preview: SigningPreview) -> None:
        if not preview.can_sign:
            self.status_label.show_error(refusal_text(preview))
            return
        dialog = AcknowledgeDialog(
            preview.to_sign, self.user.display_name, self, already_closed=preview.already_closed
        )
        if dialog.exec() != AcknowledgeDialog.DialogCode.Accepted:
            return
        command = AcknowledgeResults(
            ordered_test_ids=tuple(line.ordered_test_id for line in dialog.lines),
            meaning=dialog.chosen_meaning(),
            note=dialog.note_text(),
        )
        CommandOp(self._context.bus, command, self.user).run(
            self._acknowledged, self._job_failed, owner=self
        )

    def _acknowledged(self, outcome: AckOutcome) -> None:
        when = format_local(outcome.signed_at, self.timezone, "%Y-%m-%d %H:%M %Z")
        text = self.tr("Signed {n} result(s): {name}, {when}, {meaning}.").format(
            n=len(outcome.acknowledged),
            name=outcome.signed_by,
            when=when,
            meaning=meaning_label(outcome.meaning),
        )
        if outcome.already_closed:
            text += " " + self.tr("%n were already closed by someone else.", "",
                                  len(outcome.already_closed))  # fmt: skip
        self.status_label.show_info(text)
        self.acknowledged.emit(outcome)
        self.reload()

    def export(self, fmt: ExportFormat) -> None:
        """Export the outstanding rows the board's query matches (in its order)."""
        if not self.can_export:
            return
        suggested = default_file_name(fmt, self._context.clock.now(), self.timezone)
        path, _ = QFileDialog.getSaveFileName(
            self,
            self.tr("Export outstanding results"),
            str(Path.home() / suggested),
            self.tr("CSV files (*.csv)") if fmt is ExportFormat.CSV else self.tr("PDF (*.pdf)"),
        )
        if not path:
            return
        command = ExportOutstanding(
            query=self.model.query,
            now_s=self.model.now_s,
            path=Path(path),
            format=fmt,
            timezone=self.timezone,
        )
        CommandOp(self._context.bus, command, self.user).run(
            self._exported, self._job_failed, owner=self
        )

    def _exported(self, summary: ExportSummary) -> None:
        self.status_label.show_info(
            self.tr("Exported {n} outstanding tests to {path}.").format(
                n=summary.rows, path=summary.path
            )
        )
        self.exported.emit(summary)
