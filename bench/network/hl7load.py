"""HL7 under load: the product's MLLP listener in its own process, and the lab sending to it.

:func:`listener_main` runs :class:`labdesk.interface.listener.Hl7Listener` with the
product's :class:`~labdesk.interface.ingest.Ingestor` (group commit) on a free loopback
port, as ``labdesk hl7 serve`` does. :func:`sender_main` is the lab: ``connections``
MLLP connections (one thread each, :class:`labdesk.hl7.mllp_client.MllpTransport`) sending
ORU^R01 results for specimens received at the lab as fast as the ACKs come back, each
result's ACK timed. A seeded share of messages is sent a second time with the same MSH-10
(a lab resending after a lost ACK): the listener must answer it and store nothing twice.
A message answered with anything but AA, or lost with its connection, is sent again (same
MSH-10) until accepted, as a lab's interface engine does.
"""

from __future__ import annotations

import random
import tempfile
import threading
import time
import traceback
from dataclasses import dataclass, field
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Event
from pathlib import Path
from typing import Any

from bench.network.world import Hl7Key
from labdesk.bootstrap import bootstrap
from labdesk.config import Config
from labdesk.domain.errors import TransportError
from labdesk.hl7.mllp_client import MllpTransport
from labdesk.interface.ingest import Ingestor
from labdesk.interface.listener import Hl7Listener

RESEND = 0.05
"""Share of messages the lab sends twice (same MSH-10)."""
GIVE_UP_S = 60.0
ANSWERED_TRIES = 30


def listener_main(url: str, stop: Event, out: Queue[Any]) -> None:
    """Process entry point: serve HL7 until ``stop``; reports the port, then the stats."""
    try:
        with tempfile.TemporaryDirectory(prefix="labdesk-net-hl7-") as data:
            core = bootstrap(Config(database_url=url, data_dir=Path(data)), auto_upgrade=False)
            ingestor = Ingestor(core.uow, core.clock, timezone=core.config.clinic_timezone)
            listener = Hl7Listener(ingestor, port=0, read_timeout_s=120.0)
            listener.start()
            out.put(("hl7-port", "listener", listener.port))
            stop.wait()
            listener.stop()
            core.close()
            stats = listener.stats()
            out.put(("hl7-stats", "listener", (stats.frames, stats.accepted, stats.errors)))
    except Exception as exc:
        out.put(("hl7-error", "listener", f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}"))


@dataclass
class SenderReport:
    """What the lab's sender measured."""

    ack_ms: list[float] = field(default_factory=list)
    sent: int = 0
    accepted: int = 0
    resent_duplicates: int = 0
    resent_after_error: int = 0
    reconnects: int = 0
    not_accepted: int = 0
    first_at: float = 0.0
    last_at: float = 0.0
    errors: list[str] = field(default_factory=list)

    @property
    def per_second(self) -> float:
        """Results accepted per second of sending."""
        span = self.last_at - self.first_at
        return self.accepted / span if span > 0 else 0.0


def oru(key: Hl7Key, control_id: str, serial: int) -> str:
    """One ORU^R01 with one final numeric result for ``key``'s test."""
    return (
        f"MSH|^~\\&|NETLAB|LAB|LABDESK|CLINIC|20260601093000||ORU^R01^ORU_R01|"
        f"{control_id}|P|2.5.1\r"
        f"PID|1||{key.mrn}^^^CLINIC^MR||Net^Patient||19700101|F\r"
        f"ORC|RE|{key.placer}|{key.accession}\r"
        f"OBR|1|{key.placer}|{key.accession}|{key.loinc}^{key.code}^LN|||20260601080000|||||||"
        f"||||||||20260601092500|||F\r"
        f"OBX|1|NM|{key.loinc}^{key.code}^LN||{4 + serial % 10 / 10}|10*3/uL|3.5-5.1|N|||F|||"
        f"20260601090000\r"
    )


def _ack_code(ack: str) -> str:
    for segment in ack.replace("\n", "\r").split("\r"):
        if segment.startswith("MSA|"):
            return segment.split("|")[1] if "|" in segment else ""
    return ""


def sender_main(
    port: int,
    keys: tuple[Hl7Key, ...],
    messages: int,
    connections: int,
    seed: int,
    run_tag: str,
    out: Queue[Any],
) -> None:
    """Process entry point: send ``messages`` results over ``connections`` connections."""
    report = SenderReport()
    lock = threading.Lock()
    per = [messages // connections + (1 if c < messages % connections else 0)
           for c in range(connections)]  # fmt: skip

    def one(c: int) -> None:
        rng = random.Random(seed * 1000 + c)
        with MllpTransport("127.0.0.1", port, timeout_s=30.0) as transport:
            for n in range(per[c]):
                serial = c * 1_000_000 + n
                key = keys[rng.randrange(len(keys))]
                text = oru(key, f"NET{run_tag}-{serial}", serial)
                times = 2 if rng.random() < RESEND else 1
                for again in range(times):
                    started = time.perf_counter()
                    code, tries = _deliver(transport, text, report, lock)
                    elapsed = (time.perf_counter() - started) * 1e3
                    with lock:
                        report.ack_ms.append(elapsed)
                        report.sent += 1
                        if again:
                            report.resent_duplicates += 1
                        else:
                            report.accepted += 1 if code == "AA" else 0
                        report.resent_after_error += tries - 1
                        report.last_at = time.time()

    report.first_at = time.time()
    threads = [threading.Thread(target=_guard, args=(one, c, report)) for c in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    out.put(("hl7-report", "sender", report))


def _guard(fn: Any, c: int, report: SenderReport) -> None:
    try:
        fn(c)
    except Exception as exc:
        report.errors.append(f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=5)}")


def _deliver(
    transport: MllpTransport, text: str, report: SenderReport, lock: threading.Lock
) -> tuple[str, int]:
    """Send until the listener answers AA (or give up); (last code, attempts).

    A lost connection is retried for :data:`GIVE_UP_S`; an answer other than AA (AE: the
    listener could not store it) at most :data:`ANSWERED_TRIES` times.
    """
    deadline = time.monotonic() + GIVE_UP_S
    tries = answered = 0
    code = ""
    while True:
        tries += 1
        try:
            code = _ack_code(transport.send(text))
            answered += 1
        except TransportError:
            with lock:
                report.reconnects += 1
            code = ""
        if code == "AA" or time.monotonic() > deadline or answered >= ANSWERED_TRIES:
            if code != "AA":
                with lock:
                    report.not_accepted += 1
            return code, tries
        time.sleep(0.1)
