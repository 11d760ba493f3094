"""Applying orders from the EHR (ORM^O01 / OML^O21): new orders and cancellations.

A message is applied whole or not at all: one unknown test or identity conflict refuses the
message (AE) and keeps it as a dead letter. Re-sending the same order is harmless.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from labdesk.domain.audit import AuditAction
from labdesk.domain.clock import Clock
from labdesk.domain.order import Order, OrderedTest, OrderSource, OrderStatus, TestStatus
from labdesk.domain.patient import Patient, Sex
from labdesk.hl7.order_semantics import CANCEL, NEW, OrderLine
from labdesk.hl7.parse import (
    DUPLICATE_KEY,
    REQUIRED_FIELD_MISSING,
    TABLE_VALUE_NOT_FOUND,
    UNKNOWN_KEY,
    Hl7Error,
)
from labdesk.hl7.values import PatientRef
from labdesk.interface.catalog_index import CatalogIndex
from labdesk.kernel.audit import record_audit
from labdesk.ports import UnitOfWork

_CANCELLABLE = frozenset(
    {TestStatus.ORDERED, TestStatus.COLLECTED, TestStatus.IN_TRANSIT, TestStatus.RECEIVED}
)
_SEXES = {s.value: s for s in Sex}


@dataclass
class OrderSummary:
    """What an order message changed."""

    orders_created: int = 0
    tests_added: int = 0
    tests_cancelled: int = 0
    not_cancelled: int = 0

    def text(self) -> str:
        """Short MSA-3 text."""
        parts = [f"{self.orders_created} order(s) created", f"{self.tests_added} test(s) added"]
        if self.tests_cancelled or self.not_cancelled:
            parts.append(f"{self.tests_cancelled} test(s) cancelled")
        if self.not_cancelled:
            parts.append(f"{self.not_cancelled} already resulted, not cancelled")
        return "; ".join(parts)


def apply_orders(
    uow: UnitOfWork,
    clock: Clock,
    catalog: CatalogIndex,
    patient_ref: PatientRef,
    lines: list[OrderLine],
    *,
    message_time: datetime | None,
    user_id: int | None = None,
) -> OrderSummary:
    """Create or cancel the orders ``lines`` describe (caller commits).

    ``user_id`` is who imported the message, for the audit entries (None: the interface).

    Raises:
        Hl7Error: (AE) for an unknown or inactive test, a cancel of an unknown order, a
            placer number used for another patient, or a new patient without name or DOB.
    """
    summary = OrderSummary()
    create = any(x.control == NEW for x in lines)
    patient = _patient(uow, clock, patient_ref, create=create, user_id=user_id)
    assert patient.id is not None
    for line in lines:
        if line.control == NEW:
            _new(uow, clock, catalog, patient, line, message_time, summary, user_id)
        elif line.control == CANCEL:
            _cancel(uow, clock, catalog, patient, line, summary, user_id)
    return summary


def _patient(
    uow: UnitOfWork, clock: Clock, ref: PatientRef, *, create: bool, user_id: int | None
) -> Patient:
    patient = uow.patients.by_mrn(ref.mrn)
    if patient is not None:
        if ref.birth_date is not None and ref.birth_date != patient.birth_date:
            raise Hl7Error(
                f"PID-7 birth date differs from the stored patient with MRN {ref.mrn}: "
                "identity conflict.",
                code=DUPLICATE_KEY,
            )
        return patient
    if not create:
        raise Hl7Error(f"No patient with MRN {ref.mrn} (PID-3).", code=UNKNOWN_KEY)
    if not ref.family_name or ref.birth_date is None:
        raise Hl7Error(
            f"New patient {ref.mrn}: PID-5 family name and a valid PID-7 birth date "
            "(YYYYMMDD) are required.",
            code=REQUIRED_FIELD_MISSING,
        )
    patient = Patient(
        mrn=ref.mrn,
        family_name=ref.family_name,
        given_name=ref.given_name,
        birth_date=ref.birth_date,
        sex=_SEXES.get(ref.sex, Sex.UNKNOWN),
        created_at=clock.now(),
    )
    uow.patients.add(patient)
    uow.patients.flush()
    assert patient.id is not None
    record_audit(
        uow,
        clock,
        action=AuditAction.CREATE,
        entity="patient",
        entity_id=patient.id,
        user_id=user_id,
        station="hl7",
        detail="created from an HL7 order message",
    )
    return patient


def _new(
    uow: UnitOfWork,
    clock: Clock,
    catalog: CatalogIndex,
    patient: Patient,
    line: OrderLine,
    message_time: datetime | None,
    summary: OrderSummary,
    user_id: int | None,
) -> None:
    entry = catalog.find(line.test_code, line.alt_test_code)
    if entry is None or not entry.active:
        state = "is not in the catalog" if entry is None else "is no longer offered"
        raise Hl7Error(
            f"Order {line.placer_order_number}: test '{line.test_code}' (OBR-4) {state}.",
            code=TABLE_VALUE_NOT_FOUND,
        )
    now = clock.now()
    order = uow.orders.by_placer_number(line.placer_order_number)
    if order is None:
        order = Order(
            placer_order_number=line.placer_order_number,
            patient_id=patient.id,  # type: ignore[arg-type]
            ordering_provider=line.provider or "unknown (HL7)",
            priority=line.priority,
            source=OrderSource.HL7,
            ordered_at=line.ordered_at or message_time or now,
            created_at=now,
            requisition=line.requisition,
        )
        uow.orders.add(order)
        uow.orders.flush()
        summary.orders_created += 1
        record_audit(
            uow,
            clock,
            action=AuditAction.CREATE,
            entity="order",
            entity_id=order.id or "",
            user_id=user_id,
            station="hl7",
            detail=f"HL7 new order {line.placer_order_number}",
        )
    elif order.patient_id != patient.id:
        raise Hl7Error(
            f"Placer order number {line.placer_order_number} is already used for another patient.",
            code=DUPLICATE_KEY,
        )
    elif order.status is OrderStatus.CANCELLED:
        raise Hl7Error(
            f"Order {line.placer_order_number} was cancelled; a new order needs a new placer "
            "order number.",
            code=DUPLICATE_KEY,
        )
    assert order.id is not None
    if any(ot.test_code == entry.code for ot in uow.orders.tests_for_orders([order.id])):
        return  # the same order sent again: nothing to add
    uow.orders.add_test(OrderedTest(order_id=order.id, test_code=entry.code, status_changed_at=now))
    uow.orders.flush()
    summary.tests_added += 1


def _cancel(
    uow: UnitOfWork,
    clock: Clock,
    catalog: CatalogIndex,
    patient: Patient,
    line: OrderLine,
    summary: OrderSummary,
    user_id: int | None,
) -> None:
    order = uow.orders.by_placer_number(line.placer_order_number)
    if order is None or order.patient_id != patient.id:
        raise Hl7Error(
            f"Cancel: no order {line.placer_order_number} for patient {patient.mrn}.",
            code=UNKNOWN_KEY,
        )
    assert order.id is not None
    entry = catalog.find(line.test_code, line.alt_test_code) if line.test_code else None
    now = clock.now()
    tests = uow.orders.tests_for_orders([order.id])
    for ot in tests:
        if entry is not None and ot.test_code != entry.code:
            continue
        if ot.status in _CANCELLABLE:
            ot.status = TestStatus.CANCELLED
            ot.status_changed_at = now
            summary.tests_cancelled += 1
        elif ot.status is not TestStatus.CANCELLED:
            summary.not_cancelled += 1
    if all(ot.status is TestStatus.CANCELLED for ot in tests) and order.status is not (
        OrderStatus.CANCELLED
    ):
        order.status = OrderStatus.CANCELLED
        order.cancel_reason = line.cancel_reason or "Cancelled by the EHR (ORC-1 CA)"
    record_audit(
        uow,
        clock,
        action=AuditAction.UPDATE,
        entity="order",
        entity_id=order.id,
        user_id=user_id,
        station="hl7",
        detail=f"HL7 cancel of {line.test_code or 'whole order'}",
    )
