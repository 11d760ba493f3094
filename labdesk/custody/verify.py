"""Recomputing both custody chains to find modified, deleted and inserted events.

One pass over the events in id order, streamed by the repository with each event's
canonical content (``uow.custody_scan.stream_events``: raw rows, no ORM objects, the storage
details handled there). Each content is hashed against the row's two stored hashes, and the
links go to the shared walk (:mod:`labdesk.domain.chain_verify`): the clinic chain is its
main chain, each specimen's chain by ``seq`` a group chain. The chain's writer counts every
event it appends (a counter row in the same transaction), which catches what links cannot:
events deleted from the end, rows forged past the end. This module words the walk's
findings for the custody screens and the ``labdesk custody verify`` command.

An unkeyed hash chain cannot catch a forger who recomputes every later hash; the count, the
anchored heads and the stored hashes printed elsewhere (manifests) narrow that window.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from hashlib import sha256 as _sha256

from labdesk.custody.dto import ChainFinding, FindingKind, VerifyReport
from labdesk.domain.chain_verify import Cause, ChainOutcome, ChainWalk, Finding, GroupedRow
from labdesk.domain.hashchain import CUSTODY
from labdesk.domain.permissions import Permission
from labdesk.kernel.dto import SignedInUser, authorize
from labdesk.ports import UnitOfWork

Progress = Callable[[int, int], None]
CHAIN_COUNTER = "custody-chain"
PROGRESS_EVERY = 50_000

_WITH_SEQ = frozenset(
    {
        Cause.CONTENT,
        Cause.ANCHOR,
        Cause.SURPLUS_BROKEN,
        Cause.GROUP_GAP,
        Cause.GROUP_ORDER,
        Cause.GROUP_LINK,
    }
)
"""Findings that name the event's seq (the others name the event, or the gap, alone)."""
_WITHOUT_SPECIMEN = frozenset({Cause.REHASHED, Cause.GAP, Cause.TAIL, Cause.ANCHOR_GONE})
"""Findings about the clinic chain between events rather than about one specimen's event."""


def walk_events(
    rows: Iterable[GroupedRow],
    *,
    anchors: dict[int, str] | None = None,
    total: int = 0,
    progress: Progress | None = None,
) -> ChainWalk:
    """Feed every event to a walk (call ``finish`` on it with the writer's count).

    A row is intact when its content matches both its specimen-chain and its clinic-chain
    hash (SHA-256 over the stored link and the canonical content, as the writer computed).
    """
    walk = ChainWalk((anchors or {}).items())
    feed = walk.feed
    count = 0
    for event_id, specimen_id, seq, content, prev_hash, own, chain_prev, chain_hash in rows:
        text = content.encode("utf-8")
        intact = (
            _sha256(prev_hash.encode() + text).hexdigest() == own
            and _sha256(chain_prev.encode() + text).hexdigest() == chain_hash
        )
        feed(event_id, chain_prev, chain_hash, intact, specimen_id, seq, prev_hash, own)
        count += 1
        if progress is not None and count % PROGRESS_EVERY == 0:
            progress(count, total)
    if progress is not None:
        progress(count, total)
    return walk


def custody_findings(outcome: ChainOutcome) -> list[ChainFinding]:
    """The walk's findings in the custody screens' words, ordered by event."""
    findings = [_finding(f, outcome) for f in outcome.findings]
    return sorted(findings, key=lambda f: (f.event_id or 0, f.chain, f.kind))


def _finding(f: Finding, outcome: ChainOutcome) -> ChainFinding:
    return ChainFinding(
        FindingKind(f.kind.value),
        "specimen" if f.in_group else "clinic",
        _message(f, outcome),
        f.row_id,
        f.seq if f.cause in _WITH_SEQ else None,
        None if f.cause in _WITHOUT_SPECIMEN else f.group,
    )


def _message(f: Finding, outcome: ChainOutcome) -> str:
    event = f"Event id {f.row_id}"
    rows, appended = outcome.rows, outcome.appended
    match f.cause:
        case Cause.CONTENT:
            return (
                f"{event} does not match its hash: it was edited after it was recorded (or forged)."
            )
        case Cause.ANCHOR:
            return (
                f"{event} no longer has the clinic-chain hash anchored outside the database: "
                "it or an earlier event was rewritten (hashes recomputed)."
            )
        case Cause.ANCHOR_GONE:
            return (
                f"{event}, a chain head anchored outside the database, is gone: the end of "
                "the chain was cut off or rewritten."
            )
        case Cause.REHASHED:
            return f"{event} was altered and re-hashed: event id {f.other} no longer links to it."
        case Cause.GAP:
            after = f"after id {f.other}" if f.other is not None else "at the start"
            return f"Event(s) deleted {after}, before id {f.row_id}: the clinic chain breaks there."
        case Cause.TAIL:
            return (
                f"{f.count} event(s) deleted from the end of the chain (after id {f.row_id}): "
                f"LabDesk appended {appended}, {(appended or 0) - f.count} remain."
            )
        case Cause.LINKED_OVER | Cause.UNLINKED:
            return f"{event} was inserted: the chain links over it."
        case Cause.FORKED:
            return f"{event} was inserted: it links back over later events, off the chain."
        case Cause.SURPLUS_BROKEN:
            return (
                f"{event} was inserted outside LabDesk ({rows} events stored, {appended} "
                "appended by LabDesk)."
            )
        case Cause.SURPLUS if f.row_id is not None:
            return (
                f"{event} was not appended by LabDesk: {rows} events are stored, LabDesk "
                f"counted {appended}."
            )
        case Cause.SURPLUS:
            return f"{f.count} more event(s) than LabDesk appended are stored."
        case Cause.GROUP_GAP:
            first, last = f.count + 1, (f.seq or 0) - 1
            missing = f"seq {first}" if first == last else f"seq {first}-{last}"
            return f"Specimen event(s) {missing} deleted before event id {f.row_id}."
        case Cause.GROUP_ORDER:
            return f"{event} (seq {f.seq}) is out of order after seq {f.count}: inserted."
        case Cause.GROUP_LINK:
            return (
                f"{event} does not link to the specimen's previous event (id {f.other}): one "
                "of them was altered."
            )


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
    walk = walk_events(
        uow.custody_scan.stream_events(),
        anchors={a.id: a.hash for a in recent},
        total=total,
        progress=progress,
    )
    outcome = walk.finish(appended)
    events, specimens = outcome.rows, outcome.groups
    findings = lowered + custody_findings(outcome)
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
