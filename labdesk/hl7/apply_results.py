"""Matching result groups to ordered tests and applying them (corrections keep history).

Matching order: the specimen by accession (OBR-3, then SPM-2), the order by placer number
(OBR-2 / ORC-2), the test by OBR-4 against the catalog (code or LOINC). The patient in PID-3
must be the patient of the specimen or order. Anything that does not fit exactly goes to the
unmatched worklist with the reason; nothing is guessed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from labdesk.domain.hl7 import UnmatchedResult
from labdesk.domain.order import OrderStatus, TestStatus
from labdesk.domain.result import ResultStatus
from labdesk.hl7.catalog_index import CatalogIndex
from labdesk.hl7.lookup import Lookup, NewResult, ResultRef, SpecimenRef, TestRef
from labdesk.hl7.semantics import ResultGroup, final_flag, status_after
from labdesk.hl7.values import PatientRef
from labdesk.ports import UnitOfWork


@dataclass(frozen=True)
class Match:
    """The ordered test a group belongs to."""

    ordered_test: TestRef
    specimen_id: int | None


@dataclass(frozen=True)
class NoMatch:
    """Why a group could not be matched."""

    reason: str


def match_group(
    find: Lookup, catalog: CatalogIndex, patient: PatientRef, group: ResultGroup
) -> Match | NoMatch:
    """Find the one ordered test ``group`` reports on, or say why there is none."""
    specimen = _specimen(find, group)
    order = find.order(group.placer_order_number) if group.placer_order_number else None
    if specimen is None and order is None:
        ids = ", ".join(
            f"{label} '{value}'"
            for label, value in (
                ("OBR-3", group.filler_order_number),
                ("SPM-2", "/".join(group.specimen_ids)),
                ("OBR-2/ORC-2", group.placer_order_number),
            )
            if value
        )
        return NoMatch(f"No specimen or order matches ({ids or 'no identifiers sent'}).")
    owners = {x.patient_id for x in (specimen, order) if x is not None}
    if len(owners) > 1:
        return NoMatch("The specimen and the order named belong to different patients.")
    if find.patient_mrn(owners.pop()) != patient.mrn:
        return NoMatch("PID-3 MRN is not the MRN of the patient the specimen/order belongs to.")
    entry = catalog.find(group.test_code, group.alt_test_code)
    if entry is None:
        return NoMatch(f"Test '{group.test_code}' (OBR-4) is not in the catalog.")
    candidates: dict[int, TestRef] = {}
    if specimen is not None and specimen.id is not None:
        candidates |= {ot.id: ot for ot in find.tests_for_specimen(specimen.id) if ot.id}
    if order is not None and order.id is not None:
        candidates |= {ot.id: ot for ot in find.tests_for_order(order.id) if ot.id}
    found = [ot for ot in candidates.values() if ot.test_code == entry.code]
    where = f"specimen {specimen.accession}" if specimen else f"order {group.placer_order_number}"
    if not found:
        return NoMatch(f"Test {entry.code} was not ordered on {where}.")
    live = [ot for ot in found if ot.status is not TestStatus.CANCELLED]
    if not live or (order is not None and order.status is OrderStatus.CANCELLED):
        return NoMatch(f"Test {entry.code} on {where} was cancelled; the lab sent a result.")
    chosen = next((ot for ot in live if specimen and ot.specimen_id == specimen.id), live[0])
    return Match(chosen, specimen.id if specimen else chosen.specimen_id)


def _specimen(find: Lookup, group: ResultGroup) -> SpecimenRef | None:
    for candidate in (group.filler_order_number, *group.specimen_ids):
        if candidate:
            found = find.specimen(candidate)
            if found is not None:
                return found
    return None


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
    takes the writes (a :class:`~labdesk.hl7.lookup.BulkLookup` holds them until the caller
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
    status = status_after(group.result_status, [r.status for r in current])
    if status is not ot.status:
        find.set_status(ot, status, now)
    return len(added)


def unmatched_row(
    message_id: int,
    patient: PatientRef,
    group: ResultGroup,
    reason: str,
    now: datetime,
) -> UnmatchedResult:
    """The worklist entry for a group that matched nothing."""
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
    )
