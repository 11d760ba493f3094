"""One specimen's chain-of-custody timeline, with whether each event's hashes verify.

Any screen that shows a specimen opens it with :func:`open_specimen_timeline`. It shows no
patient name or date of birth, so couriers may open it too.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QT_TRANSLATE_NOOP, QCoreApplication, Qt, Signal
from PySide6.QtGui import QBrush
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QTableView, QVBoxLayout, QWidget

from labdesk.custody.dto import SpecimenTimeline, TimelineEntry
from labdesk.custody.timeline import specimen_timeline
from labdesk.domain.catalog import TemperatureClass
from labdesk.domain.errors import PermissionDenied
from labdesk.domain.recollection import reason_label
from labdesk.domain.timefmt import format_local
from labdesk.kernel.dto import SignedInUser
from ui.catalog_labels import temperature_label
from ui.context import AppContext
from ui.tasks import QueryOp
from ui.widgets.colors import ERROR_BACKGROUND
from ui.widgets.errors import error_text
from ui.widgets.table_model import Column, ModelIndex, RowTableModel
from ui.widgets.table_view import sorting_table_view

_CONTEXT = "SpecimenTimeline"
SIZE = (1100, 480)


def _tr(text: str) -> str:
    return QCoreApplication.translate(_CONTEXT, text)


def condition_text(entry: TimelineEntry) -> str:
    """Temperature class and seal, as recorded."""
    parts = []
    if entry.temperature_class is not None:
        parts.append(temperature_label(TemperatureClass(entry.temperature_class)))
    if entry.seal_intact is not None:
        parts.append(_tr("seal intact") if entry.seal_intact else _tr("seal broken"))
    return ", ".join(parts)


class TimelineModel(RowTableModel[TimelineEntry]):
    """Events oldest first; a failing event's row is red with the reason as tooltip."""

    translation_context = _CONTEXT

    def __init__(self, timezone: str, parent: Any = None) -> None:
        super().__init__(parent)
        self.timezone = timezone
        self._columns = (
            Column[TimelineEntry](
                QT_TRANSLATE_NOOP(_CONTEXT, "#"), lambda e: str(e.seq), lambda e: e.seq
            ),
            Column[TimelineEntry](
                QT_TRANSLATE_NOOP(_CONTEXT, "Step"), lambda e: e.kind.value.replace("_", " ")
            ),
            Column[TimelineEntry](
                QT_TRANSLATE_NOOP(_CONTEXT, "When"),
                lambda e: format_local(e.occurred_at, self.timezone, "%Y-%m-%d %H:%M"),
                lambda e: e.occurred_at.timestamp(),
            ),
            Column[TimelineEntry](QT_TRANSLATE_NOOP(_CONTEXT, "Who"), lambda e: e.actor),
            Column[TimelineEntry](QT_TRANSLATE_NOOP(_CONTEXT, "Where"), lambda e: e.location),
            Column[TimelineEntry](QT_TRANSLATE_NOOP(_CONTEXT, "Condition"), condition_text),
            Column[TimelineEntry](
                QT_TRANSLATE_NOOP(_CONTEXT, "Bag / box"), lambda e: e.container_ref
            ),
            Column[TimelineEntry](
                QT_TRANSLATE_NOOP(_CONTEXT, "Reason"), lambda e: reason_label(e.reason)
            ),
            Column[TimelineEntry](QT_TRANSLATE_NOOP(_CONTEXT, "Note"), lambda e: e.note),
            Column[TimelineEntry](
                QT_TRANSLATE_NOOP(_CONTEXT, "Chain"),
                lambda e: _tr("verified") if e.verified else _tr("FAILS"),
                tooltip=lambda e: e.problem,
                stretch=True,
            ),
        )

    @property
    def columns(self) -> Any:  # type: ignore[override]
        """Declared once per model: the time column needs the model's time zone."""
        return self._columns

    def data(self, index: ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        """Red background for events that do not verify."""
        if role == Qt.ItemDataRole.BackgroundRole and index.isValid():
            return None if self.row_at(index.row()).verified else QBrush(ERROR_BACKGROUND)
        return super().data(index, role)


class SpecimenTimelineDialog(QDialog):
    """Loads and shows one specimen's timeline (off the UI thread)."""

    loaded = Signal(object)

    def __init__(
        self,
        context: AppContext,
        user: SignedInUser,
        specimen_id: int | None = None,
        *,
        accession: str | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._context = context
        self.setWindowTitle(self.tr("Specimen timeline"))
        self.resize(*SIZE)
        self.heading = QLabel(self.tr("Loading…"), self)
        self.heading.setWordWrap(True)
        self.verdict = QLabel(self)
        self.model = TimelineModel(context.config.clinic_timezone, self)
        self.table: QTableView = sorting_table_view(self.model, self)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.heading)
        layout.addWidget(self.verdict)
        layout.addWidget(self.table, 1)
        layout.addWidget(buttons)
        QueryOp(context.bus, specimen_timeline, user, specimen_id, accession=accession).run(
            self._show, self._failed, owner=self
        )

    def _show(self, timeline: SpecimenTimeline) -> None:
        self.setWindowTitle(self.tr("Timeline of {a}").format(a=timeline.accession))
        self.heading.setText(
            self.tr("{a} · {c} · {t} · site {s} · now {st}").format(
                a=timeline.accession,
                c=timeline.container_code,
                t=temperature_label(timeline.temperature_class),
                s=timeline.site_code,
                st=timeline.status.value.replace("_", " "),
            )
        )
        failing = [e for e in timeline.entries if not e.verified]
        if failing:
            self.verdict.setText(
                self.tr(
                    "Chain does NOT verify: %n event(s) fail. Tell an administrator.",
                    "",
                    len(failing),
                )
            )
            self.verdict.setStyleSheet("color: #b00020; font-weight: bold;")
        else:
            self.verdict.setText(self.tr("Chain verifies: every event is intact and linked."))
            self.verdict.setStyleSheet("color: #1b7f3b; font-weight: bold;")
        self.model.set_rows(timeline.entries)
        self.loaded.emit(timeline)

    def _failed(self, error: Exception) -> None:
        self.heading.setText(error_text(error))
        self.verdict.setText("")


def _user_of(parent: QWidget | None) -> SignedInUser | None:
    window = parent.window() if parent is not None else None
    user = getattr(window, "user", None)
    return user if isinstance(user, SignedInUser) else None


def open_specimen_timeline(
    parent: QWidget | None,
    core_ctx: AppContext,
    specimen_id: int | None,
    user: SignedInUser | None = None,
    *,
    accession: str | None = None,
) -> SpecimenTimelineDialog:
    """Open the timeline of a specimen (by id, or by ``accession``) in a non-modal dialog.

    Args:
        parent: the calling widget; the dialog stays on top of its window.
        core_ctx: the screens' :class:`AppContext`.
        specimen_id: the specimen's database id (or None with ``accession``).
        user: the signed-in user; defaults to ``parent.window().user`` (the main window's).
        accession: the specimen's accession ID, when the id is not at hand.

    Raises:
        PermissionDenied: no signed-in user can be found.
    """
    actor = user or _user_of(parent)
    if actor is None:
        raise PermissionDenied("Nobody is signed in.", hint="Sign in to see the timeline.")
    dialog = SpecimenTimelineDialog(
        core_ctx, actor, specimen_id, accession=accession, parent=parent
    )
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.show()
    return dialog
