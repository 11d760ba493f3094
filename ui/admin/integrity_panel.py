"""Admin "Integrity" panel: verify the custody chains in the background, list what is wrong."""

from __future__ import annotations

from PySide6.QtCore import QT_TRANSLATE_NOOP, QObject, Signal
from PySide6.QtWidgets import (
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from labdesk.custody.dto import ChainFinding, VerifyReport
from labdesk.custody.verify import verify_chains
from labdesk.kernel.dto import SignedInUser
from ui.context import AppContext
from ui.tasks import run_in_background
from ui.widgets.errors import error_text
from ui.widgets.table_model import Column, RowTableModel
from ui.widgets.table_view import sorting_table_view

_CONTEXT = "IntegrityPanel"


class FindingModel(RowTableModel[ChainFinding]):
    """One row per modified, deleted or inserted event."""

    translation_context = _CONTEXT
    columns = (
        Column[ChainFinding](QT_TRANSLATE_NOOP(_CONTEXT, "Found"), lambda f: f.kind.value),
        Column[ChainFinding](QT_TRANSLATE_NOOP(_CONTEXT, "Chain"), lambda f: f.chain),
        Column[ChainFinding](
            QT_TRANSLATE_NOOP(_CONTEXT, "Event"),
            lambda f: "" if f.event_id is None else str(f.event_id),
            lambda f: f.event_id or 0,
        ),
        Column[ChainFinding](QT_TRANSLATE_NOOP(_CONTEXT, "Specimen"), lambda f: f.accession),
        Column[ChainFinding](
            QT_TRANSLATE_NOOP(_CONTEXT, "What"), lambda f: f.message, stretch=True
        ),
    )


class _Progress(QObject):
    """Carries progress from the worker thread to the panel (queued to the UI thread)."""

    advanced = Signal(int, int)


class IntegrityPanel(QGroupBox):
    """Runs ``verify_chains`` off the UI thread, with a progress bar and the findings."""

    verified = Signal(object)

    def __init__(
        self,
        context: AppContext,
        user: SignedInUser | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setTitle(self.tr("Integrity"))
        self._context = context
        self._user = user
        self._progress = _Progress(self)
        self._progress.advanced.connect(self._advance)
        self.button = QPushButton(self.tr("Verify custody chains"), self)
        self.button.clicked.connect(self.run)
        self.button.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        self.progress = QProgressBar(self)
        self.progress.setVisible(False)
        self.result = QLabel(
            self.tr("Recomputes every specimen chain and the clinic-wide chain."), self
        )
        self.result.setWordWrap(True)
        self.model = FindingModel(self)
        self.table: QTableView = sorting_table_view(self.model, self)
        self.table.setVisible(False)
        row = QHBoxLayout()
        row.addWidget(self.button)
        row.addWidget(self.progress, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(row)
        layout.addWidget(self.result)
        layout.addWidget(self.table)

    def run(self) -> None:
        """Start a verification (the button stays disabled until it ends)."""
        self.button.setEnabled(False)
        self.progress.setRange(0, 0)
        self.progress.setVisible(True)
        self.result.setText(self.tr("Verifying…"))
        run_in_background(self._verify, self._done, self._failed, owner=self)

    def _verify(self) -> VerifyReport:
        emit = self._progress.advanced.emit
        return self._context.bus.query(
            verify_chains, actor=self._user, progress=lambda d, t: emit(d, t)
        )

    def _advance(self, done: int, total: int) -> None:
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(done)

    def _done(self, report: VerifyReport) -> None:
        self.button.setEnabled(True)
        self.progress.setVisible(False)
        self.model.set_rows(report.findings)
        self.table.setVisible(not report.ok)
        summary = self.tr("{e} events of {s} specimens checked in {t:.1f} s").format(
            e=f"{report.events:,}", s=f"{report.specimens:,}", t=report.seconds
        )
        if report.ok:
            self.result.setText(self.tr("{summary}: both chains intact.").format(summary=summary))
            self.result.setStyleSheet("color: #1b7f3b; font-weight: bold;")
        else:
            text = self.tr("{summary}: {n} problem(s) found.").format(
                summary=summary, n=len(report.findings) + len(report.guards)
            )
            self.result.setText("\n".join([text, *report.guards]))
            self.result.setStyleSheet("color: #b00020; font-weight: bold;")
        self.verified.emit(report)

    def _failed(self, error: Exception) -> None:
        self.button.setEnabled(True)
        self.progress.setVisible(False)
        self.result.setText(error_text(error))
        self.result.setStyleSheet("color: #b00020;")
        self.verified.emit(error)
