"""Printer speed scenarios for ``labdesk bench`` (listed in :mod:`bench.scenarios`).

Like ``printers/commands.py`` this module is a composition root: it opens a database and
drives ``printers`` through the core's print service.

Scenarios and their floors:

* ``zpl-label``: lay out and render one label as ZPL; floor: ``str.format`` of a fixed ZPL
  template with the same fields (no layout, fitting or escaping).
* ``pdf-sheet-30``: a letter sheet of 30 labels as PDF; floor: reportlab drawing the same
  number of strings and bars at fixed places with a built-in font (no layout or fitting).
* ``print-order-6``: the print action for a 6-container order through the spooler (jobs
  persisted, audited, claimed, sent) until the last byte reached a loopback printer socket;
  floor: writing the same six payloads to that socket.
"""

from __future__ import annotations

import io
import socket
import threading
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from reportlab.lib.pagesizes import letter
from reportlab.pdfgen.canvas import Canvas

from bench.harness.errors import BenchError
from bench.harness.model import Context, Scenario
from labdesk.adapters import migrate
from labdesk.adapters.database import make_engine
from labdesk.adapters.unit_of_work import UnitOfWorkFactory
from labdesk.domain.accession import make_accession
from labdesk.domain.clock import FixedClock, SystemClock
from labdesk.domain.errors import NotFound
from labdesk.domain.order import TestStatus
from labdesk.domain.patient import Sex
from labdesk.domain.printing import LabelContent
from labdesk.kernel.dto import SignedInUser
from labdesk.kernel.messagebus import MessageBus
from labdesk.printing.commands import PrintSpecimenLabels
from labdesk.printing.dto import LabelSettings, PrintJobRow, PrintSetup
from labdesk.seed.builder import ClinicBuilder
from labdesk.seed.names import SyntheticPerson
from labdesk.seed.reference import PRINT_BENCH_CLINIC, PRINT_BENCH_CONTAINERS
from printers.layout import layout_label
from printers.pdf import render_pdf
from printers.presets import Preset, get_preset
from printers.spool_adapter import LabelRendererAdapter, open_spool_printer
from printers.zpl import render_zpl

ZPL_TARGET_MS = 1.0
PDF_SHEET_TARGET_MS = 150.0
PRINT_ORDER_TARGET_MS = 30.0
ORDER_LABELS = 6
SHEET_LABELS = 30
SINK_TIMEOUT_S = 10.0
_NAMES = (("García-Márquez", "José"), ("O'Brien", "Siobhán"), ("Nguyễn", "Thị Mai"), ("Li", "Na"))
# The floor of zpl-label: the same fields at fixed places, formatted without any layout.
ZPL_TEMPLATE = (
    "^XA\n^CI28\n^PW406\n^LL203\n^LH0,0\n"
    "^FO10,10^A0N,28,28^FB294,1,0,L,0^FH^FD{name}^FS\n"
    "^FO10,41^A0N,20,20^FB168,1,0,L,0^FH^FDDOB {dob}^FS\n"
    "^FO198,41^A0N,20,20^FB198,1,0,R,0^FH^FDMRN {mrn}^FS\n"
    "^FO10,175^A0N,18,18^FB386,1,0,L,0^FH^FDColl {collected} {initials}^FS\n"
    "^FO20,152^A0N,20,20^FB180,1,0,C,0^FH^FD{accession}^FS\n"
    "^FO220,64^A0N,18,18^FB176,1,0,L,0^FH^FD{tests}^FS\n"
    "^FO220,109^A0N,18,18^FB176,1,0,L,0^FH^FD{container}^FS\n"
    "^FO220,154^A0N,18,18^FB176,1,0,L,0^FH^FD{specimen}^FS\n"
    "^FO20,64^BY2^BCN,85,N,N,N,A^FH^FD{accession}^FS\n^PQ1,0,1,Y\n^XZ\n"
)


def scenarios() -> list[Scenario[Any]]:
    """The printer scenarios, in report order."""
    return [
        Scenario(
            name="zpl-label",
            title="ZPL for one label (layout + render)",
            setup=_labels_setup,
            run_once=_zpl,
            floor=_zpl_floor,
            target_p95_ms=ZPL_TARGET_MS,
            per_size=False,
            iterations=500,
        ),
        Scenario(
            name="pdf-sheet-30",
            title="PDF sheet of 30 labels",
            setup=_labels_setup,
            run_once=_pdf_sheet,
            floor=_pdf_sheet_floor,
            target_p95_ms=PDF_SHEET_TARGET_MS,
            per_size=False,
            iterations=60,
        ),
        Scenario(
            name="print-order-6",
            title="Print a 6-label order to the last byte on the printer socket",
            setup=_order_setup,
            run_once=_print_order,
            floor=_print_order_floor,
            target_p95_ms=PRINT_ORDER_TARGET_MS,
            per_size=False,
            iterations=200,
            teardown=_order_teardown,
        ),
    ]


# ---------------------------------------------------------------- label rendering


@dataclass(frozen=True)
class Labels:
    """Synthetic label contents and the presets they are rendered on."""

    contents: tuple[LabelContent, ...]
    label: Preset
    sheet: Preset

    def content(self, i: int) -> LabelContent:
        """A different label for each call."""
        return self.contents[i % len(self.contents)]


def _labels_setup(ctx: Context) -> Labels:
    contents = tuple(_content(ctx.rng.randrange(1, 9_999_999), n) for n in range(64))
    return Labels(contents, get_preset("2x1-203"), get_preset("sheet-letter-30"))


def _content(serial: int, n: int) -> LabelContent:
    family, given = _NAMES[n % len(_NAMES)]
    return LabelContent(
        accession=make_accession(2026, serial),
        family_name=family,
        given_name=given,
        birth_date="1984-03-05",
        mrn=f"M{serial:07d}",
        collected_at="2026-03-02 07:50",
        collector_initials="MA",
        container="SST 5 mL",
        cap_colour="gold",
        tests=("CMP", "LIPID", "TSH")[: 1 + n % 3],
        specimen_type="serum",
        stat=n % 5 == 0,
    )


def _zpl(state: Labels, i: int) -> object:
    return render_zpl(layout_label(state.content(i), state.label))


def _zpl_floor(state: Labels, i: int) -> object:
    c = state.content(i)
    return ZPL_TEMPLATE.format(
        name=f"{c.family_name.upper()}, {c.given_name}",
        dob=c.birth_date,
        mrn=c.mrn,
        collected=c.collected_at,
        initials=c.collector_initials,
        accession=c.accession,
        tests=" ".join(c.tests),
        container=f"{c.container} {c.cap_colour}",
        specimen=c.specimen_type,
    ).encode("utf-8")


def _sheet(state: Labels, i: int) -> list[LabelContent]:
    return [state.content(i + n) for n in range(SHEET_LABELS)]


def _pdf_sheet(state: Labels, i: int) -> object:
    return render_pdf(_sheet(state, i), state.sheet)


def _pdf_sheet_floor(state: Labels, i: int) -> object:
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=letter, invariant=True, pageCompression=1)
    for n, c in enumerate(_sheet(state, i)):
        left, top = 13.5 + (n % 3) * 198.0, 756.0 - (n // 3) * 72.0
        canvas.setFont("Helvetica-Bold", 10)
        canvas.drawString(left + 4, top - 12, f"{c.family_name.upper()}, {c.given_name}")
        canvas.setFont("Helvetica", 7)
        for row, text in enumerate((c.birth_date, c.mrn, c.collected_at, " ".join(c.tests))):
            canvas.drawString(left + 4, top - 22 - 8 * row, text)
        for bar in range(30):  # a Code 128 symbol of ten digits has about 30 bars
            canvas.rect(left + 4 + bar * 2.2, top - 62, 1.1, 20, stroke=0, fill=1)
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


# ---------------------------------------------------------------- print action


_HEALTHY_HS = b"".join(
    b"\x02" + part + b"\x03\r\n"
    for part in (
        b"030,0,0,1218,000,0,0,0,000,0,0,0",
        b"001,0,0,0,1,2,6,0,00000000,1,000",
        b"1234,0",
    )
)


class LoopbackPrinter:
    """A raw-9100 sink on 127.0.0.1 counting the job bytes it has read.

    It answers each ``~HS`` like a healthy Zebra, since the transport asks before and after
    every job; the queries are not counted as job bytes.
    """

    def __init__(self) -> None:
        self.received = 0
        self._changed = threading.Condition()
        self._server = socket.create_server(("127.0.0.1", 0), backlog=64)
        self.uri = f"tcp://127.0.0.1:{self._server.getsockname()[1]}"
        self._thread = threading.Thread(target=self._serve, name="bench-printer", daemon=True)
        self._thread.start()

    def wait_for(self, total: int) -> None:
        """Block until ``total`` bytes have arrived since the start.

        Raises:
            BenchError: if they do not arrive within ten seconds.
        """
        with self._changed:
            if not self._changed.wait_for(lambda: self.received >= total, SINK_TIMEOUT_S):
                raise BenchError(f"The loopback printer received {self.received} of {total} bytes.")

    def close(self) -> None:
        """Stop accepting jobs."""
        self._server.close()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self._server.accept()
            except OSError:
                return
            threading.Thread(target=self._read, args=(conn,), daemon=True).start()

    def _read(self, conn: socket.socket) -> None:
        data, counted = b"", 0
        with conn:
            while chunk := conn.recv(65536):
                data += chunk
                while b"~HS" in data:
                    data = data.replace(b"~HS", b"", 1)
                    conn.sendall(_HEALTHY_HS)
                # The last two bytes may start a query that is not complete yet.
                ready = max(counted, len(data) - 2)
                with self._changed:
                    self.received += ready - counted
                    self._changed.notify_all()
                counted = ready
            with self._changed:
                self.received += len(data) - counted
                self._changed.notify_all()


@dataclass
class OrderRun:
    """A database with one 6-container order, the station's print setup and the printer."""

    uows: UnitOfWorkFactory
    setup: PrintSetup
    actor: SignedInUser
    accessions: tuple[str, ...]
    printer: LoopbackPrinter
    payload: bytes
    """What one print action sends (the floor sends exactly this)."""
    sent: int = 0
    """Bytes sent so far by calls and floors."""


def _order_setup(ctx: Context) -> OrderRun:
    engine = make_engine(f"sqlite:///{ctx.workdir / 'print-order.sqlite3'}")
    migrate.upgrade(engine)
    uows = UnitOfWorkFactory(engine)
    actor, accessions = _seed_order(uows)
    printer = LoopbackPrinter()
    setup = PrintSetup(
        station_code=PRINT_BENCH_CLINIC.stations[0].code,
        opener=open_spool_printer,
        renderer=LabelRendererAdapter(),
        labels=LabelSettings(),
        label_printer_override=printer.uri,
    )
    rows = _print(uows, setup, actor, accessions)
    with uows() as uow:
        payload = b"".join(uow.print_queue.get(r.id).payload for r in rows)  # type: ignore[union-attr]
    run = OrderRun(uows, setup, actor, accessions, printer, payload, sent=len(payload))
    printer.wait_for(run.sent)
    return run


def _print(
    uows: UnitOfWorkFactory, setup: PrintSetup, actor: SignedInUser, accessions: tuple[str, ...]
) -> list[PrintJobRow]:
    """What the station's Print button sends: the command through the bus."""
    command = PrintSpecimenLabels(setup=setup, accessions=accessions)
    return MessageBus(uows, SystemClock()).handle(command, actor)


def _print_order(state: OrderRun, _i: int) -> object:
    rows = _print(state.uows, state.setup, state.actor, state.accessions)
    if not all(row.printed for row in rows):
        raise BenchError(f"A bench label did not print: {rows[0].last_error}")
    state.sent += len(state.payload)  # the same labels, so the same number of bytes
    state.printer.wait_for(state.sent)
    return rows


def _print_order_floor(state: OrderRun, _i: int) -> object:
    host, port = state.printer.uri.removeprefix("tcp://").split(":")
    with socket.create_connection((host, int(port))) as sock:
        sock.sendall(state.payload)
        sock.shutdown(socket.SHUT_WR)
    state.sent += len(state.payload)
    state.printer.wait_for(state.sent)
    return state.sent


def _order_teardown(state: OrderRun) -> None:
    state.printer.close()
    state.uows.engine.dispose()


def _seed_order(uows: UnitOfWorkFactory) -> tuple[SignedInUser, tuple[str, ...]]:
    """One patient, one order and six collected containers (synthetic, the seed builder)."""
    now = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)
    with uows() as uow:
        build = ClinicBuilder(uow, FixedClock(now))
        build.catalog()
        site = build.reference(PRINT_BENCH_CLINIC)[PRINT_BENCH_CLINIC.sites[0].code]
        (user,) = build.staff(PRINT_BENCH_CLINIC.staff).values()
        family, given = _NAMES[0]
        patient = build.patient(
            SyntheticPerson.named("M9000001", family, given, date(1984, 3, 5), Sex.MALE)
        )
        assert site.id is not None
        assert user.id is not None
        assert patient.id is not None
        order, _ = build.order(
            patient.id, placer="BENCH-ORDER-1", provider="Dr. Bench", ordered_at=now
        )
        accessions = []
        try:
            for code in PRINT_BENCH_CONTAINERS:
                specimen = build.specimen(
                    patient.id, code, site_id=site.id, collected_by_id=user.id, collected_at=now
                )
                build.add_tests(
                    order,
                    (build.test_for_container(code),),
                    status=TestStatus.COLLECTED,
                    specimen=specimen,
                )
                accessions.append(specimen.accession)
        except NotFound as exc:
            raise BenchError(f"The shipped catalog cannot fill the bench order: {exc}") from exc
        uow.commit()
        actor = build.actor(user)
    return actor, tuple(accessions)
