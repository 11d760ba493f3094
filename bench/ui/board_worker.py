"""Benchmark worker for the board's Qt side (``labdesk bench`` runs it as a subprocess).

The bench process never starts Qt, so it starts ``python -m bench.ui.board_worker URL
NOW`` with the offscreen platform. The worker loads the board through the service once,
then answers one command per line on stdin, each timed by the bench around the round trip:

``filter I``  set query number ``I`` of :data:`FILTERS` on the lazy model (the re-filter:
              one read of the first page and the count, then a model reset)
``floor I``   the same criteria counted by bare SQL, no Qt and no services
              (:func:`bench.core.board_floor.floor_count`)
``reset``     hand the loaded board to the model again (a model reset, nothing read)
``quit``      exit

Each answer is one line, ``ok <rows>`` (``error <text>`` when a read failed).
"""

from __future__ import annotations

import sys
import tempfile
from datetime import datetime
from pathlib import Path

from PySide6.QtWidgets import QApplication

from bench.core.board_floor import floor_count
from labdesk.bootstrap import bootstrap
from labdesk.config import Config
from labdesk.domain.clock import FixedClock
from labdesk.domain.order import TestStatus
from labdesk.domain.overdue import FlagReason, OverduePolicy
from labdesk.domain.people import Role
from labdesk.kernel.dto import SignedInUser
from labdesk.results.board import load_board, query_board
from labdesk.results.board_dto import BoardPage
from labdesk.results.board_query import ANY_FLAG, BoardQuery
from ui.results.board_model import BoardTableModel

FILTERS = (
    BoardQuery(status=TestStatus.FINAL),
    BoardQuery(flag=ANY_FLAG),
    BoardQuery(flag=FlagReason.NOT_ACKNOWLEDGED),
    BoardQuery(text="bel"),
    BoardQuery(patient="M00012"),
    BoardQuery(clinician="Dr. Ben Okafor"),
    BoardQuery(text="cbc bel", flag=ANY_FLAG),
    BoardQuery(),
)
"""The re-filter scenario's queries, in turn (the last, empty one is the reset floor's)."""


def _filter(model: BoardTableModel, i: int) -> str:
    if not model.set_query(FILTERS[i % len(FILTERS)]):
        return "error the board could not be read"
    return f"ok {model.rowCount()}"


def main(argv: list[str]) -> int:
    """Serve commands until ``quit`` (see the module docstring)."""
    url, now = argv[1], datetime.fromisoformat(argv[2])
    app = QApplication([argv[0], "-platform", "offscreen"])
    clock = FixedClock(now)
    actor = SignedInUser(id=0, username="bench", display_name="Bench", role=Role.CLINICIAN,
                         initials="B")  # fmt: skip
    core = bootstrap(
        Config(database_url=url, data_dir=Path(tempfile.gettempdir())),
        clock=clock,
        auto_upgrade=False,
    )
    try:
        bus = core.bus  # as the results page reads the board: queries through the bus
        board = bus.query(load_board, clock, actor, OverduePolicy(), audit=False)

        def fetch(query: BoardQuery, offset: int, limit: int, with_total: bool) -> BoardPage:
            return bus.query(
                query_board, actor, query, board.now_s,
                offset=offset, limit=limit, with_total=with_total,
            )  # fmt: skip

        model = BoardTableModel("America/New_York", fetch)
        for query in FILTERS:  # warms the database's caches once, as a first search does
            model.set_query(query)
            floor_count(url, query, board.now_s)  # and compiles the floor's statements
        model.set_board(board)
        print(f"ready {model.rowCount()}", flush=True)  # noqa: T201 - the bench reads stdout
        for line in sys.stdin:
            command, _, arg = line.strip().partition(" ")
            if command == "filter":
                answer = _filter(model, int(arg))
            elif command == "floor":
                query = FILTERS[int(arg) % len(FILTERS)]
                answer = f"ok {floor_count(url, query, board.now_s)}"
            elif command == "reset":
                model.set_board(board)
                answer = f"ok {model.rowCount()}"
            else:
                break
            print(answer, flush=True)  # noqa: T201 - the bench reads stdout
    finally:
        core.close()
    del app
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
