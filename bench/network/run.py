"""``network-load``: a clinic network's stations, lab and clinicians on one database at once.

The parent builds the network (:mod:`bench.network.world`), starts a raw-9100 printer sink
and (for ``fault="restart"``) a proxy in front of PostgreSQL, then the processes (spawn):
one per chair and per clinician (:mod:`bench.network.stations`), the HL7 listener and the
lab sending to it (:mod:`bench.network.hl7load`), and a workstation listening for live
updates (:mod:`bench.network.live`). The stations start together and each does its fixed
number of actions; the report gives p50/p95 per action type, throughput, HL7 results per
second and ACK p95, retries, deadlocks, the live-update delay, the targets met or missed,
and the correctness counts (:mod:`bench.network.correctness`), ending with one line::

    network-load: S stations, N actions, p95 X ms, live p95 Y ms, correctness: D duplicate
    accessions, P double pickups, J jobs sent twice, R results stored twice

(on one line). The exit code is 1 when any count is not 0, 2 when the run itself failed (a
process died, an action gave up), else 0.

``fault="restart"`` routes every database connection of the processes through the proxy
and, when half the actions are done, drops them all and refuses new ones for a second: the
stations reconnect and carry on, and the counts must stay 0. The shared PostgreSQL server is
never touched; ``restart_command`` instead runs a command of the caller's (a real restart
on a server of their own) at that moment.
"""

from __future__ import annotations

import multiprocessing
import queue
import shlex
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TextIO

from sqlalchemy import Engine, make_url, text

from bench.harness.errors import BenchError
from bench.harness.measure import percentile
from bench.network import correctness, cpu, hl7load, live, stations, world
from bench.network.sinks import CutProxy, PrinterSink
from labdesk.adapters.database import make_engine
from labdesk.domain.clock import SystemClock

INTERACTIVE_TARGET_MS = 50.0
HL7_RATE_TARGET = 1000.0
ACK_TARGET_MS = 50.0
LIVE_TARGET_MS = 1000.0
NOT_INTERACTIVE = frozenset({"pickup finish (password)"})
"""Actions left out of the interactive p95: finishing a pickup re-checks the courier's
password with argon2id on purpose (about 0.1 s of CPU)."""
QUICK_ACTIONS = 20
FULL_ACTIONS = 200
QUICK_SPECIMENS = 50_000
FULL_SPECIMENS = 10_000_000
RUN_LIMIT_S = 3600.0
FAULTS = ("restart",)


@dataclass
class Figures:
    """Everything measured, for the report and for tests."""

    stations: int
    actions: int = 0
    seconds: float = 0.0
    timings: dict[str, list[float]] = field(default_factory=dict)
    serialization_retries: int = 0
    deadlock_retries: int = 0
    reconnect_retries: int = 0
    replays_refused: int = 0
    rescans_refused: int = 0
    deadlocks: int = 0
    live_ms: list[float] = field(default_factory=list)
    """From the acting station's answer to the other station hearing it (the figure)."""
    live_upper_ms: list[float] = field(default_factory=list)
    """From the start of the acting request (includes the command's own time)."""
    live_missing: int = 0
    live_reconnects: int = 0
    live_triggers: bool = False
    hl7: hl7load.SenderReport | None = None
    printed_jobs: int = 0
    cut_connections: int = 0
    errors: list[str] = field(default_factory=list)
    counts: correctness.Counts | None = None
    machine: cpu.CpuUse | None = None
    """How busy the machine was from starting the processes until every one was joined."""

    def p95(self) -> float | None:
        """p95 over every interactive action."""
        samples = [
            ms for name, values in self.timings.items() if name not in NOT_INTERACTIVE
            for ms in values
        ]  # fmt: skip
        return percentile(samples, 95) if samples else None

    def live_p95(self) -> float | None:
        """p95 of the live-update delay (None: nothing was heard)."""
        return percentile(self.live_ms, 95) if self.live_ms else None


def run_network_load(
    url: str,
    *,
    quick: bool,
    out: TextIO,
    progress: Callable[[str], None],
    stations: int = 25,
    actions_per_station: int | None = None,
    specimens: int | None = None,
    fault: str | None = None,
    hl7_messages: int | None = None,
    think_ms: float = 100.0,
    seed: int = 1,
    restart_command: str | None = None,
) -> int:
    """Run the network-load scenario against the PostgreSQL database at ``url``.

    Args:
        url: a PostgreSQL SQLAlchemy URL (``postgresql+psycopg://...``); an empty database
            is migrated, one whose schema is behind is refused.
        quick: 20 actions a station and 50k specimens instead of 200 and 10M.
        out: where the report goes.
        progress: one line at a time while it builds and runs.
        stations: simulated stations (processes): chairs, and 5 clinicians (1 below 10).
        actions_per_station: actions each station does (default by ``quick``).
        specimens: specimens the database holds at least (filler rows added if short).
        fault: ``"restart"``: drop every database connection halfway (see module doc).
        hl7_messages: ORU^R01 the lab sends (default: 2 per station action).
        think_ms: mean pause between one station's actions (a person at a screen).
        seed: the seed of every station's mix.
        restart_command: with ``fault="restart"``, run this instead of dropping the proxy's
            connections (a real server restart; never the shared server).

    Returns:
        0, 1 when a correctness count is not 0, 2 when the run failed.

    Raises:
        BenchError: not PostgreSQL, fewer than 2 stations, or an unknown fault.
    """
    if make_url(url).get_backend_name() != "postgresql":
        raise BenchError(
            "network-load needs a PostgreSQL database.",
            hint="Pass --database-url postgresql+psycopg://USER:PASSWORD@HOST/DB.",
        )
    if stations < 2:
        raise BenchError(
            "network-load needs at least 2 stations.", hint="Use --stations 2 or more."
        )
    if fault is not None and fault not in FAULTS:
        raise BenchError(f"Unknown fault '{fault}'.", hint=f"Faults: {', '.join(FAULTS)}.")
    actions = actions_per_station or (QUICK_ACTIONS if quick else FULL_ACTIONS)
    wanted = specimens if specimens is not None else (QUICK_SPECIMENS if quick else FULL_SPECIMENS)
    clinicians = 5 if stations >= 10 else 1
    chairs = stations - clinicians
    messages = hl7_messages if hl7_messages is not None else 2 * stations * actions
    engine = make_engine(url)
    try:
        started = time.perf_counter()
        net = world.build_world(
            url,
            engine,
            SystemClock(),
            chairs=chairs,
            clinicians=clinicians,
            visits_per_chair=actions // 8 + 3,
            hl7_pool=min(200, max(10, messages // 10)),
            specimens=wanted,
            seed=seed,
            progress=progress,
        )
        progress(f"network-load: world ready in {time.perf_counter() - started:.1f} s")
        figures = _run(
            engine, url, net, stations, actions, messages, think_ms / 1e3, seed, fault,
            restart_command, progress,
        )  # fmt: skip
    finally:
        engine.dispose()
    write_report(figures, net, out)
    assert figures.counts is not None
    if not figures.counts.clean:
        return 1
    return 2 if figures.errors else 0


def _deadlocks(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(
            conn.scalar(
                text("SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()")
            )
            or 0
        )


def _live_triggers(engine: Engine) -> bool:
    with engine.connect() as conn:
        found = conn.scalar(
            text("SELECT count(*) FROM pg_proc WHERE prosrc LIKE :p"),
            {"p": "%pg_notify%"},
        )
    return bool(found)


def _run(
    engine: Engine,
    url: str,
    net: world.NetWorld,
    total: int,
    actions: int,
    messages: int,
    think_s: float,
    seed: int,
    fault: str | None,
    restart_command: str | None,
    progress: Callable[[str], None],
) -> Figures:
    ctx = multiprocessing.get_context("spawn")
    inbox: Any = ctx.Queue()
    go, stop_hl7, stop_live = ctx.Event(), ctx.Event(), ctx.Event()
    figures = Figures(stations=total, live_triggers=_live_triggers(engine))
    sink = PrinterSink().start()
    proxy: CutProxy | None = None
    station_url = url
    if fault == "restart" and restart_command is None:
        parsed = make_url(url)
        proxy = CutProxy(parsed.host or "127.0.0.1", parsed.port or 5432).start()
        station_url = parsed.set(host="127.0.0.1", port=proxy.port).render_as_string(
            hide_password=False
        )
    plans = [
        stations.StationPlan(
            name=f"chair-{c.index}", url=station_url, actions=actions, seed=seed * 1000 + c.index,
            think_s=think_s, printer_uri=sink.uri, chair=c,
        )
        for c in net.chairs
    ] + [
        stations.StationPlan(
            name=f"clinician-{d.index}", url=station_url, actions=actions,
            seed=seed * 1000 + 500 + d.index, think_s=think_s, clinician=d,
        )
        for d in net.clinicians
    ]  # fmt: skip
    procs: dict[str, Any] = {}
    cpu_start: cpu.CpuMark | None = None
    deadlocks_before = _deadlocks(engine)
    try:
        procs["live"] = ctx.Process(target=live.live_main, args=(station_url, stop_live, inbox))
        procs["listener"] = ctx.Process(
            target=hl7load.listener_main, args=(station_url, stop_hl7, inbox)
        )
        for plan in plans:
            procs[plan.name] = ctx.Process(
                target=stations.station_main, args=(plan, go, inbox), name=plan.name
            )
        cpu_start = cpu.mark()  # their whole lives: RUSAGE_CHILDREN counts them once joined
        for proc in procs.values():
            proc.start()
        reports: dict[str, stations.StationReport] = {}
        ready: set[str] = set()
        port = 0
        live_ready = False
        deadline = time.monotonic() + RUN_LIMIT_S
        while len(ready) < len(plans) or not port or not live_ready:
            kind, name, value = _next(inbox, procs, deadline)
            if kind == "ready":
                ready.add(name)
            elif kind == "hl7-port":
                port = int(value)
            elif kind == "live-ready":
                live_ready = True
            elif kind == "report":  # a station failed before it was ready
                reports[name] = value
                ready.add(name)
            elif kind == "hl7-error":
                raise BenchError(f"The HL7 listener did not start: {value}")
        progress(f"network-load: {len(plans)} stations ready, HL7 listener on port {port}")
        sender = ctx.Process(
            target=hl7load.sender_main,
            args=(port, net.hl7_keys, messages, 4, seed, net.tag, inbox),
        )
        started = time.perf_counter()
        go.set()
        sender.start()
        procs["sender"] = sender
        planned = len(plans) * actions
        done = 0
        cut = fault is None
        while len(reports) < len(plans) or figures.hl7 is None:
            kind, name, value = _next(inbox, procs, deadline)
            if kind == "progress":
                done += int(value)
                if not cut and done >= planned // 2:
                    cut = True
                    _fault(proxy, restart_command, figures, progress)
            elif kind == "report":
                reports[name] = value
                if len(reports) == len(plans):
                    figures.seconds = time.perf_counter() - started
            elif kind == "hl7-report":
                figures.hl7 = value
        if not figures.seconds:
            figures.seconds = time.perf_counter() - started
        stop_hl7.set()
        time.sleep(1.5)  # the last notifications reach the listening workstation
        stop_live.set()
        heard: list[tuple[str, float]] = []
        until = time.monotonic() + 15.0
        while time.monotonic() < until:
            kind, name, value = _next(inbox, procs, deadline, allow_exit=True)
            if kind == "live-report":
                heard, figures.live_reconnects, error = value
                if error:
                    figures.errors.append(f"live listener: {error}")
                break
        _merge(figures, reports.values())
        marks = [m for r in reports.values() for m in r.marks]
        figures.live_ms, figures.live_missing = live.delays(marks, heard)
        starts = [m for r in reports.values() for m in r.starts]
        figures.live_upper_ms, _ = live.delays(starts, heard)
    finally:
        go.set()
        stop_hl7.set()
        stop_live.set()
        for proc in procs.values():
            proc.join(timeout=30)
            if proc.is_alive():
                proc.terminate()
        sink.stop()
        if proxy is not None:
            figures.cut_connections = proxy.cut_connections
            proxy.stop()
    figures.machine = cpu.between(cpu_start, cpu.mark())
    time.sleep(1.0)  # backends flush their statistics as they exit
    figures.deadlocks = _deadlocks(engine) - deadlocks_before
    figures.printed_jobs = sink.jobs
    figures.counts = correctness.count(engine, printer_duplicates=sink.duplicates)
    if figures.hl7 is not None:
        figures.errors.extend(f"hl7 sender: {e}" for e in figures.hl7.errors)
    return figures


def _next(
    inbox: Any, procs: dict[str, Any], deadline: float, *, allow_exit: bool = False
) -> tuple[str, str, Any]:
    """The next message from a process; fails when one died without reporting."""
    while True:
        try:
            item: tuple[str, str, Any] = inbox.get(timeout=1.0)
            return item
        except queue.Empty:
            pass
        if allow_exit:
            return ("", "", None)
        if time.monotonic() > deadline:
            raise BenchError("network-load ran past its time limit.", hint="Use fewer actions.")
        dead = [n for n, p in procs.items() if p.exitcode not in (None, 0)]
        if dead:
            raise BenchError(
                f"network-load process(es) {', '.join(dead)} died.",
                hint="See the log above; run again with fewer stations to narrow it down.",
            )


def _fault(
    proxy: CutProxy | None,
    command: str | None,
    figures: Figures,
    progress: Callable[[str], None],
) -> None:
    if command is not None:
        progress(f"network-load: restarting the database server ({command})")
        subprocess.run(shlex.split(command), check=False, timeout=300)
        return
    assert proxy is not None
    closed = proxy.cut(down_s=1.0)
    progress(f"network-load: database connections cut ({closed}); reconnecting")


def _merge(figures: Figures, reports: Any) -> None:
    for report in reports:
        figures.actions += report.actions
        for name, values in report.timings.items():
            figures.timings.setdefault(name, []).extend(values)
        figures.serialization_retries += report.serialization_retries
        figures.deadlock_retries += report.deadlock_retries
        figures.reconnect_retries += report.reconnect_retries
        figures.replays_refused += report.replays_refused
        figures.rescans_refused += report.rescans_refused
        figures.errors.extend(f"{report.name}: {e}" for e in report.errors)


def _ms(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f}"


def _met(ok: bool) -> str:
    return "met" if ok else "MISSED"


def write_report(figures: Figures, net: world.NetWorld, out: TextIO) -> None:
    """The report; its last line is the one-line summary."""
    w = out.write
    w(f"network-load: {figures.stations} stations ({len(net.chairs)} chairs, "
      f"{len(net.clinicians)} clinicians), {net.specimens:,} specimens in the database"
      f" ({net.filler_added:,} loaded in {net.filler_seconds:.1f} s)\n")  # fmt: skip
    w(f"{'action':<26}{'n':>7}{'p50 ms':>10}{'p95 ms':>10}  target\n")
    for name in sorted(figures.timings):
        values = figures.timings[name]
        p95 = percentile(values, 95)
        target = (
            "not interactive"
            if name in NOT_INTERACTIVE
            else f"p95 <= {INTERACTIVE_TARGET_MS:.0f} ms {_met(p95 <= INTERACTIVE_TARGET_MS)}"
        )
        w(f"{name:<26}{len(values):>7}{percentile(values, 50):>10.1f}{p95:>10.1f}  {target}\n")
    rate = figures.actions / figures.seconds if figures.seconds else 0.0
    w(f"throughput: {figures.actions} station actions in {figures.seconds:.1f} s "
      f"({rate:.1f} actions/s)\n")  # fmt: skip
    hl7 = figures.hl7
    if hl7 is not None and hl7.ack_ms:
        ack95 = percentile(hl7.ack_ms, 95)
        w(f"hl7: {hl7.accepted} results accepted ({hl7.sent} sent, {hl7.resent_duplicates} "
          f"resent with the same MSH-10, {hl7.resent_after_error} resent after an error, "
          f"{hl7.not_accepted} never accepted), {hl7.per_second:.0f} results/s "
          f"(target >= {HL7_RATE_TARGET:.0f}: {_met(hl7.per_second >= HL7_RATE_TARGET)}), "
          f"ACK p50 {percentile(hl7.ack_ms, 50):.1f} ms, p95 {ack95:.1f} ms "
          f"(target <= {ACK_TARGET_MS:.0f}: {_met(ack95 <= ACK_TARGET_MS)})\n")  # fmt: skip
    w(f"contention: {figures.serialization_retries} serialization failures retried, "
      f"{figures.deadlock_retries} deadlocks retried, {figures.deadlocks} deadlocks "
      f"(pg_stat_database), {figures.reconnect_retries} actions retried after a lost "
      f"connection ({figures.cut_connections} connections cut)\n")  # fmt: skip
    w(f"replays: {figures.replays_refused} label prints sent twice with one key refused, "
      f"{figures.rescans_refused} second pickup scans not recorded; printer sink took "
      f"{figures.printed_jobs} jobs\n")  # fmt: skip
    live_p95 = figures.live_p95()
    if not figures.live_triggers:
        w("live updates: no NOTIFY triggers in this database (migration 0013 not filled in); "
          "delay not measured\n")  # fmt: skip
    else:
        ok = live_p95 is not None and live_p95 <= LIVE_TARGET_MS
        w(f"live updates: {len(figures.live_ms)} changes heard, {figures.live_missing} never "
          f"heard, delay p95 {_ms(live_p95)} ms from the acting station's answer (target <= "
          f"{LIVE_TARGET_MS:.0f}: {_met(ok)}; from the request's start p95 "
          f"{_ms(percentile(figures.live_upper_ms, 95) if figures.live_upper_ms else None)} ms), "
          f"{figures.live_reconnects} reconnects\n")  # fmt: skip
    if figures.machine is not None:
        w(figures.machine.line())
    for error in figures.errors[:20]:
        w(f"ERROR {error}\n")
    counts = figures.counts
    assert counts is not None
    w(f"network-load: {figures.stations} stations, {figures.actions} actions, "
      f"p95 {_ms(figures.p95())} ms, live p95 {_ms(live_p95)} ms, correctness: "
      f"{counts.duplicate_accessions} duplicate accessions, {counts.double_pickups} double "
      f"pickups, {counts.jobs_sent_twice} jobs sent twice, {counts.results_stored_twice} "
      f"results stored twice\n")  # fmt: skip
