"""Finding patients: wristband scans and forgiving search-as-you-type.

Screens call :func:`find_by_scan`, :func:`search_patients` and :func:`get_patient`: they
check the signed-in user may see demographics and audit the view (one entry per patient
shown, ids only). ``lookup_by_scan`` and ``lookup_patients`` are the bare queries under
them (no check, no audit), for services that check themselves and for ``labdesk bench``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date

from labdesk.domain.audit import AuditAction
from labdesk.domain.clock import Clock
from labdesk.domain.dates import DEFAULT_DATE_FORMATS, parse_birth_date
from labdesk.domain.errors import NotFound, ValidationError
from labdesk.domain.patient import Patient
from labdesk.domain.permissions import Permission
from labdesk.kernel.audit import audit_patient_access
from labdesk.kernel.dto import PatientSummary, SignedInUser, authorize
from labdesk.ports import UnitOfWork

WRISTBAND_SYSTEM = "wristband"
#: Search also reads a few forms staff paste from other systems (``13.01.1945``, ``19450113``).
SEARCH_EXTRA_FORMATS = ("%d.%m.%Y", "%Y%m%d")
SEARCH_DATE_FORMATS = (*DEFAULT_DATE_FORMATS, *SEARCH_EXTRA_FORMATS)


def search_date_formats(configured: Sequence[str]) -> tuple[str, ...]:
    """The clinic's date formats (``Config.date_formats``) plus the pasted forms above."""
    return tuple(dict.fromkeys((*configured, *SEARCH_EXTRA_FORMATS)))


def find_by_scan(
    uow: UnitOfWork, clock: Clock, actor: SignedInUser, scanned: str, *, commit: bool = True
) -> PatientSummary:
    """Open a patient from a wristband or ID-card barcode, audited as a view.

    Args:
        uow: unit of work; committed (the audit entry) unless ``commit`` is False.
        clock: time source.
        actor: the signed-in user.
        scanned: the scanned text.
        commit: False when the caller's own transaction commits.

    Raises:
        PermissionDenied: the role may not see patient demographics.
        NotFound: when no patient carries the scanned identifier.
    """
    authorize(actor, Permission.VIEW_PATIENT_DEMOGRAPHICS)
    found = lookup_by_scan(uow, scanned)
    _audit_view(uow, clock, actor, [found.id], "wristband scan", commit)
    return found


def search_patients(
    uow: UnitOfWork,
    clock: Clock,
    actor: SignedInUser,
    query: str,
    limit: int = 25,
    *,
    commit: bool = True,
    date_formats: Sequence[str] = SEARCH_DATE_FORMATS,
) -> list[PatientSummary]:
    """Search by MRN, DOB or name (see :func:`lookup_patients`), audited as a view.

    Every patient in the result is recorded as seen (ids only, never the typed text).
    ``date_formats`` are the ones a typed date of birth may be in (``Config.date_formats``).

    Raises:
        PermissionDenied: the role may not see patient demographics.
    """
    authorize(actor, Permission.VIEW_PATIENT_DEMOGRAPHICS)
    found = lookup_patients(uow, query, limit, date_formats=date_formats)
    _audit_view(uow, clock, actor, [p.id for p in found], "search", commit)
    return found


def get_patient(
    uow: UnitOfWork, clock: Clock, actor: SignedInUser, patient_id: int, *, commit: bool = True
) -> PatientSummary:
    """Patient by id, audited as a view.

    Raises:
        PermissionDenied: the role may not see patient demographics.
        NotFound: if it does not exist.
    """
    authorize(actor, Permission.VIEW_PATIENT_DEMOGRAPHICS)
    patient = uow.patients.get(patient_id)
    if patient is None:
        raise NotFound(f"Patient {patient_id} does not exist.")
    _audit_view(uow, clock, actor, [patient_id], "opened", commit)
    return PatientSummary.of(patient)


def _audit_view(
    uow: UnitOfWork,
    clock: Clock,
    actor: SignedInUser,
    patient_ids: list[int],
    how: str,
    commit: bool,
) -> None:
    if not patient_ids:
        return
    audit_patient_access(uow, clock, actor, AuditAction.VIEW, patient_ids, how=how)
    if commit:
        uow.commit()


def lookup_by_scan(uow: UnitOfWork, scanned: str) -> PatientSummary:
    """Query layer: a patient from a wristband or ID-card barcode (MRN or another identifier).

    Raises:
        NotFound: when no patient carries the scanned identifier.
    """
    value = scanned.replace("\x00", "").strip()
    patient = uow.patients.by_identifier(WRISTBAND_SYSTEM, value) or uow.patients.by_mrn(
        value.removeprefix("MRN").removeprefix(":")
    )
    if patient is None:
        if _is_date(value):
            # A date of birth typed so fast it was taken for a scan (issue 11 item 9).
            raise NotFound(
                f"'{value[:32]}' is a date, not a wristband or MRN.",
                hint="Type the date of birth into the date of birth field at step 2, "
                "or search by name and date of birth.",
            )
        raise NotFound(
            f"No patient has the identifier '{value[:32]}'.",
            hint="Rescan the wristband, or search by name and date of birth.",
        )
    return PatientSummary.of(patient)


def _is_date(text: str) -> bool:
    try:
        parse_birth_date(text, SEARCH_DATE_FORMATS)
    except ValidationError:
        return False
    return True


def lookup_patients(
    uow: UnitOfWork,
    query: str,
    limit: int = 25,
    *,
    date_formats: Sequence[str] = SEARCH_DATE_FORMATS,
) -> list[PatientSummary]:
    """Query layer: search by MRN, DOB or name, forgiving about case, accents and punctuation.

    Accepted forms: ``smith``, ``smi jo``, ``Smith, John``, ``O'Brien``, ``1980-03-04``,
    ``03/04/1980``, ``smith 1980-03-04``, an MRN or its prefix. A date is read in one of
    ``date_formats``; a token that is not one is searched as a name or an MRN.
    """
    text = query.replace("\x00", "").strip()  # scanner noise; PostgreSQL refuses NUL
    if not text:
        return []
    found: list[Patient] = []
    born: date | None = None
    words: list[str] = []
    for token in re.split(r"[\s,]+", text):
        if not token:
            continue
        try:
            born = parse_birth_date(token, date_formats)
        except ValidationError:
            words.append(token)
    if not words and born is not None:
        found = list(uow.patients.by_birth_date(born, limit))
    elif len(words) == 1 and any(ch.isdigit() for ch in words[0]):
        found = list(uow.patients.mrn_prefix(words[0].upper(), limit))
    elif words:
        found = _by_name(uow, words[0], " ".join(words[1:]), limit if born is None else 500)
        if not found and len(words) > 1:
            # "John Smith" typed in the other order.
            found = _by_name(uow, words[-1], " ".join(words[:-1]), limit)
        if born is not None:
            found = [p for p in found if p.birth_date == born]
    return [PatientSummary.of(p) for p in found[:limit]]


def _by_name(uow: UnitOfWork, family: str, given: str, limit: int) -> list[Patient]:
    """Family-name prefix, then given-name prefix, both folded.

    Two index range scans: ``FAMILY|GIVEN`` when the family name is complete, and the
    family-name prefix filtered on the given name when it is only begun ("mül z").
    """
    exact = list(uow.patients.search_name_prefix(family, given, limit=limit))
    if not given or len(exact) >= limit:
        return exact
    seen = {p.id for p in exact}
    more = uow.patients.search_family_then_given(family, given, limit=limit + len(exact))
    exact.extend(p for p in more if p.id not in seen)
    return exact[:limit]
