"""The clinician board as a lazy table model: one row per ordered test, read a page at a time.

The model holds a :class:`BoardQuery`, how many rows it matches (the row count) and a
bounded cache of pages of ``BoardRow`` tuples. A row whose page is not cached is read when a
view first asks for it: one bounded, indexed query through the injected ``fetch`` (the way
``QSqlQueryModel`` fetches), so only the pages someone looks at cross into Python. The app
keeps database work off the UI thread; this read is the deliberate exception because it is
one page of an indexed table, and the model holds a function, never a Session (``fetch``
opens a unit of work per call). Filtering and sorting are a new query: one read of the first
page with its count, then a model reset.

A failed read (the database went away) never raises into Qt: the model keeps its rows,
shows empty cells for a page it could not read, and reports the error by ``fetch_failed``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import (
    QT_TRANSLATE_NOOP,
    QAbstractTableModel,
    QCoreApplication,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    Signal,
)
from PySide6.QtGui import QColor

from labdesk.domain.errors import LabdeskError
from labdesk.domain.order import TestStatus
from labdesk.domain.overdue import FlagReason, Urgency, from_posix
from labdesk.domain.timefmt import format_local
from labdesk.results.board_dto import ABNORMAL, CRITICAL, NORMAL, Board, BoardRow
from labdesk.results.board_query import PAGE_SIZE, BoardQuery, SortKey, sort_value
from ui.results.board_pages import MAX_PAGES, Fetch, PageCache
from ui.widgets.table_model import SORT_ROLE, Column

logger = logging.getLogger(__name__)

_CONTEXT = "BoardTableModel"
ModelIndex = QModelIndex | QPersistentModelIndex
#: Role serving the ``BoardRow`` itself (the drill-down and acknowledgement need it).
ROW_ROLE = Qt.ItemDataRole.UserRole + 2
URGENCY_COLOURS = {
    Urgency.LIFE_THREATENING: QColor("#b00020"),
    Urgency.URGENT: QColor("#b26a00"),
    Urgency.FOLLOW_UP: QColor("#5b4bb7"),
}


def tr(text: str) -> str:
    """Translate ``text`` in this module's context."""
    return QCoreApplication.translate(_CONTEXT, text)


def status_label(status: TestStatus) -> str:
    """Translated status of an ordered test."""
    labels = {
        TestStatus.ORDERED: tr("Ordered"),
        TestStatus.COLLECTED: tr("Collected"),
        TestStatus.IN_TRANSIT: tr("In transit"),
        TestStatus.RECEIVED: tr("At the lab"),
        TestStatus.PRELIMINARY: tr("Preliminary"),
        TestStatus.FINAL: tr("Final"),
        TestStatus.ACKNOWLEDGED: tr("Acknowledged"),
        TestStatus.REJECTED: tr("Rejected"),
        TestStatus.LOST: tr("Lost"),
        TestStatus.NOT_PERFORMED: tr("Not performed"),
        TestStatus.CANCELLED: tr("Cancelled"),
    }
    return labels[status]


def reason_label(reason: FlagReason) -> str:
    """Translated flag reason."""
    labels = {
        FlagReason.NOT_COLLECTED: tr("Ordered, not collected"),
        FlagReason.NOT_PICKED_UP: tr("Collected, not picked up"),
        FlagReason.TRANSIT_OVERDUE: tr("Overdue in transit"),
        FlagReason.NOT_RESULTED: tr("Not resulted in turnaround"),
        FlagReason.FINAL_OVERDUE: tr("Final result overdue"),
        FlagReason.NO_RECOLLECTION: tr("Rejected, not recollected"),
        FlagReason.NOT_ACKNOWLEDGED: tr("Not acknowledged"),
        FlagReason.CRITICAL_NOT_ACKNOWLEDGED: tr("CRITICAL not acknowledged"),
        FlagReason.UNMATCHED_RESULT: tr("Unmatched result"),
        FlagReason.LOST: tr("Lost, not recollected"),
        FlagReason.RESULT_DISCREPANCY: tr("Result on a rejected or lost specimen"),
    }
    return labels[reason]


def waiting_label(reason: FlagReason) -> str:
    """What a test waits for while that step is not yet overdue (shown without a flag)."""
    labels = {
        FlagReason.NOT_COLLECTED: tr("Awaiting collection"),
        FlagReason.NOT_PICKED_UP: tr("Awaiting pickup"),
        FlagReason.TRANSIT_OVERDUE: tr("In transit"),
        FlagReason.NOT_RESULTED: tr("Awaiting result"),
        FlagReason.FINAL_OVERDUE: tr("Awaiting final result"),
        FlagReason.NO_RECOLLECTION: tr("Awaiting recollection"),
        FlagReason.NOT_ACKNOWLEDGED: tr("Awaiting acknowledgement"),
    }
    return labels.get(reason, reason_label(reason))


def flags_text(row: BoardRow) -> str:
    """Raised flags, or, before any is raised, the step the test waits for; then why a
    test waiting for collection was not drawn (a reschedule's reason)."""
    if row.flags:
        text = " · ".join(reason_label(f.reason) for f in row.flags)
    else:
        text = waiting_label(row.waiting) if row.waiting is not None else ""
    return f"{text} · {row.note}" if row.note and text else text or row.note


def severity_label(severity: int) -> str:
    """Translated worst-result text."""
    return {CRITICAL: tr("Critical"), ABNORMAL: tr("Abnormal"), NORMAL: tr("Normal")}.get(
        severity, ""
    )


def duration_text(seconds: float) -> str:
    """``3 d 4 h``, ``5 h 10 min`` or ``12 min``."""
    minutes = int(abs(seconds) // 60)
    days, rest = divmod(minutes, 1440)
    hours, mins = divmod(rest, 60)
    if days:
        return tr("{d} d {h} h").format(d=days, h=hours)
    if hours:
        return tr("{h} h {m} min").format(h=hours, m=mins)
    return tr("{m} min").format(m=mins)


@dataclass(frozen=True)
class BoardColumn(Column[BoardRow]):
    """A board column: ``sort`` is the key the board table orders by for it."""

    sort: SortKey = SortKey.DUE


def _column(
    header: object, display: Callable[[BoardRow], str], sort: SortKey, *, stretch: bool = False
) -> BoardColumn:
    # The raw sort value (SORT_ROLE) is the services' own rule for the key, so what a view
    # reads back is exactly what the SQL ordered by.
    return BoardColumn(header, display, sort_value(sort), stretch=stretch, sort=sort)


class BoardTableModel(QAbstractTableModel):
    """The rows a :class:`BoardQuery` matches, read a page at a time through ``fetch``.

    Args:
        timezone: the clinic's zone, for the times shown.
        fetch: reads a page (see :data:`ui.results.board_pages.Fetch`).
        parent: the owning object.
        page_size: rows per read; the page loads the board with the same size.
        max_pages: pages kept in memory (least recently used dropped).
    """

    fetch_failed = Signal(object)
    """A read failed (the exception); the rows shown did not change."""
    query_changed = Signal(object)
    """The query (filter and sort) the rows now match."""
    _failed_later = Signal(object)

    def __init__(
        self,
        timezone: str,
        fetch: Fetch,
        parent: QObject | None = None,
        *,
        page_size: int = PAGE_SIZE,
        max_pages: int = MAX_PAGES,
    ) -> None:
        super().__init__(parent)
        self.timezone = timezone
        self.now_s = 0.0
        self.columns = self._declare_columns()
        self._fetch = fetch
        self._query = BoardQuery()
        self._total = 0
        self._loaded = False
        self._pages = PageCache(page_size, max_pages)
        self._failed: set[int] = set()
        # A read failing inside data() is reported after the paint that asked for it.
        self._failed_later.connect(self.fetch_failed, Qt.ConnectionType.QueuedConnection)

    # ------------------------------------------------------------ columns

    def _declare_columns(self) -> tuple[BoardColumn, ...]:
        def local(seconds: float | None) -> str:
            return "" if seconds is None else format_local(from_posix(seconds), self.timezone)

        return (
            _column(
                QT_TRANSLATE_NOOP(_CONTEXT, "Flags"),
                flags_text,
                SortKey.URGENCY,
                stretch=True,
            ),
            _column(QT_TRANSLATE_NOOP(_CONTEXT, "Due"), self._due_text, SortKey.DUE),
            _column(
                QT_TRANSLATE_NOOP(_CONTEXT, "Patient"),
                lambda r: r.patient_name,
                SortKey.PATIENT,
                stretch=True,
            ),
            _column(QT_TRANSLATE_NOOP(_CONTEXT, "MRN"), lambda r: r.mrn, SortKey.MRN),
            _column(
                QT_TRANSLATE_NOOP(_CONTEXT, "Test"),
                lambda r: f"{r.test_code} — {r.test_name}",
                SortKey.TEST,
                stretch=True,
            ),
            _column(
                QT_TRANSLATE_NOOP(_CONTEXT, "Status"),
                lambda r: status_label(r.status),
                SortKey.STATUS,
            ),
            _column(
                QT_TRANSLATE_NOOP(_CONTEXT, "Result"),
                lambda r: severity_label(r.severity),
                SortKey.RESULT,
            ),
            _column(
                QT_TRANSLATE_NOOP(_CONTEXT, "Priority"),
                lambda r: tr("STAT") if r.stat else tr("Routine"),
                SortKey.PRIORITY,
            ),
            _column(
                QT_TRANSLATE_NOOP(_CONTEXT, "Clinician"), self._clinician_text, SortKey.CLINICIAN
            ),
            _column(
                QT_TRANSLATE_NOOP(_CONTEXT, "Ordered"),
                lambda r: local(r.ordered_s),
                SortKey.ORDERED,
            ),
            _column(
                QT_TRANSLATE_NOOP(_CONTEXT, "Collected"),
                lambda r: local(r.collected_s),
                SortKey.COLLECTED,
            ),
            _column(
                QT_TRANSLATE_NOOP(_CONTEXT, "Accession"), lambda r: r.accession, SortKey.ACCESSION
            ),
        )

    def _due_text(self, row: BoardRow) -> str:
        if row.due_s is None:
            return ""
        at_once = next((f for f in row.flags if f.reason.at_once), None)
        if at_once is not None:  # nothing was waited for: say how long it has stood
            return tr("now · {t} ago").format(t=duration_text(self.now_s - at_once.since_s))
        late = self.now_s - row.due_s
        if late >= 0:
            return tr("overdue {t}").format(t=duration_text(late))
        return tr("in {t}").format(t=duration_text(late))

    def _clinician_text(self, row: BoardRow) -> str:
        if not row.escalated:
            return row.ordering_provider
        target = row.escalated_to or tr("nobody (no covering clinician)")
        return tr("{who} → {cover}").format(who=row.ordering_provider, cover=target)

    def column_of(self, key: SortKey) -> int:
        """The column that sorts by ``key``."""
        return next(i for i, c in enumerate(self.columns) if c.sort is key)

    # ------------------------------------------------------------ query and loads

    @property
    def query(self) -> BoardQuery:
        """The filter and order the rows match (or will, once a board is loaded)."""
        return self._query

    @property
    def page_size(self) -> int:
        """Rows per read."""
        return self._pages.page_size

    @property
    def loaded(self) -> bool:
        """True once a board was installed."""
        return self._loaded

    def set_board(self, board: Board) -> None:
        """Install a loaded board: its query, its first page, its count and its time."""
        self.beginResetModel()
        self.now_s = board.now_s
        self._query = board.query or BoardQuery()
        self._total = board.total
        self._pages.clear()
        self._pages.store_span(0, list(board.rows), board.total)
        self._failed.clear()
        self._loaded = True
        self.endResetModel()
        self.query_changed.emit(self._query)

    def set_query(self, query: BoardQuery) -> bool:
        """Show the rows ``query`` matches, in its order (one read of the first page).

        Before a board is loaded the query is only kept (the load uses it).

        Returns:
            False when the read failed: the rows shown are unchanged, ``fetch_failed`` said why.
        """
        if query == self._query:
            return True
        if not self._loaded:
            self._query = query
            self.query_changed.emit(query)
            return True
        try:
            page = self._fetch(query, 0, self.page_size, True)
        except Exception as error:
            self._report(error)
            return False
        total = page.total if page.total is not None else len(page.rows)
        self.beginResetModel()
        self._query = query
        self._total = total
        self._pages.clear()
        self._pages.store_span(0, page.rows, total)
        self._failed.clear()
        self.endResetModel()
        self.query_changed.emit(query)
        return True

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """Order by ``column``'s key (a new query; -1 keeps the order)."""
        if not 0 <= column < len(self.columns):
            return
        descending = order == Qt.SortOrder.DescendingOrder
        self.set_query(self._query.but(sort=self.columns[column].sort, descending=descending))

    # ------------------------------------------------------------ rows

    def row_at(self, position: int, *, fetch: bool = True) -> BoardRow | None:
        """The row at ``position``, read with its page unless cached (or ``fetch`` is False).

        Returns:
            None outside the rows, or when its page could not be read.
        """
        if not 0 <= position < self._total:
            return None
        number, offset = divmod(position, self.page_size)
        rows = self._pages.get(number)
        if rows is None and fetch:
            rows = self._read_page(number)
        if rows is None or offset >= len(rows):
            return None
        return rows[offset]

    def rows_in(self, first: int, last: int) -> list[BoardRow]:
        """Rows ``first`` … ``last`` (inclusive), reading each run of missing pages at once.

        Raises:
            Exception: whatever ``fetch`` raises (nothing is reported by signal).
        """
        first, last = max(first, 0), min(last, self._total - 1)
        if first > last:
            return []
        size = self.page_size
        pages: dict[int, list[BoardRow]] = {}
        number, end = first // size, last // size
        while number <= end:
            cached = self._pages.get(number)
            if cached is not None:
                pages[number] = cached
                number += 1
                continue
            run_end = number
            while run_end < end and (run_end + 1) not in self._pages:
                run_end += 1
            read = self._fetch(self._query, number * size, (run_end - number + 1) * size, False)
            for k in range(number, run_end + 1):
                pages[k] = read.rows[(k - number) * size : (k - number + 1) * size]
                self._pages.store(k, pages[k])
                self._failed.discard(k)
            number = run_end + 1
        picked = (divmod(p, size) for p in range(first, last + 1))
        return [pages[n][i] for n, i in picked if i < len(pages[n])]

    def rows_loaded(self) -> list[tuple[int, BoardRow]]:
        """The cached rows with their positions, top to bottom (nothing is read)."""
        return list(self._pages.loaded())

    def _read_page(self, number: int) -> list[BoardRow] | None:
        if number in self._failed:
            return None  # not again on every cell of every paint; a new query or load retries
        try:
            page = self._fetch(self._query, number * self.page_size, self.page_size, False)
        except Exception as error:
            self._failed.add(number)
            self._report(error, later=True)
            return None
        self._pages.store(number, page.rows)
        return page.rows

    def _report(self, error: Exception, *, later: bool = False) -> None:
        # Never raise into Qt's painting; a failure other than the known ones is a bug, so
        # it is logged with its traceback as ui.tasks does for background jobs.
        if not isinstance(error, LabdeskError):
            logger.error("reading the board failed", exc_info=error)
        (self._failed_later if later else self.fetch_failed).emit(error)

    # ------------------------------------------------------------ Qt model

    def rowCount(self, parent: ModelIndex = QModelIndex()) -> int:  # noqa: B008 - Qt's default
        """How many rows the query matches (a flat table)."""
        return 0 if parent.isValid() else self._total

    def columnCount(self, parent: ModelIndex = QModelIndex()) -> int:  # noqa: B008 - Qt's default
        """Number of declared columns."""
        return 0 if parent.isValid() else len(self.columns)

    def headerData(
        self,
        section: int,
        orientation: Qt.Orientation,
        role: int = Qt.ItemDataRole.DisplayRole,
    ) -> Any:
        """Translated column headers; row headers are not shown."""
        if (
            role == Qt.ItemDataRole.DisplayRole
            and orientation == Qt.Orientation.Horizontal
            and 0 <= section < len(self.columns)
        ):
            return tr(str(self.columns[section].header))
        return None

    def data(self, index: ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        """Display text, raw sort value, the row itself, urgency colour, flags' due times."""
        if not index.isValid():
            return None
        row = self.row_at(index.row())
        if row is None:
            return None
        column = self.columns[index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            return column.display(row)
        if role == ROW_ROLE:
            return row
        if role == Qt.ItemDataRole.ForegroundRole:
            urgency = row.urgency
            return URGENCY_COLOURS[urgency] if urgency is not None else None
        if role == SORT_ROLE:
            return column.sort_value(row)
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return column.alignment
        if role == Qt.ItemDataRole.ToolTipRole and index.column() == 0 and row.flags:
            return "\n".join(
                tr("{reason}: due {due}").format(
                    reason=reason_label(f.reason),
                    due=format_local(from_posix(f.due_s), self.timezone),
                )
                for f in row.flags
            )
        return None
