"""The observed recollection path of a forensic urine collection (temperature out of range).

49 CFR 40.65: when the temperature is outside 32–38 °C, the first specimen is kept and
sent, and a second one is collected at once under direct observation on a new form. The
visit cannot be finished until that recollection is recorded or, if the donor refuses or
leaves, the reason is recorded (the employer's representative decides what follows).
"""

from __future__ import annotations

from datetime import datetime

from labdesk.domain.audit import AuditAction
from labdesk.domain.clock import Clock
from labdesk.domain.encounter import ForensicRecord
from labdesk.domain.errors import NotFound, ValidationError
from labdesk.domain.forensic import ForensicForm
from labdesk.domain.order import OrderedTest
from labdesk.domain.permissions import Permission
from labdesk.kernel.audit import record_audit
from labdesk.kernel.dto import SignedInUser, authorize
from labdesk.ports import UnitOfWork
from labdesk.station.at_chair import AtChair
from labdesk.station.collect import CollectionRefused, record_collection
from labdesk.station.dto import CollectResult, ContainerCollection
from labdesk.station.encounter import encounter_of, require_identified

MIN_REASON = 3


def collect_observed_recollection(
    uow: UnitOfWork,
    clock: Clock,
    actor: SignedInUser,
    encounter_id: int,
    original_specimen_id: int,
    form: ForensicForm,
    *,
    collected_at: datetime | None = None,
    observer: str = "",
) -> CollectResult:
    """Record the directly observed recollection of ``original_specimen_id`` and commit.

    ``observer`` is the badge of who observed it (recorded with the specimen).

    The recollection is a new test on the same order (the lab tests both specimens),
    linked to the first one on its forensic form.

    Raises:
        CollectionRefused: the form is incomplete or not marked observed.
        ValidationError: the original does not need a recollection.
    """
    authorize(actor, Permission.COLLECT_SPECIMENS)
    encounter = encounter_of(uow, encounter_id)
    require_identified(encounter)
    # Two chairs recording the same observed recollection: the second waits here, then
    # finds it done (the first one's form links to the original).
    uow.custody_scan.lock_specimen(original_specimen_id)
    original = _needing_recollection(uow, encounter_id, original_specimen_id)
    if not form.observed:
        raise CollectionRefused(["the recollection must be directly observed (tick 'Observed')"])
    first_test = uow.orders.tests_for_specimen(original_specimen_id)[0]
    specimen = uow.specimens.get(original_specimen_id)
    assert specimen is not None
    again = OrderedTest(
        order_id=first_test.order_id, test_code=first_test.test_code, status_changed_at=clock.now()
    )
    uow.orders.add_test(again)
    uow.orders.flush()
    assert again.id is not None
    result = record_collection(
        uow,
        clock,
        actor,
        encounter_id,
        [
            ContainerCollection(
                container_code=specimen.container_code,
                ordered_test_ids=(again.id,),
                collected_at=collected_at,
                forensic=form,
            )
        ],
        at_chair=AtChair(observer_badge=observer),
    )
    new_record = uow.station.forensic_of(result.specimens[0].id)
    assert new_record is not None
    new_record.recollection_of_id = original.specimen_id
    uow.commit()
    return result


def waive_observed_recollection(
    uow: UnitOfWork, clock: Clock, actor: SignedInUser, specimen_id: int, reason: str
) -> None:
    """Record why the observed recollection did not happen (e.g. donor refused), and commit.

    Raises:
        ValidationError: no reason given.
        NotFound: the specimen has no forensic form.
    """
    authorize(actor, Permission.COLLECT_SPECIMENS)
    reason = " ".join(reason.split())
    if len(reason) < MIN_REASON:
        raise ValidationError(
            "Say why there is no observed recollection.",
            hint="For example: 'donor refused observed collection; DER notified'.",
        )
    record = uow.station.forensic_of(specimen_id)
    if record is None:
        raise NotFound(f"Specimen {specimen_id} has no custody form.")
    _needing_recollection(uow, record.encounter_id, specimen_id)
    record.recollection_waived_reason = reason[:200]
    record_audit(
        uow,
        clock,
        action=AuditAction.UPDATE,
        entity="specimen",
        entity_id=specimen_id,
        actor=actor,
        station=encounter_of(uow, record.encounter_id).station_code,
        detail=f"observed recollection not done: {reason}",
    )
    uow.commit()


def _needing_recollection(uow: UnitOfWork, encounter_id: int, specimen_id: int) -> ForensicRecord:
    record = uow.station.forensic_of(specimen_id)
    if record is None or record.encounter_id != encounter_id:
        raise NotFound(
            "That specimen is not a forensic collection of this visit.",
            hint="Pick the specimen from this patient's list.",
        )
    done = any(f.recollection_of_id == specimen_id for f in uow.station.forensic(encounter_id))
    if record.temperature_in_range or record.observed or done or record.recollection_waived_reason:
        raise ValidationError(
            f"Specimen with form {record.ccf_number} needs no observed recollection.",
            hint="Only an out-of-range temperature starts the observed recollection.",
        )
    return record
