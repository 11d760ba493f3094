"""Benchmark worker for the board's Qt side (``labdesk bench`` runs it as a subprocess).

``labdesk`` never imports Qt, so the bench starts ``python -m ui.results.bench_worker URL
NOW`` with the offscreen platform. The worker loads the board through the service once,
then answers one command per line on stdin, each timed by the bench around the round trip:

``filter I``  apply filter number ``I`` of :data:`FILTERS` to the proxy (the re-filter)
``floor I``   the same criteria as a bare list comprehension over the rows, no Qt
``reset``     hand the rows to the model again (model reset plus proxy rebuild)
``quit``      exit

Each answer is one line, ``ok <rows>``.
"""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from PySide6.QtWidgets import QApplication

from labdesk.bootstrap import bootstrap
from labdesk.config import Config
from labdesk.domain.clock import FixedClock
from labdesk.domain.order import TestStatus
from labdesk.domain.overdue import FlagReason, OverduePolicy
from labdesk.domain.people import Role
from labdesk.services.board_dto import BoardRow
from labdesk.services.dto import SignedInUser
from labdesk.services.overdue import load_board
from ui.results.board_model import BoardTableModel
from ui.results.board_proxy import ANY_FLAG, BoardFilter, BoardProxyModel

FILTERS = (
    BoardFilter(status=TestStatus.FINAL),
    BoardFilter(flag=ANY_FLAG),
    BoardFilter(flag=FlagReason.NOT_ACKNOWLEDGED),
    BoardFilter(text="bel"),
    BoardFilter(patient="M00012"),
    BoardFilter(clinician="Dr. Ben Okafor"),
    BoardFilter(text="cbc bel", flag=ANY_FLAG),
    BoardFilter(),
)


def floor_predicate(criteria: BoardFilter) -> Callable[[BoardRow], bool]:
    """The same criteria as one plain predicate (the floor: no Qt, no indexes)."""
    text = criteria.text.casefold().split()
    patient = criteria.patient.casefold()

    def accept(r: BoardRow) -> bool:
        if criteria.status is not None and r.status is not criteria.status:
            return False
        if criteria.clinician and r.ordering_provider != criteria.clinician:
            return False
        if criteria.flag == ANY_FLAG and not r.flags:
            return False
        if isinstance(criteria.flag, FlagReason) and criteria.flag not in r.reasons:
            return False
        if patient and patient not in f"{r.mrn}\n{r.patient_name}".casefold():
            return False
        if text:
            hay = (
                f"{r.mrn}\n{r.patient_name}\n{r.test_code}\n{r.test_name}\n{r.accession}".casefold()
            )
            return all(w in hay for w in text)
        return True

    return accept


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
        board = load_board(core.uow(), clock, actor, OverduePolicy(), audit=False)
    finally:
        core.close()
    model = BoardTableModel("America/New_York")
    proxy = BoardProxyModel()
    proxy.setSourceModel(model)
    model.set_rows(board.rows, board.loaded_at)
    for criteria in FILTERS:  # builds the search indexes once, as a first search does
        proxy.set_filter(criteria)
    print(f"ready {len(board.rows)}", flush=True)  # noqa: T201 - the bench reads stdout
    for line in sys.stdin:
        command, _, arg = line.strip().partition(" ")
        if command == "filter":
            proxy.set_filter(FILTERS[int(arg) % len(FILTERS)])
            count = proxy.rowCount()
        elif command == "floor":
            accept = floor_predicate(FILTERS[int(arg) % len(FILTERS)])
            count = sum(1 for r in board.rows if accept(r))
        elif command == "reset":
            model.set_rows(board.rows, board.loaded_at)
            count = proxy.rowCount()
        else:
            break
        print(f"ok {count}", flush=True)  # noqa: T201 - the bench reads stdout
    del app
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
