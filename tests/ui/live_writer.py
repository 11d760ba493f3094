"""The other station, in its own process: changes the shared database on command.

``python live_writer.py URL FOLDER ISO_NOW`` reads one command per stdin line, runs it
through the same bus (or HL7 ingestor) a real station uses, commits, and answers
``ok BEGAN DONE`` (``time.monotonic()`` as the command began and after its commit: one
clock for every process of the machine, so the reader's delay from BEGAN includes the
command's own work) or ``error: ...``. Used by ``test_live_other_process.py``; the
database holds the ``hl7_world`` clinic and station ``DRAW-2``.

Commands: ``result`` (an HL7 ORU for test K), ``ack TEST_ID``, ``order PATIENT_ID``,
``print`` (a test label to a printer that refuses, so the job fails), ``quit``.
"""

from __future__ import annotations

import sys
import time
from datetime import datetime
from pathlib import Path

sys.path.append(str(Path(__file__).resolve().parents[1] / "integration"))

import hl7_world as hl7

from labdesk.access.auth import session_of
from labdesk.bootstrap import bootstrap
from labdesk.config import Config
from labdesk.domain.clock import FixedClock
from labdesk.domain.people import Role
from labdesk.domain.result import AckMeaning
from labdesk.interface.ingest import Ingestor
from labdesk.kernel.dto import SignedInUser
from labdesk.printing.commands import PrintTestLabel
from labdesk.printing.dto import PrintSetup
from labdesk.results.commands import AcknowledgeResults
from labdesk.station.commands import PlaceOrder
from printers.spool_adapter import LabelRendererAdapter, open_spool_printer

STATION = "DRAW-2"


def main(url: str, folder: str, now: str) -> None:
    """Serve commands until ``quit`` or end of input."""
    config = Config(database_url=url, data_dir=Path(folder), station_code=STATION)
    core = bootstrap(config, clock=FixedClock(datetime.fromisoformat(now)), auto_upgrade=False)

    def user(role: Role) -> SignedInUser:
        with core.uow() as uow:
            found = uow.people.user_by_username(role.value)
            assert found is not None
            return session_of(found, STATION)

    ingestor = Ingestor(core.uow, core.clock, timezone="UTC")
    setup = PrintSetup.from_config(config, open_spool_printer, LabelRendererAdapter())
    answer("ready")
    for line in sys.stdin:
        command, _, arg = line.strip().partition(" ")
        began = time.monotonic()
        try:
            if command == "quit":
                break
            if command == "result":
                message = hl7.oru("LIVE1", hl7.group("K", "F", hl7.obx("K", "4.1")))
                ack = ingestor.handle_frame(message, "other-station").ack
                assert "|AA|" in ack, ack
            elif command == "ack":
                command_ = AcknowledgeResults(
                    ordered_test_ids=(int(arg),), meaning=AckMeaning.REVIEWED
                )
                core.bus.handle(command_, user(Role.CLINICIAN))
            elif command == "order":
                order = PlaceOrder(
                    patient_id=int(arg),
                    test_codes=("CBC",),
                    ordering_provider="Dr. Live",
                    station_code=STATION,
                )
                core.bus.handle(order, user(Role.MEDICAL_ASSISTANT))
            elif command == "print":
                label = PrintTestLabel(setup=setup, printer_uri="tcp://127.0.0.1:1")
                core.bus.handle(label, user(Role.ADMIN))
            else:
                raise ValueError(f"unknown command {command!r}")
            answer(f"ok {began!r} {time.monotonic()!r}")
        except Exception as exc:  # reported to the test, which fails with it
            answer(f"error: {type(exc).__name__}: {exc}".replace("\n", " "))
    core.close()
    answer("bye")


def answer(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main(*sys.argv[1:4])
