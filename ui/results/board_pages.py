"""The pages of board rows a lazy model has read, most recently used kept (no Qt).

A page is ``page_size`` consecutive rows of one query's matches, numbered from 0. The cache
is bounded so scrolling through 100,000 rows keeps at most ``max_pages`` pages in memory.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterator

from labdesk.results.board_dto import BoardPage, BoardRow
from labdesk.results.board_query import BoardQuery

Fetch = Callable[[BoardQuery, int, int, bool], BoardPage]
"""Reads rows ``offset`` … ``offset + limit`` of a query's matches: ``(query, offset, limit,
with_total) -> BoardPage``, in a fresh unit of work per call (the results page sends
:func:`labdesk.results.board.query_board` through ``MessageBus.query``)."""
MAX_PAGES = 50
"""Pages kept by default: 10,000 rows at 200 a page, a few megabytes."""


class PageCache:
    """Least recently used pages of one query's rows."""

    def __init__(self, page_size: int, max_pages: int = MAX_PAGES) -> None:
        if page_size < 1 or max_pages < 1:
            raise ValueError("page_size and max_pages must be at least 1")
        self.page_size = page_size
        self.max_pages = max_pages
        self._pages: OrderedDict[int, list[BoardRow]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._pages)

    def __contains__(self, number: object) -> bool:
        return number in self._pages

    def clear(self) -> None:
        """Forget every page (a new query or a new load)."""
        self._pages.clear()

    def get(self, number: int) -> list[BoardRow] | None:
        """Page ``number`` if cached (it becomes the most recently used)."""
        rows = self._pages.get(number)
        if rows is not None:
            self._pages.move_to_end(number)
        return rows

    def peek(self, number: int) -> list[BoardRow] | None:
        """Page ``number`` if cached, without touching its age."""
        return self._pages.get(number)

    def store(self, number: int, rows: list[BoardRow]) -> None:
        """Keep ``rows`` as page ``number``, dropping the least recently used beyond the bound."""
        self._pages[number] = rows
        self._pages.move_to_end(number)
        while len(self._pages) > self.max_pages:
            self._pages.popitem(last=False)

    def store_span(self, offset: int, rows: list[BoardRow], total: int) -> None:
        """Split rows read from ``offset`` (a page boundary) into pages and keep them.

        A trailing piece shorter than a page is kept only when it reaches ``total`` (the
        last page); otherwise that page is read again when someone asks for it.
        """
        first, rest = divmod(offset, self.page_size)
        if rest:
            raise ValueError(f"offset {offset} is not on a page boundary")
        for start in range(0, len(rows), self.page_size):
            piece = rows[start : start + self.page_size]
            if len(piece) == self.page_size or offset + start + len(piece) >= total:
                self.store(first + start // self.page_size, piece)

    def loaded(self) -> Iterator[tuple[int, BoardRow]]:
        """Every cached row with its position, top to bottom."""
        for number in sorted(self._pages):
            base = number * self.page_size
            for i, row in enumerate(self._pages[number]):
                yield base + i, row
