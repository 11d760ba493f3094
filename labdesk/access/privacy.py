"""Minimum necessary (HIPAA 164.502(b), 164.514(d)): an export carries only what its purpose needs.

An export names its :class:`ExportPurpose`; :func:`minimum_necessary` keeps only the fields
that purpose is allowed and drops the rest (demographics above all), so adding a column to a
row DTO never silently widens a file. :func:`demographic_fields` finds patient-identifying
fields in a DTO type, so tests can prove that what couriers get carries none.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Iterable, Mapping
from enum import StrEnum
from typing import Any

DEMOGRAPHICS = frozenset(
    {
        "family_name",
        "given_name",
        "patient_name",
        "display_name",
        "birth_date",
        "dob",
        "mrn",
        "sex",
        "address",
        "phone",
    }
)
"""Field names that identify a patient (``display_name`` also names users: see below)."""
PATIENT_TYPES = frozenset({"PatientSummary", "Patient", "PatientInfo"})


class ExportPurpose(StrEnum):
    """Why data leaves LabDesk; decides which fields may go."""

    AUDIT_REVIEW = "audit review"
    COURIER_MANIFEST = "courier manifest"
    RESULTS_FOLLOW_UP = "results follow-up"
    TURNAROUND_STATISTICS = "turnaround statistics"


ALLOWED: Mapping[ExportPurpose, frozenset[str]] = {
    # Ids and codes only: who did what to which record.
    ExportPurpose.AUDIT_REVIEW: frozenset(
        {
            "id",
            "at",
            "at_utc",
            "user",
            "username",
            "station",
            "action",
            "entity",
            "entity_id",
            "outcome",
            "flagged",
            "reviewed",
            "detail",
        }
    ),
    # What a courier signs for: containers, never who the patient is.
    ExportPurpose.COURIER_MANIFEST: frozenset(
        {
            "accession",
            "container_code",
            "temperature_class",
            "collected_at",
            "site_code",
            "status",
            "seal_intact",
            "container_ref",
        }
    ),
    # Treatment (exempt from minimum necessary, 164.502(b)(2)(i)) still gets what it uses.
    ExportPurpose.RESULTS_FOLLOW_UP: frozenset(
        {
            "mrn",
            "family_name",
            "given_name",
            "birth_date",
            "accession",
            "test_code",
            "test_name",
            "status",
            "priority",
            "ordered_at",
            "collected_at",
            "resulted_at",
            "acknowledged_at",
            "ordering_provider",
            "overdue_minutes",
            "abnormal_flag",
        }
    ),
    # De-identified: no direct identifiers, dates kept for turnaround only.
    ExportPurpose.TURNAROUND_STATISTICS: frozenset(
        {
            "test_code",
            "priority",
            "container_code",
            "ordered_at",
            "collected_at",
            "received_at",
            "resulted_at",
            "acknowledged_at",
            "turnaround_minutes",
        }
    ),
}


def allowed_fields(purpose: ExportPurpose) -> frozenset[str]:
    """The fields an export for ``purpose`` may carry."""
    return ALLOWED[purpose]


def minimum_necessary(rows: Iterable[Any], purpose: ExportPurpose) -> list[dict[str, Any]]:
    """Rows (dataclasses or mappings) reduced to the fields ``purpose`` allows, in order."""
    allowed = ALLOWED[purpose]
    out = []
    for row in rows:
        is_row = dataclasses.is_dataclass(row) and not isinstance(row, type)
        data = dataclasses.asdict(row) if is_row else dict(row)
        out.append({k: v for k, v in data.items() if k in allowed})
    return out


def demographic_fields(kind: Any, *, _seen: set[int] | None = None) -> set[str]:
    """Patient-identifying fields reachable from type ``kind`` (dataclasses, containers).

    Returns ``Type.field`` names; a nested patient DTO counts whole. ``display_name`` counts
    only on a patient type (users have display names too).
    """
    seen = _seen if _seen is not None else set()
    if id(kind) in seen:
        return set()
    seen.add(id(kind))
    found: set[str] = set()
    origin = typing.get_origin(kind)
    if origin is not None or isinstance(kind, types.UnionType):
        for arg in typing.get_args(kind):
            found |= demographic_fields(arg, _seen=seen)
        return found
    if not (isinstance(kind, type) and dataclasses.is_dataclass(kind)):
        return found
    if kind.__name__ in PATIENT_TYPES:
        return {kind.__name__}
    hints = typing.get_type_hints(kind)
    for f in dataclasses.fields(kind):
        if f.name in DEMOGRAPHICS - {"display_name"}:
            found.add(f"{kind.__name__}.{f.name}")
        found |= demographic_fields(hints.get(f.name), _seen=seen)
    return found
