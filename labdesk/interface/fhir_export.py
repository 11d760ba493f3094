"""FHIR R4 export of one specimen: Specimen, ServiceRequest and Task per ordered test, and a
Provenance per custody event, in a ``collection`` Bundle (plain JSON-ready dicts).

Minimum necessary: the patient appears only as an MRN identifier, never by name or birth
date. Ids are stable (UUID v5 of the record), so exporting twice gives the same document.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from labdesk.domain.audit import AuditAction
from labdesk.domain.clock import Clock
from labdesk.domain.custody import CustodyEvent
from labdesk.domain.errors import NotFound
from labdesk.domain.order import Order, OrderedTest, Priority, TestStatus
from labdesk.domain.permissions import Permission
from labdesk.domain.specimen import Specimen, SpecimenStatus
from labdesk.hl7.outbound_build import specimen_type_code
from labdesk.kernel.audit import record_audit
from labdesk.kernel.dto import SignedInUser, authorize
from labdesk.ports import UnitOfWork

SYSTEM = "urn:labdesk"
_NAMESPACE = uuid.UUID("6f1d9b40-3c1e-5a7e-9d0b-1ab5e4c0d001")
V2_0487 = "http://terminology.hl7.org/CodeSystem/v2-0487"
V2_0203 = "http://terminology.hl7.org/CodeSystem/v2-0203"
LOINC = "http://loinc.org"

_SPECIMEN_STATUS = {
    SpecimenStatus.REJECTED: "unsatisfactory",
    SpecimenStatus.LOST: "unavailable",
}
_REQUEST_STATUS = {
    TestStatus.CANCELLED: "revoked",
    TestStatus.FINAL: "completed",
    TestStatus.ACKNOWLEDGED: "completed",
    TestStatus.NOT_PERFORMED: "completed",
}
_TASK_STATUS = {
    TestStatus.ORDERED: "requested",
    TestStatus.FINAL: "completed",
    TestStatus.ACKNOWLEDGED: "completed",
    TestStatus.REJECTED: "failed",
    TestStatus.LOST: "failed",
    TestStatus.NOT_PERFORMED: "failed",
    TestStatus.CANCELLED: "cancelled",
}


def export_specimen_fhir(
    uow: UnitOfWork, clock: Clock, actor: SignedInUser, accession: str
) -> dict[str, Any]:
    """The FHIR Bundle for the specimen with ``accession`` (audited as an export; commits).

    Raises:
        PermissionDenied: without the export permission.
        NotFound: for an unknown accession.
    """
    authorize(actor, Permission.EXPORT_DATA)
    specimen = uow.specimens.by_accession(accession.strip())
    if specimen is None or specimen.id is None:
        raise NotFound(
            f"No specimen with accession {accession.strip()[:20]}.",
            hint="Check the accession ID (scan the label).",
        )
    patient = uow.patients.get(specimen.patient_id)
    assert patient is not None
    subject = {"identifier": {"system": f"{SYSTEM}:mrn", "value": patient.mrn}}
    tests = list(uow.orders.tests_for_specimen(specimen.id))
    orders = {ot.order_id: uow.orders.get(ot.order_id) for ot in tests}
    events = list(uow.custody.for_specimen(specimen.id))
    entries = [_specimen(specimen, tests, events, subject, uow)]
    for ot in tests:
        order = orders[ot.order_id]
        assert order is not None
        entries.append(_service_request(specimen, ot, order, subject, uow))
        entries.append(_task(ot, order, subject))
    entries += [_provenance(specimen, event, uow) for event in events]
    record_audit(
        uow,
        clock,
        action=AuditAction.EXPORT,
        entity="specimen",
        entity_id=specimen.id,
        user_id=actor.id,
        detail="FHIR R4 bundle",
    )
    uow.commit()
    return {
        "resourceType": "Bundle",
        "id": _id("Bundle", specimen.id),
        "type": "collection",
        "timestamp": _instant(clock.now()),
        "entry": [{"fullUrl": _ref(r["resourceType"], r["id"]), "resource": r} for r in entries],
    }


def _id(kind: str, key: object) -> str:
    return str(uuid.uuid5(_NAMESPACE, f"{kind}/{key}"))


def _ref(kind: str, rid: str) -> str:
    return f"urn:uuid:{rid}"


def _instant(when: datetime) -> str:
    return when.isoformat(timespec="seconds")


def _user(uow: UnitOfWork, user_id: int) -> dict[str, Any]:
    user = uow.people.user(user_id)
    ref: dict[str, Any] = {"identifier": {"system": f"{SYSTEM}:user", "value": str(user_id)}}
    if user is not None and user.initials:
        ref["display"] = user.initials
    return ref


def _specimen(
    s: Specimen,
    tests: list[OrderedTest],
    events: list[CustodyEvent],
    subject: dict[str, Any],
    uow: UnitOfWork,
) -> dict[str, Any]:
    definition = uow.catalog.get_test(tests[0].test_code) if tests else None
    code, text = specimen_type_code(definition.specimen_type if definition else "")
    container = uow.catalog.get_container(s.container_code)
    identifier = {"system": f"{SYSTEM}:accession", "value": s.accession}
    resource: dict[str, Any] = {
        "resourceType": "Specimen",
        "id": _id("Specimen", s.id),
        "identifier": [identifier],
        "accessionIdentifier": identifier,
        "status": _SPECIMEN_STATUS.get(s.status, "available"),
        "subject": subject,
        "request": [
            {"reference": _ref("ServiceRequest", _id("ServiceRequest", ot.id))} for ot in tests
        ],
        "collection": {
            "collector": _user(uow, s.collected_by_id),
            "collectedDateTime": _instant(s.collected_at),
        },
        "container": [
            {
                "identifier": [identifier],
                "type": {
                    "coding": [{"system": f"{SYSTEM}:container", "code": s.container_code}],
                    "text": container.name if container else s.container_code,
                },
            }
        ],
    }
    if text:
        coding = [{"system": V2_0487, "code": code, "display": text}] if code else []
        resource["type"] = {"coding": coding, "text": text} if coding else {"text": text}
    received = [e for e in events if e.kind.value == "received"]
    if received:
        resource["receivedTime"] = _instant(received[-1].occurred_at)
    if s.volume_ml:
        resource["collection"]["quantity"] = {
            "value": s.volume_ml,
            "unit": "mL",
            "system": "http://unitsofmeasure.org",
            "code": "mL",
        }
    return resource


def _service_request(
    s: Specimen, ot: OrderedTest, order: Order, subject: dict[str, Any], uow: UnitOfWork
) -> dict[str, Any]:
    definition = uow.catalog.get_test(ot.test_code)
    coding = [{"system": f"{SYSTEM}:test", "code": ot.test_code}]
    if definition is not None and definition.loinc:
        coding.insert(0, {"system": LOINC, "code": definition.loinc, "display": definition.name})
    resource: dict[str, Any] = {
        "resourceType": "ServiceRequest",
        "id": _id("ServiceRequest", ot.id),
        "identifier": [
            {
                "type": {"coding": [{"system": V2_0203, "code": "PLAC"}]},
                "system": f"{SYSTEM}:placer",
                "value": order.placer_order_number,
            }
        ],
        "status": _REQUEST_STATUS.get(ot.status, "active"),
        "intent": "order",
        "priority": "stat" if order.priority is Priority.STAT else "routine",
        "code": {"coding": coding, "text": definition.name if definition else ot.test_code},
        "subject": subject,
        "authoredOn": _instant(order.ordered_at),
        "requester": {"display": order.ordering_provider},
        "specimen": [{"reference": _ref("Specimen", _id("Specimen", s.id))}],
    }
    if order.requisition:
        resource["requisition"] = {"system": f"{SYSTEM}:requisition", "value": order.requisition}
    return resource


def _task(ot: OrderedTest, order: Order, subject: dict[str, Any]) -> dict[str, Any]:
    request = {"reference": _ref("ServiceRequest", _id("ServiceRequest", ot.id))}
    resource: dict[str, Any] = {
        "resourceType": "Task",
        "id": _id("Task", ot.id),
        "status": _TASK_STATUS.get(ot.status, "in-progress"),
        "businessStatus": {
            "coding": [{"system": f"{SYSTEM}:test-status", "code": ot.status.value}],
            "text": ot.status.value.replace("_", " "),
        },
        "intent": "order",
        "basedOn": [request],
        "focus": request,
        "for": subject,
        "authoredOn": _instant(order.ordered_at),
    }
    if ot.status_changed_at is not None:
        resource["lastModified"] = _instant(ot.status_changed_at)
    return resource


def _provenance(s: Specimen, e: CustodyEvent, uow: UnitOfWork) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Provenance",
        "id": _id("Provenance", e.id),
        "target": [{"reference": _ref("Specimen", _id("Specimen", s.id))}],
        "occurredDateTime": _instant(e.occurred_at),
        "recorded": _instant(e.recorded_at),
        "activity": {
            "coding": [
                {
                    "system": f"{SYSTEM}:custody-event",
                    "code": e.kind.value,
                    "display": e.kind.value.replace("_", " "),
                }
            ],
        },
        "agent": [{"who": _user(uow, e.actor_id)}],
        "location": {"display": e.location},
    }
    if e.reason:
        resource["reason"] = [{"text": e.reason}]
    return resource
