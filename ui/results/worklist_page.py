"""Result worklist page: results the HL7 interface could not match, and result discrepancies.

A result that names no ordered test exactly, or a test whose specimen the lab rejected or
lost (a *result discrepancy*, flagged on the results board), waits here for a clinician:
"Match to test…" applies it to the test they pick with the rules of the automatic match,
"Dismiss…" closes it with a reason. Both are audited; either closes a discrepancy, so the
board's flag clears (a dismissal keeps the rejection, a match applies the result over it).
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import QDialog, QHBoxLayout, QPushButton, QTableView, QWidget

from labdesk.interface.commands import (
    DismissUnmatched,
    MatchUnmatched,
    MatchUnmatchedByAccession,
)
from labdesk.interface.worklist import (
    MatchCandidate,
    UnmatchedRow,
    list_unmatched,
    match_candidates,
)
from labdesk.kernel.dto import SignedInUser
from ui.context import AppContext
from ui.results.worklist_dialogs import DismissDialog, MatchChoice, MatchDialog
from ui.results.worklist_models import UnmatchedTableModel
from ui.tasks import CommandOp, QueryOp
from ui.widgets.errors import error_text
from ui.widgets.message_label import MessageLabel
from ui.widgets.page import Page
from ui.widgets.table_view import sorting_table_view


class ResultWorklistPage(Page):
    """The open unmatched results and discrepancies, and what a clinician does with them."""

    loaded = Signal(int)
    matched = Signal(int)
    """A result was matched: the number of results stored."""
    dismissed = Signal(int)
    """A row was dismissed: its id."""
    failed = Signal(str)

    def __init__(
        self, context: AppContext, user: SignedInUser, parent: QWidget | None = None
    ) -> None:
        super().__init__(context, user, parent)
        self._timezone = context.config.clinic_timezone
        self.match_dialog: MatchDialog | None = None
        self.dismiss_dialog: DismissDialog | None = None
        self.status_label = MessageLabel(self)
        self.model = UnmatchedTableModel(self._timezone, self)
        self.table: QTableView = sorting_table_view(self.model, self)
        self.table.selectionModel().selectionChanged.connect(self._selection_changed)
        self.table.doubleClicked.connect(lambda _index: self.match_selected())
        self.reason_label = MessageLabel(self)
        self.refresh_button = QPushButton(self.tr("&Refresh"), self)
        self.refresh_button.clicked.connect(self.reload)
        self.match_button = QPushButton(self.tr("&Match to test…"), self)
        self.match_button.clicked.connect(self.match_selected)
        self.dismiss_button = QPushButton(self.tr("&Dismiss…"), self)
        self.dismiss_button.clicked.connect(self.dismiss_selected)
        self._build_layout()
        self._selection_changed()  # the list is read when the page is shown

    def _build_layout(self) -> None:
        buttons = QHBoxLayout()
        buttons.addWidget(self.refresh_button)
        buttons.addStretch(1)
        buttons.addWidget(self.dismiss_button)
        buttons.addWidget(self.match_button)
        layout = self.page_layout(
            self.tr("Result worklist"),
            self.tr(
                "Results from the lab that matched no ordered test, and results for "
                "specimens the lab rejected or lost (discrepancies, in red). Match each "
                "to its test, or dismiss it with a reason."
            ),
        )
        layout.addWidget(self.status_label)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.reason_label)
        layout.addLayout(buttons)

    def showEvent(self, event: QShowEvent) -> None:
        """Read the list again whenever the page comes forward."""
        super().showEvent(event)
        if not event.spontaneous():
            self.reload()

    # ------------------------------------------------------------ the list

    def reload(self) -> None:
        """Read the open rows in the background."""
        context = self._context
        QueryOp(context.bus, list_unmatched, context.clock, self._user).run(
            self._show_rows, self._failed, owner=self
        )

    def _show_rows(self, rows: list[UnmatchedRow]) -> None:
        self.model.set_rows(rows)
        discrepancies = sum(r.is_discrepancy for r in rows)
        if rows:
            self.status_label.show_info(
                self.tr("{n} result(s) wait for a person, {d} of them discrepancies.").format(
                    n=len(rows), d=discrepancies
                )
            )
        else:
            self.status_label.show_info(self.tr("Nothing waits: every result was matched."))
        self._selection_changed()
        self.loaded.emit(len(rows))

    def selected_row(self) -> UnmatchedRow | None:
        """The worklist row selected in the table, if any."""
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            return None
        source = self.table.model().mapToSource(rows[0])  # type: ignore[attr-defined]
        return self.model.row_at(source.row())

    def _selection_changed(self, *_args: object) -> None:
        row = self.selected_row()
        self.match_button.setEnabled(row is not None)
        self.dismiss_button.setEnabled(row is not None)
        self.reason_label.show_info(
            self.tr("Why it is here: {reason}").format(reason=row.reason) if row else ""
        )

    def _failed(self, error: Exception) -> None:
        text = error_text(error)
        self.status_label.show_error(text)
        self.failed.emit(text)

    # ------------------------------------------------------------ match

    def match_selected(self) -> None:
        """Read the patient's open tests, then ask which one the result belongs to."""
        row = self.selected_row()
        if row is None:
            return
        context = self._context
        QueryOp(context.bus, match_candidates, context.clock, self._user, row.id).run(
            lambda found: self._ask_match(row, found), self._failed, owner=self
        )

    def _ask_match(self, row: UnmatchedRow, candidates: list[MatchCandidate]) -> None:
        dialog = MatchDialog(row, candidates, self._timezone, self)
        self.match_dialog = dialog
        dialog.finished.connect(lambda code: self._match_answered(dialog, code))
        dialog.open()

    def _match_answered(self, dialog: MatchDialog, code: int) -> None:
        self.match_dialog = None
        dialog.deleteLater()
        choice = dialog.choice()
        if code != QDialog.DialogCode.Accepted or choice is None:
            return
        self._match(dialog.row, choice)

    def _match(self, row: UnmatchedRow, choice: MatchChoice) -> None:
        command: MatchUnmatched | MatchUnmatchedByAccession
        if choice.ordered_test_id is not None:
            command = MatchUnmatched(
                unmatched_id=row.id, ordered_test_id=choice.ordered_test_id, timezone=self._timezone
            )
        else:
            command = MatchUnmatchedByAccession(
                unmatched_id=row.id,
                accession=choice.accession,
                test_code=choice.test_code,
                timezone=self._timezone,
            )

        def done(added: int) -> None:
            self.status_label.show_info(
                self.tr("Matched: {n} result(s) stored on the test; it shows on the board.").format(
                    n=added
                )
            )
            self.matched.emit(added)
            self.reload()

        CommandOp(self._context.bus, command, self._user).run(done, self._failed, owner=self)

    # ------------------------------------------------------------ dismiss

    def dismiss_selected(self) -> None:
        """Ask why, then close the selected row without a match."""
        row = self.selected_row()
        if row is None:
            return
        dialog = DismissDialog(row, self)
        self.dismiss_dialog = dialog
        dialog.finished.connect(lambda code: self._dismiss_answered(dialog, code))
        dialog.open()

    def _dismiss_answered(self, dialog: DismissDialog, code: int) -> None:
        self.dismiss_dialog = None
        dialog.deleteLater()
        if code != QDialog.DialogCode.Accepted:
            return
        row = dialog.row
        command = DismissUnmatched(unmatched_id=row.id, reason=dialog.reason())

        def done(_none: None) -> None:
            self.status_label.show_info(
                self.tr("Dismissed; the lab's rejection stands.")
                if row.is_discrepancy
                else self.tr("Dismissed.")
            )
            self.dismissed.emit(row.id)
            self.reload()

        CommandOp(self._context.bus, command, self._user).run(done, self._failed, owner=self)
