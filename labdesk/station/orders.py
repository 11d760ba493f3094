"""Orders at the station: a patient's pending tests, manual entry, cancellation, draw plan."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from labdesk.domain.audit import AuditAction
from labdesk.domain.catalog import ContainerType, Handling, TestDefinition
from labdesk.domain.clock import Clock
from labdesk.domain.draw_plan import DrawPlan, PlanRequest, build_draw_plan
from labdesk.domain.errors import NotFound, ValidationError
from labdesk.domain.lifecycle import TestEvent, next_test_status
from labdesk.domain.order import (
    Order,
    OrderedTest,
    OrderSource,
    OrderStatus,
    Priority,
    TestStatus,
)
from labdesk.domain.permissions import Permission
from labdesk.kernel.audit import record_audit
from labdesk.kernel.dto import OrderedTestRow, SignedInUser, authorize
from labdesk.ports import UnitOfWork

MIN_REASON = 3
MAX_TESTS_PER_ORDER = 40


def patient_orders(uow: UnitOfWork, patient_id: int) -> tuple[OrderedTestRow, ...]:
    """Tests of the patient's active orders (every status), oldest order first."""
    orders = {o.id: o for o in uow.orders.active_for_patient(patient_id)}
    tests = uow.orders.tests_for_orders([i for i in orders if i is not None])
    definitions = definitions_of(uow, {t.test_code for t in tests})
    rows = []
    for ot in tests:
        order = orders[ot.order_id]
        assert ot.id is not None
        accession = None
        if ot.specimen_id is not None:
            specimen = uow.specimens.get(ot.specimen_id)
            accession = specimen.accession if specimen else None
        rows.append(
            OrderedTestRow(
                ordered_test_id=ot.id,
                order_id=ot.order_id,
                placer_order_number=order.placer_order_number,
                test_code=ot.test_code,
                test_name=(
                    definitions[ot.test_code].name
                    if ot.test_code in definitions
                    else f"Unknown test {ot.test_code}"
                ),
                status=ot.status,
                priority=order.priority,
                ordering_provider=order.ordering_provider,
                ordered_at=order.ordered_at,
                specimen_accession=accession,
            )
        )
    return tuple(rows)


def definitions_of(uow: UnitOfWork, codes: Iterable[str]) -> dict[str, TestDefinition]:
    """The catalog definitions of ``codes`` (unknown codes are left out).

    Primary-key gets: a patient has a handful of tests, the catalog hundreds.
    """
    found = {}
    for code in sorted(set(codes)):
        definition = uow.catalog.get_test(code)
        if definition is not None:
            found[code] = definition
    return found


def plan_for(
    uow: UnitOfWork,
    rows: Sequence[OrderedTestRow],
    *,
    winged_set: bool = False,
    also: Sequence[PlanRequest] = (),
) -> DrawPlan:
    """The draw plan of the rows still waiting for collection.

    Args:
        uow: an open unit of work.
        rows: the patient's ordered tests; only those still ``ordered`` are planned.
        winged_set: a butterfly set is used.
        also: further tests to plan with them (a recollection's rejected or lost tests).
    """
    requests = [
        *also,
        *(
            PlanRequest(r.ordered_test_id, r.test_code, stat=r.priority is Priority.STAT)
            for r in rows
            if r.status is TestStatus.ORDERED
        ),
    ]
    return plan_requests(uow, requests, winged_set=winged_set)


def plan_requests(
    uow: UnitOfWork, requests: Sequence[PlanRequest], *, winged_set: bool = False
) -> DrawPlan:
    """The draw plan of ``requests`` with their catalog definitions and containers."""
    tests = definitions_of(uow, {r.test_code for r in requests})
    containers: dict[str, ContainerType] = {}
    for code in {t.container_code for t in tests.values()}:
        container = uow.catalog.get_container(code)
        if container is not None:
            containers[code] = container
    return build_draw_plan(
        requests,
        tests,
        containers,
        winged_set=winged_set,
        fasting_note=asks_fasted_flag(uow, tests.values()),
    )


def asks_fasted_flag(uow: UnitOfWork, definitions: Iterable[TestDefinition]) -> bool:
    """True when a test flagged 'fasting' has no fasting rule in the preparation file.

    Only such a test needs the collect step's own 'Fasted?' answer; a test with a rule is
    asked once, by the preparation question (its answer fills the collection's flag).
    """
    flagged = [d.code for d in definitions if Handling.FASTING in d.handling_flags]
    if not flagged:
        return False
    rules = uow.preparation.rules_for(flagged)
    return any(rules.get(code) is None or rules[code].fasting_hours is None for code in flagged)


def place_order(
    uow: UnitOfWork,
    clock: Clock,
    actor: SignedInUser,
    *,
    patient_id: int,
    test_codes: Sequence[str],
    ordering_provider: str,
    priority: Priority = Priority.ROUTINE,
    station_code: str = "",
) -> int:
    """Enter an order from the catalog and commit it; returns the order id.

    Raises:
        PermissionDenied: if the actor may not enter orders.
        ValidationError: no tests, an unknown or withdrawn test, no ordering provider.
        NotFound: no such patient.
    """
    authorize(actor, Permission.MANAGE_ORDERS)
    provider = " ".join(ordering_provider.split())
    codes = list(dict.fromkeys(c.strip().upper() for c in test_codes if c.strip()))
    if not provider:
        raise ValidationError(
            "An order needs the ordering provider.",
            hint="Type the name of the clinician who ordered the tests.",
        )
    if not codes:
        raise ValidationError("An order needs at least one test.", hint="Pick tests from the list.")
    if len(codes) > MAX_TESTS_PER_ORDER:
        raise ValidationError(f"At most {MAX_TESTS_PER_ORDER} tests fit on one order.")
    if not uow.patients.exists(patient_id):
        raise NotFound(f"Patient {patient_id} does not exist.")
    unorderable = uow.catalog.unorderable(codes)
    if unorderable:
        raise ValidationError(
            f"'{unorderable[0]}' is not an orderable test.",
            hint="Pick the test from the catalog list.",
        )
    now = clock.now()
    serial = uow.counters.next_value(f"manual-order-{now.year}")
    order = Order(
        placer_order_number=f"LD{now.year % 100:02d}{serial:06d}",
        patient_id=patient_id,
        ordering_provider=provider[:120],
        priority=priority,
        source=OrderSource.MANUAL,
        ordered_at=now,
        created_at=now,
    )
    uow.orders.add(order)
    uow.orders.flush()
    assert order.id is not None
    for code in codes:
        uow.orders.add_test(OrderedTest(order_id=order.id, test_code=code, status_changed_at=now))
    uow.orders.flush()
    record_audit(
        uow,
        clock,
        action=AuditAction.CREATE,
        entity="order",
        entity_id=order.id,
        actor=actor,
        station=station_code,
        detail=f"manual order for patient {patient_id}: {', '.join(codes)} ({priority.value})",
    )
    uow.commit()
    return order.id


def cancel_tests(
    uow: UnitOfWork,
    clock: Clock,
    actor: SignedInUser,
    ordered_test_ids: Sequence[int],
    reason: str,
    *,
    station_code: str = "",
) -> int:
    """Cancel pending tests with a reason and commit; returns how many were cancelled.

    An order whose tests are all cancelled is cancelled too, with the same reason.
    Cancelling an already cancelled test is a no-op.

    Raises:
        PermissionDenied: if the actor may not cancel orders.
        ValidationError: no reason, or a test already collected.
        NotFound: an unknown test.
    """
    authorize(actor, Permission.MANAGE_ORDERS)
    reason = " ".join(reason.split())
    if len(reason) < MIN_REASON:
        raise ValidationError(
            "Cancelling needs a reason.",
            hint="Say why, e.g. 'duplicate order' or 'provider cancelled'.",
        )
    now = clock.now()
    cancelled: list[int] = []
    touched: set[int] = set()
    for test_id in dict.fromkeys(ordered_test_ids):
        ot = uow.station.ordered_test(test_id)
        if ot is None:
            raise NotFound(f"Ordered test {test_id} does not exist.", hint="Refresh the orders.")
        if ot.status is TestStatus.CANCELLED:
            continue
        if ot.status is not TestStatus.ORDERED:
            raise ValidationError(
                f"{ot.test_code} was already {ot.status.value.replace('_', ' ')}; "
                "it can no longer be cancelled here.",
                hint="Ask the lab to cancel a test whose specimen exists.",
            )
        ot.status = next_test_status(ot.status, TestEvent.CANCELLED)
        ot.status_changed_at = now
        cancelled.append(test_id)
        touched.add(ot.order_id)
    uow.orders.flush()
    for order_id in touched:
        close_if_all_cancelled(uow, order_id, reason)
    if cancelled:
        record_audit(
            uow,
            clock,
            action=AuditAction.UPDATE,
            entity="ordered_test",
            entity_id=",".join(map(str, cancelled))[:64],
            actor=actor,
            station=station_code,
            detail=f"cancelled: {reason}",
        )
    uow.commit()
    return len(cancelled)


def cancel_order(
    uow: UnitOfWork,
    clock: Clock,
    actor: SignedInUser,
    order_id: int,
    reason: str,
    *,
    station_code: str = "",
) -> int:
    """Cancel every pending test of an order and commit; returns how many.

    Raises:
        NotFound: no such order.
        ValidationError: no reason, or some test already collected.
    """
    authorize(actor, Permission.MANAGE_ORDERS)
    order = uow.orders.get(order_id)
    if order is None:
        raise NotFound(f"Order {order_id} does not exist.", hint="Refresh the orders.")
    if order.status is OrderStatus.CANCELLED:
        return 0
    tests = uow.orders.tests_for_orders([order_id])
    ids = [t.id for t in tests if t.id is not None and t.status is TestStatus.ORDERED]
    return cancel_tests(uow, clock, actor, ids, reason, station_code=station_code)


def close_if_all_cancelled(uow: UnitOfWork, order_id: int, reason: str) -> None:
    """Cancel the order, with ``reason``, once every one of its tests is cancelled."""
    order = uow.orders.get(order_id)
    if order is None or order.status is not OrderStatus.ACTIVE:
        return
    tests = uow.orders.tests_for_orders([order_id])
    if tests and all(t.status is TestStatus.CANCELLED for t in tests):
        order.status = OrderStatus.CANCELLED
        order.cancel_reason = reason[:200]
