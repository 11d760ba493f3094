"""Recomputing both custody chains to find modified, deleted and inserted events.

One pass over the events in id order, streamed as raw rows (no ORM objects, no per-value
type processing): each row's canonical content is built once, hashed against the row's own
stored links (``MODIFIED`` when it does not match), and the links are followed: the clinic
chain row by row, each specimen's chain by ``seq``. A broken clinic link is resolved by
looking a little ahead and behind: a later row linking back over the break means the rows
in between were inserted; otherwise events were deleted (or the previous one re-hashed,
when no id is missing). The chain's writer counts every event it appends (a counter row in
the same transaction), which catches what links cannot: events deleted from the end.

An unkeyed hash chain cannot catch a forger who recomputes every later hash; the count and
the stored hashes printed elsewhere (manifests) narrow that window.
"""

from __future__ import annotations

import json
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from hashlib import sha256 as _sha256
from typing import Any, NamedTuple

from labdesk.custody.dto import ChainFinding, FindingKind, VerifyReport
from labdesk.domain.hashchain import CUSTODY, GENESIS
from labdesk.domain.permissions import Permission
from labdesk.kernel.dto import SignedInUser, authorize
from labdesk.ports import UnitOfWork

Progress = Callable[[int, int], None]
CHAIN_COUNTER = "custody-chain"
WINDOW = 64
"""How many rows back (and how far ahead) a broken link is traced."""
PROGRESS_EVERY = 50_000

_enc: Callable[[str], str] = json.encoder.encode_basestring


def _sqlite_time(value: Any) -> str:
    # SQLAlchemy stores SQLite datetimes as naive UTC "YYYY-MM-DD HH:MM:SS.ffffff".
    if isinstance(value, str):
        return f"{value[:10]}T{value[11:]}+00:00"
    return _pg_time(value)


def _pg_time(value: Any) -> str:
    if isinstance(value, datetime):
        zoned = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        return zoned.isoformat(timespec="microseconds")
    return str(value)


def _bool(value: Any) -> str:
    if value is None:
        return "null"
    return "true" if value else "false"


def canonical_row(row: Sequence[Any], sqlite: bool) -> str:
    """Canonical JSON of a raw event row, byte-identical to ``canonical(event.content())``.

    ``row`` follows ``EVENT_STREAM_COLUMNS``. Keys are sorted as ``json.dumps`` sorts them.
    This runs a million times per verification: it is one f-string, no dict, no callbacks.
    """
    occurred, recorded = row[5], row[6]
    if sqlite and type(occurred) is str and type(recorded) is str:
        occurred = f"{occurred[:10]}T{occurred[11:]}+00:00"
        recorded = f"{recorded[:10]}T{recorded[11:]}+00:00"
    else:
        time_of = _sqlite_time if sqlite else _pg_time
        occurred, recorded = time_of(occurred), time_of(recorded)
    temperature = row[8]
    return (
        f'{{"actor_id":{int(row[4])},"container_ref":{_enc(row[10])},"kind":{_enc(row[3])},'
        f'"location":{_enc(row[7])},"note":{_enc(row[12])},"occurred_at":"{occurred}",'
        f'"reason":{_enc(row[11])},"recorded_at":"{recorded}",'
        f'"seal_intact":{_bool(row[9])},"seq":{int(row[2])},"specimen_id":{int(row[1])},'
        f'"temperature_class":{"null" if temperature is None else _enc(temperature)}}}'
    )


class _Seen(NamedTuple):
    """A processed row, kept for the last ``WINDOW`` rows so it can be re-judged."""

    id: int
    specimen_id: int
    before: str
    """The clinic chain's hash just before this row (what it had to link to)."""
    spec_before: tuple[int, str, int] | None
    self_ok: bool


@dataclass
class _Break:
    """A clinic link that did not match: to be judged once more rows are seen."""

    anchor_id: int | None
    break_id: int
    suspects: list[_Seen] = field(default_factory=list)


class ChainVerifier:
    """Feeds on raw event rows in id order; :meth:`finish` returns the findings."""

    def __init__(self, sqlite: bool, anchors: dict[int, str] | None = None) -> None:
        self.sqlite = sqlite
        self.anchors = dict(anchors or {})
        """Clinic-chain hash by event id of the anchored heads, each to be found unchanged."""
        self.expected = GENESIS
        self.window: deque[_Seen] = deque(maxlen=WINDOW)
        self.spec: dict[int, tuple[int, str, int]] = {}
        self.found: dict[tuple[int | None, str], ChainFinding] = {}
        self.pending: _Break | None = None
        self.rows = 0

    def feed(self, row: Sequence[Any]) -> None:
        """Check one row (``EVENT_STREAM_COLUMNS`` order)."""
        self.rows += 1
        event_id, specimen_id, seq = int(row[0]), int(row[1]), int(row[2])
        prev_hash, own_hash, chain_prev, chain_hash = row[13], row[14], row[15], row[16]
        text = canonical_row(row, self.sqlite).encode("utf-8")
        self_ok = (
            _sha256(str(prev_hash).encode() + text).hexdigest() == own_hash
            and _sha256(str(chain_prev).encode() + text).hexdigest() == chain_hash
        )
        anchored = self.anchors.pop(event_id, None)
        if anchored is not None and chain_hash != anchored:
            self._add(
                FindingKind.MODIFIED,
                "clinic",
                f"Event id {event_id} no longer has the clinic-chain hash anchored outside "
                "the database: it or an earlier event was rewritten (hashes recomputed).",
                event_id,
                seq,
                specimen_id,
            )
        before = self.expected
        if chain_prev != before:
            self._broken_link(event_id, chain_prev)
        spec_before = self.spec.get(specimen_id)
        if spec_before is None:
            linked = seq == 1 and prev_hash == GENESIS
        else:
            linked = seq == spec_before[0] + 1 and prev_hash == spec_before[1]
        if not linked:
            self._check_specimen(event_id, specimen_id, seq, prev_hash, spec_before)
        self.spec[specimen_id] = (seq, own_hash, event_id)
        seen = _Seen(event_id, specimen_id, before, spec_before, self_ok)
        if not self_ok:
            self._add(
                FindingKind.MODIFIED,
                "clinic",
                f"Event id {event_id} does not match its hash: it was edited after it was "
                "recorded (or forged).",
                event_id,
                seq,
                specimen_id,
            )
        if self.pending is not None:
            self.pending.suspects.append(seen)
            if len(self.pending.suspects) > WINDOW:
                self._settle(self.pending)
                self.pending = None
        self.window.append(seen)
        self.expected = chain_hash

    def _broken_link(self, event_id: int, chain_prev: str) -> None:
        for index in range(len(self.window) - 1, -1, -1):
            if self.window[index].before == chain_prev:
                # This row links to the chain as it stood before those rows: they were
                # inserted (whatever their own links claim).
                self._inserted(list(self.window)[index:])
                self.pending = None
                return
        if self.pending is not None:
            self._settle(self.pending)
        last_id = self.window[-1].id if self.window else None
        self.pending = _Break(anchor_id=last_id, break_id=event_id)

    def _inserted(self, rows: Sequence[_Seen]) -> None:
        for seen in reversed(rows):
            if seen.spec_before is None:
                self.spec.pop(seen.specimen_id, None)
            else:
                self.spec[seen.specimen_id] = seen.spec_before
            self.found = {k: v for k, v in self.found.items() if k[0] != seen.id}
            self._add(
                FindingKind.INSERTED,
                "clinic",
                f"Event id {seen.id} was inserted: the chain links over it.",
                seen.id,
                None,
                seen.specimen_id,
            )

    def _settle(self, brk: _Break) -> None:
        if brk.suspects and all(not s.self_ok for s in brk.suspects):
            self._inserted(brk.suspects)
            return
        if brk.anchor_id is not None and brk.break_id == brk.anchor_id + 1:
            self._add(
                FindingKind.MODIFIED,
                "clinic",
                f"Event id {brk.anchor_id} was altered and re-hashed: event id {brk.break_id} "
                "no longer links to it.",
                brk.anchor_id,
            )
            return
        after = f"after id {brk.anchor_id}" if brk.anchor_id is not None else "at the start"
        self._add(
            FindingKind.DELETED,
            "clinic",
            f"Event(s) deleted {after}, before id {brk.break_id}: the clinic chain breaks there.",
            brk.break_id,
        )

    def _check_specimen(
        self,
        event_id: int,
        specimen_id: int,
        seq: int,
        prev_hash: str,
        before: tuple[int, str, int] | None,
    ) -> None:
        last_seq, last_hash, last_id = before if before is not None else (0, GENESIS, 0)
        if seq == last_seq + 1 and prev_hash == last_hash:
            return
        if seq > last_seq + 1:
            missing = (
                f"seq {last_seq + 1}" if seq == last_seq + 2 else f"seq {last_seq + 1}-{seq - 1}"
            )
            self._add(
                FindingKind.DELETED,
                "specimen",
                f"Specimen event(s) {missing} deleted before event id {event_id}.",
                event_id,
                seq,
                specimen_id,
            )
        elif seq <= last_seq:
            self._add(
                FindingKind.INSERTED,
                "specimen",
                f"Event id {event_id} (seq {seq}) is out of order after seq {last_seq}: inserted.",
                event_id,
                seq,
                specimen_id,
            )
        else:
            self._add(
                FindingKind.MODIFIED,
                "specimen",
                f"Event id {event_id} does not link to the specimen's previous event "
                f"(id {last_id}): one of them was altered.",
                event_id,
                seq,
                specimen_id,
            )

    def _add(
        self,
        kind: FindingKind,
        chain: str,
        message: str,
        event_id: int | None,
        seq: int | None = None,
        specimen_id: int | None = None,
    ) -> None:
        key = (event_id, f"{chain}:{kind}")
        self.found.setdefault(key, ChainFinding(kind, chain, message, event_id, seq, specimen_id))

    def finish(self, appended: int | None) -> list[ChainFinding]:
        """Settle what is pending and compare with the writer's count of appended events."""
        if self.pending is not None:
            self._settle(self.pending)
            self.pending = None
        for gone in sorted(self.anchors):
            self._add(
                FindingKind.DELETED,
                "clinic",
                f"Event id {gone}, a chain head anchored outside the database, is gone: the "
                "end of the chain was cut off or rewritten.",
                gone,
            )
        findings = list(self.found.values())
        if (
            appended is not None
            and appended > self.rows
            and not any(f.kind is FindingKind.DELETED for f in findings)
        ):
            last = self.window[-1].id if self.window else None
            findings.append(
                ChainFinding(
                    FindingKind.DELETED,
                    "clinic",
                    f"{appended - self.rows} event(s) deleted from the end of the chain "
                    f"(after id {last}): LabDesk appended {appended}, {self.rows} remain.",
                    last,
                )
            )
        elif appended is not None and appended < self.rows:
            extra = self.rows - appended
            modified = sorted(
                (f for f in findings if f.kind is FindingKind.MODIFIED and f.chain == "clinic"),
                key=lambda f: f.event_id or 0,
            )[-extra:]
            self._flag_unexplained(findings, extra - len(modified), appended)
            for finding in modified:
                findings.remove(finding)
                findings.append(
                    ChainFinding(
                        FindingKind.INSERTED,
                        "clinic",
                        f"Event id {finding.event_id} was inserted outside LabDesk "
                        f"({self.rows} events stored, {appended} appended by LabDesk).",
                        finding.event_id,
                        finding.seq,
                        finding.specimen_id,
                    )
                )
        return sorted(findings, key=lambda f: (f.event_id or 0, f.chain, f.kind))

    def _flag_unexplained(self, findings: list[ChainFinding], extra: int, appended: int) -> None:
        """More rows than LabDesk appended, and not all explained: the newest were added.

        A row forged after the last one, copying its hash as the link and computing its own
        hashes correctly, links like a genuine event; only the writer's count shows it.
        """
        inserted = {f.event_id for f in findings if f.kind is FindingKind.INSERTED}
        extra -= len(inserted)
        if extra <= 0:
            return
        newest = [s for s in reversed(self.window) if s.id not in inserted][:extra]
        for seen in newest:
            findings.append(
                ChainFinding(
                    FindingKind.INSERTED,
                    "clinic",
                    f"Event id {seen.id} was not appended by LabDesk: {self.rows} events are "
                    f"stored, LabDesk counted {appended}.",
                    seen.id,
                    None,
                    seen.specimen_id,
                )
            )
        if extra > len(newest):
            findings.append(
                ChainFinding(
                    FindingKind.INSERTED,
                    "clinic",
                    f"{extra - len(newest)} more event(s) than LabDesk appended are stored.",
                    None,
                )
            )


def verify_rows(
    rows: Iterable[Sequence[Any]],
    *,
    sqlite: bool,
    appended: int | None = None,
    total: int = 0,
    progress: Progress | None = None,
    anchors: dict[int, str] | None = None,
) -> tuple[list[ChainFinding], int, int]:
    """Verify raw rows; returns (findings, events, specimens). Used by the service and bench."""
    verifier = ChainVerifier(sqlite, anchors)
    for index, row in enumerate(rows, start=1):
        verifier.feed(row)
        if progress is not None and index % PROGRESS_EVERY == 0:
            progress(index, total)
    if progress is not None:
        progress(verifier.rows, total)
    return verifier.finish(appended), verifier.rows, len(verifier.spec)


def verify_chains(
    uow: UnitOfWork,
    *,
    actor: SignedInUser | None = None,
    progress: Progress | None = None,
) -> VerifyReport:
    """Recompute every specimen chain and the clinic-wide chain; report what was tampered with.

    Args:
        uow: an entered unit of work (read only).
        actor: the signed-in user when run from a screen (needs ``VERIFY_CHAINS``); the
            command line runs it as the database's administrator.
        progress: called with (events checked, events in total) every 50,000 events.
    """
    if actor is not None:
        authorize(actor, Permission.VERIFY_CHAINS)
    started = time.perf_counter()
    guards = tuple(uow.custody_scan.guard_problems())
    total = uow.custody_scan.count_events()
    appended = uow.custody_scan.counter_value(CHAIN_COUNTER)
    recent = uow.anchors.recent(CUSTODY) if uow.anchors is not None else []
    anchored = max(recent, key=lambda a: a.count) if recent else None
    lowered: list[ChainFinding] = []
    if anchored is not None and (appended or 0) < anchored.count:
        lowered.append(
            ChainFinding(
                FindingKind.DELETED,
                "clinic",
                f"LabDesk's event counter reads {appended or 0}, but {anchored.count} events "
                f"were anchored outside the database at {anchored.at:%Y-%m-%d %H:%M} UTC: the "
                "counter was lowered and events removed.",
                anchored.id,
            )
        )
        appended = anchored.count
    findings, events, specimens = verify_rows(
        uow.custody_scan.stream_events(),
        sqlite=uow.custody_scan.dialect() == "sqlite",
        appended=appended,
        total=total,
        progress=progress,
        anchors={a.id: a.hash for a in recent},
    )
    findings = lowered + findings
    named = uow.custody_scan.accessions(
        sorted({f.specimen_id for f in findings if f.specimen_id is not None})
    )
    findings = [
        ChainFinding(
            f.kind,
            f.chain,
            f"{f.message} Specimen {named[f.specimen_id]}."
            if f.specimen_id in named
            else f.message,
            f.event_id,
            f.seq,
            f.specimen_id,
            named.get(f.specimen_id or 0, ""),
        )
        for f in findings
    ]
    return VerifyReport(
        events=events,
        specimens=specimens,
        findings=tuple(findings),
        seconds=time.perf_counter() - started,
        guards=guards,
        anchored=anchored is not None,
    )
