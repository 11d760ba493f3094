"""Matching result groups to ordered tests and applying them (corrections keep history).

Matching order: the specimen by accession (OBR-3 and SPM-2, which must agree), the order by
placer number (OBR-2 / ORC-2), the test by OBR-4 against the catalog (code or LOINC). A
specimen named decides: its test must be on it (and on the order, when one is named too);
the order alone matches only when no accession is sent. The patient in PID-3 must be the
patient of the specimen or order. Anything that does not fit exactly goes to the unmatched
worklist with the reason; nothing is guessed. A result for a test the lab rejected or lost
goes there too, as a *result discrepancy*: the lab's fact stands until a person decides.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from labdesk.domain import lifecycle
from labdesk.domain.accession import ACCESSION_LENGTH, is_valid_accession
from labdesk.domain.custody import CustodyEventKind
from labdesk.domain.hl7 import UnmatchedResult
from labdesk.domain.order import OrderStatus, TestStatus
from labdesk.domain.recollection import reason_label
from labdesk.domain.result import ResultStatus
from labdesk.domain.timefmt import format_local
from labdesk.hl7.semantics import ResultGroup, final_flag, status_after
from labdesk.hl7.values import PatientRef
from labdesk.interface.catalog_index import CatalogIndex
from labdesk.interface.lookup import Lookup, NewResult, OrderRef, ResultRef, SpecimenRef, TestRef
from labdesk.ports import UnitOfWork


@dataclass(frozen=True)
class Match:
    """The ordered test a group belongs to."""

    ordered_test: TestRef
    specimen_id: int | None


@dataclass(frozen=True)
class NoMatch:
    """Why a group could not be matched (or was kept aside: a result discrepancy)."""

    reason: str
    discrepancy_test_id: int | None = None
    """Set when the group names a test the lab rejected or lost: the board flags that test
    while the worklist row is open, and the test's status stays as the lab left it."""


def match_group(
    find: Lookup, catalog: CatalogIndex, patient: PatientRef, group: ResultGroup
) -> Match | NoMatch:
    """Find the one ordered test ``group`` reports on, or say why there is none.

    An accession that is sent (OBR-3, SPM-2) decides the specimen: when it is unknown, or
    disagrees with the other identifiers, the group is not matched through the placer order
    instead. Only a group that names no specimen at all is matched by its order alone.
    """
    specimen = _specimen(find, group)
    if isinstance(specimen, NoMatch):
        return specimen
    order = find.order(group.placer_order_number) if group.placer_order_number else None
    refused = _owner_refusal(find, patient, group, specimen, order)
    if refused is not None:
        return refused
    entry = catalog.find(group.test_code, group.alt_test_code)
    if entry is None:
        return NoMatch(f"Test '{group.test_code}' (OBR-4) is not in the catalog.")
    scope = _candidates(find, group, specimen, order)
    if isinstance(scope, NoMatch):
        return scope
    candidates, where = scope
    found = [ot for ot in candidates if ot.test_code == entry.code]
    if not found:
        return NoMatch(f"Test {entry.code} was not ordered on {where}.")
    live = [ot for ot in found if ot.status is not TestStatus.CANCELLED]
    if not live or (order is not None and order.status is OrderStatus.CANCELLED):
        return NoMatch(f"Test {entry.code} on {where} was cancelled; the lab sent a result.")
    if len(live) > 1:
        return NoMatch(
            f"{len(live)} {entry.code} tests are open on {where}; the result does not say "
            "which (OBR-3 names no specimen, or OBR-2 no order)."
        )
    chosen = live[0]
    if not lifecycle.accepts_result(chosen.status):
        return _discrepancy(find, chosen, specimen.accession if specimen else "")
    return Match(chosen, specimen.id if specimen else chosen.specimen_id)


def _owner_refusal(
    find: Lookup,
    patient: PatientRef,
    group: ResultGroup,
    specimen: SpecimenRef | None,
    order: OrderRef | None,
) -> NoMatch | None:
    """Why the specimen and order named cannot be the result's (None when they can)."""
    if specimen is None and order is None:
        return NoMatch(f"No specimen or order matches ({_identifiers(group)}).")
    owners = {x.patient_id for x in (specimen, order) if x is not None}
    if len(owners) > 1:
        return NoMatch("The specimen and the order named belong to different patients.")
    if find.patient_mrn(owners.pop()) != patient.mrn:
        whose = (
            f"specimen {specimen.accession}" if specimen else f"order {group.placer_order_number}"
        )
        return NoMatch(f"PID-3 MRN {patient.mrn} is not the MRN of the patient {whose} belongs to.")
    return None


def _candidates(
    find: Lookup, group: ResultGroup, specimen: SpecimenRef | None, order: OrderRef | None
) -> tuple[list[TestRef], str] | NoMatch:
    """The tests the result may be for, and where they are (for reasons): those on the
    specimen named (of the order named, when both are), else those of the order."""
    placer = group.placer_order_number
    if specimen is None:
        assert order is not None
        assert order.id is not None
        return list(find.tests_for_order(order.id)), f"order {placer}"
    assert specimen.id is not None
    candidates = list(find.tests_for_specimen(specimen.id))
    if order is not None:
        candidates = [ot for ot in candidates if ot.order_id == order.id]
        if not candidates:
            return NoMatch(
                f"Specimen {specimen.accession} carries no test of order {placer} "
                "(OBR-2/ORC-2): the identifiers the lab sent disagree."
            )
    return candidates, f"specimen {specimen.accession}"


def _specimen(find: Lookup, group: ResultGroup) -> SpecimenRef | NoMatch | None:
    """The one specimen the accessions sent name; None when none is sent.

    A value shaped like a LabDesk accession must exist and all must name the same specimen;
    anything else a lab puts there (its own order or specimen number) names no specimen.
    """
    named = [
        (label, accession)
        for label, accession in (
            ("OBR-3", group.filler_order_number),
            *(("SPM-2", a) for a in group.specimen_ids),
        )
        if accession
    ]
    found: dict[int | None, tuple[str, SpecimenRef]] = {}
    for label, accession in named:
        specimen = find.specimen(accession)
        if specimen is not None:
            found.setdefault(specimen.id, (label, specimen))
        elif _accession_shaped(accession):
            return NoMatch(_unknown_accession(find, group, label, accession))
        # else: the lab's own identifier (its filler number, SPM-2.2): it names nothing here
    if len(found) > 1:
        (first, a), (second, b) = list(found.values())[:2]
        return NoMatch(
            f"{first} names specimen {a.accession} but {second} names {b.accession}: "
            "the lab must say which specimen it tested."
        )
    return next(iter(found.values()))[1] if found else None


def _accession_shaped(value: str) -> bool:
    """Ten digits: a LabDesk accession ID, or one misread (the check digit decides which)."""
    return len(value) == ACCESSION_LENGTH and value.isascii() and value.isdigit()


def _unknown_accession(find: Lookup, group: ResultGroup, label: str, accession: str) -> str:
    """Why a group naming an accession LabDesk does not know is not matched."""
    what = (
        f"Specimen {accession} ({label}) does not exist here"
        if is_valid_accession(accession)
        else f"{label} '{accession}' is not a LabDesk accession ID (it fails the check digit)"
    )
    placer = group.placer_order_number
    if placer and find.order(placer) is None:
        return f"No specimen or order matches ({_identifiers(group)})."
    if placer:
        return (
            f"{what}; it was not matched through order {placer} instead: ask the lab to "
            "correct the accession, or match it by hand."
        )
    return f"{what}: ask the lab to correct the accession, or match it by hand."


def _identifiers(group: ResultGroup) -> str:
    ids = ", ".join(
        f"{label} '{value}'"
        for label, value in (
            ("OBR-3", group.filler_order_number),
            ("SPM-2", "/".join(group.specimen_ids)),
            ("OBR-2/ORC-2", group.placer_order_number),
        )
        if value
    )
    return ids or "no identifiers sent"


def _discrepancy(find: Lookup, test: TestRef, accession: str) -> NoMatch:
    """A result for a test whose specimen the lab rejected or lost: kept for a person."""
    assert test.id is not None
    fate = find.specimen_fate(test.specimen_id) if test.specimen_id is not None else None
    which = f"specimen {accession}" if accession else "a specimen"
    if fate is None:
        happened = f"which is {test.status.value.replace('_', ' ')}"
    else:
        verb = "the lab rejected" if fate.kind is CustodyEventKind.REJECTED else "was reported lost"
        why = reason_label(fate.reason).lower() if fate.reason else ""
        happened = (
            f"which {verb}{f' ({why})' if why else ''} at {format_local(fate.at, fate.timezone)}"
        )
    return NoMatch(
        f"Result for {which}, {happened}: the "
        f"{'rejection' if test.status is TestStatus.REJECTED else 'loss'} stands until "
        "someone resolves this.",
        discrepancy_test_id=test.id,
    )


def apply_group(
    uow: UnitOfWork,
    catalog: CatalogIndex,
    match: Match,
    group: ResultGroup,
    *,
    control_id: str,
    now: datetime,
    find: Lookup | None = None,
) -> int:
    """Store the group's results on the matched test and move its status; returns rows added.

    A new value for an observation supersedes its current value (preliminary -> final,
    final -> corrected); a ``W`` retracts it. Rows are only ever added. ``find`` (the
    transaction's :class:`Lookup`) supplies and remembers the test's current results and
    takes the writes (a :class:`~labdesk.interface.lookup.BulkLookup` holds them until the caller
    calls its ``finish()`` before committing).
    """
    find = find or Lookup(uow)
    ot = match.ordered_test
    assert ot.id is not None
    before = find.current(ot.id)
    if any(r.id is None for r in before):  # added earlier in this transaction: ids needed
        find.flush()
    latest = {r.observation_code: r for r in before}
    superseded: set[int] = set()
    added: list[ResultRef] = []

    def add(result: NewResult) -> None:
        added.append(find.add_result(result))

    if group.not_performed:
        add(
            NewResult(
                observation_code=group.test_code,
                observation_name=(group.test_name or "Test")[:120] + " (not performed)",
                value=f"Not performed: {group.not_performed_reason}",
                status=ResultStatus.NOT_OBTAINED,
                observed_at=group.collected_at,
                received_at=now,
                ordered_test_id=ot.id,
                specimen_id=match.specimen_id,
                message_id=control_id,
            )
        )
    for obs in group.observations:
        previous = latest.pop(obs.code, None)  # in one message, later OBX do not supersede
        if previous is not None and previous.id is not None:
            superseded.add(previous.id)
        entry = catalog.find(obs.code)
        numeric = obs.numeric if entry and entry.units_compatible(obs.units) else None
        add(
            NewResult(
                observation_code=obs.code,
                observation_name=obs.name or (entry.name if entry else obs.code),
                value=obs.value or ("retracted" if obs.status is ResultStatus.WRONG else ""),
                units=obs.units,
                reference_range=obs.reference_range,
                abnormal_flag=final_flag(
                    obs.lab_flag,
                    numeric,
                    entry.critical_low if entry else None,
                    entry.critical_high if entry else None,
                ),
                status=obs.status,
                observed_at=obs.observed_at or group.collected_at,
                supersedes_id=previous.id if previous is not None else None,
                received_at=now,
                ordered_test_id=ot.id,
                specimen_id=match.specimen_id,
                message_id=control_id,
            )
        )
    current = [r for r in before if r.id not in superseded] + [
        r for r in added if r.status is not ResultStatus.WRONG
    ]
    find.set_current(ot.id, current)
    target = status_after(group.result_status, [r.status for r in current])
    if target is not ot.status:  # the semantics say where; the state model says if
        find.move(ot, lifecycle.result_event(target), now)
    return len(added)


def unmatched_row(
    message_id: int,
    patient: PatientRef,
    group: ResultGroup,
    reason: str | NoMatch,
    now: datetime,
) -> UnmatchedResult:
    """The worklist entry for a group that matched nothing (or a result discrepancy)."""
    found = reason if isinstance(reason, NoMatch) else NoMatch(reason)
    reason = found.reason
    return UnmatchedResult(
        message_id=message_id,
        group_index=group.index,
        received_at=now,
        reason=reason[:400],
        patient_mrn=patient.mrn,
        patient_name=patient.display_name[:200],
        patient_birth_date=patient.birth_date_text[:16],
        placer_order_number=group.placer_order_number,
        accession=(group.filler_order_number or next(iter(group.specimen_ids), ""))[:40],
        test_code=group.test_code,
        test_name=group.test_name,
        discrepancy_test_id=found.discrepancy_test_id,
    )
