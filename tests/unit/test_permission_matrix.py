"""Every service call a person makes is authorised per the matrix, for every role.

The services are found by introspection: every public function in the feature packages
(``PACKAGES``) with an ``actor`` parameter. Each must appear in ``REQUIRED`` below with the
permission it checks; a new one that is missing fails ``test_every_actor_function_is_listed``
until its author adds it. Each listed function is then called once per role (and in a
break-glass session) with placeholder arguments: ``authorize`` is wrapped so that a granted
check stops the call right there, so nothing runs past the permission check and no database
is needed. A refusal must be ``PermissionDenied``; a grant must reach ``authorize`` before
anything else fails (the rule: services check first).
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any
from unittest.mock import MagicMock

import pytest

from labdesk.domain.errors import PermissionDenied
from labdesk.domain.people import Role
from labdesk.domain.permissions import EMERGENCY_GRANTS, MATRIX, Permission, allows
from labdesk.kernel import dto
from labdesk.kernel.dto import SignedInUser

P = Permission
SIGNED_IN = "any signed-in user (acts on their own session)"
HELPER = "helper: records or checks for an actor that the calling service authorised"
PACKAGES = (
    "labdesk.kernel",
    "labdesk.station",
    "labdesk.custody",
    "labdesk.results",
    "labdesk.printing",
    "labdesk.access",
    "labdesk.catalog",
    "labdesk.interface",
    "labdesk.hl7",
)

AnyOf = frozenset[Permission]
"""Services open to several roles (``require_any``): granted if any one is allowed."""

REQUIRED: dict[str, Permission | AnyOf | str] = {
    "kernel.dto.authorize": HELPER,  # the check itself
    # access control (issue 7)
    "kernel.audit.audit_patient_access": HELPER,
    "kernel.audit.record_audit": HELPER,
    "kernel.audit.record_denial": HELPER,  # writes the refusal authorize() raised
    "access.audit_log.audit_entities": P.VIEW_AUDIT,
    "access.audit_log.export_audit_csv": P.VIEW_AUDIT,
    "access.audit_log.mark_reviewed": P.VIEW_AUDIT,
    "access.audit_log.search_audit_log": P.VIEW_AUDIT,
    "access.audit_log.verify_audit_log": P.VERIFY_CHAINS,
    "access.auth.change_own_password": SIGNED_IN,
    "access.auth.lock_session": SIGNED_IN,
    "access.auth.sign_out": SIGNED_IN,
    "access.emergency.end_emergency_access": SIGNED_IN,
    "access.emergency.start_emergency_access": P.EMERGENCY_ACCESS,
    "station.patients.find_by_scan": P.VIEW_PATIENT_DEMOGRAPHICS,
    "station.patients.get_patient": P.VIEW_PATIENT_DEMOGRAPHICS,
    "station.patients.search_patients": P.VIEW_PATIENT_DEMOGRAPHICS,
    "catalog.compendium.import_catalog_file": P.MANAGE_CATALOG,
    "catalog.compendium.import_compendium_file": P.MANAGE_CATALOG,
    "access.workstations.list_sites": P.MANAGE_STATIONS,
    "access.workstations.list_stations": P.MANAGE_STATIONS,
    "access.workstations.save_site": P.MANAGE_STATIONS,
    "access.workstations.save_station": P.MANAGE_STATIONS,
    "access.users.add_user": P.MANAGE_USERS,
    "access.users.list_users": P.MANAGE_USERS,
    "access.users.remove_user": P.MANAGE_USERS,
    "access.users.reset_password": P.MANAGE_USERS,
    "access.users.set_active": P.MANAGE_USERS,
    "access.users.set_badge": P.MANAGE_USERS,
    "access.users.set_pin": P.MANAGE_USERS,
    "access.users.set_role": P.MANAGE_USERS,
    "access.users.unlock_user": P.MANAGE_USERS,
    "access.users.update_details": P.MANAGE_USERS,
    # results and HL7 (issue 6)
    "results.acknowledge.acknowledge_results": P.ACKNOWLEDGE_RESULTS,
    "results.acknowledge.result_detail": P.VIEW_RESULTS,
    "results.acknowledge.signing_preview": P.ACKNOWLEDGE_RESULTS,
    "results.export.export_board": P.EXPORT_DATA,
    "results.export.export_outstanding": P.EXPORT_DATA,
    "results.board.load_board": P.VIEW_RESULTS,
    "results.board.query_board": P.VIEW_RESULTS,
    "results.board.matching_rows": P.VIEW_RESULTS,
    "results.overdue.set_covering_by_username": P.MANAGE_USERS,
    "results.overdue.set_covering_clinician": P.MANAGE_USERS,
    "results.overdue.turnaround_stats": P.VIEW_RESULTS,
    "access.signoff.reauthenticate": SIGNED_IN,
    "interface.fhir_export.export_specimen_fhir": P.EXPORT_DATA,
    "interface.worklist.dismiss_unmatched": P.MATCH_RESULTS,
    "interface.worklist.list_dead_letters": P.IMPORT_MESSAGES,
    "interface.worklist.list_unmatched": P.MATCH_RESULTS,
    "interface.worklist.match_candidates": P.MATCH_RESULTS,
    "interface.worklist.match_unmatched": P.MATCH_RESULTS,
    "interface.worklist.match_unmatched_by_accession": P.MATCH_RESULTS,
    "interface.worklist.resolve_dead_letter": P.IMPORT_MESSAGES,
    # custody (issue 5)
    "custody.events.open_recollection": HELPER,
    "custody.events.pack_specimen": P.COLLECT_SPECIMENS,
    "custody.events.report_lost": frozenset(
        {P.PICK_UP_SPECIMENS, P.RECEIVE_SPECIMENS, P.COLLECT_SPECIMENS}
    ),
    "custody.events.require_any": HELPER,
    "custody.pickup.deliver_manifest": P.PICK_UP_SPECIMENS,
    "custody.pickup.finish_pickup": P.PICK_UP_SPECIMENS,
    "custody.pickup.open_manifests": P.PICK_UP_SPECIMENS,
    "custody.pickup.pickup_manifest": P.PICK_UP_SPECIMENS,
    "custody.pickup.pickup_sites": P.PICK_UP_SPECIMENS,
    "custody.pickup.ready_at_site": P.PICK_UP_SPECIMENS,
    "custody.pickup.scan_for_pickup": P.PICK_UP_SPECIMENS,
    "custody.pickup.start_pickup": P.PICK_UP_SPECIMENS,
    "custody.receipt.close_receipt": P.RECEIVE_SPECIMENS,
    "custody.receipt.open_receipt": P.RECEIVE_SPECIMENS,
    "custody.receipt.receive_scan": P.RECEIVE_SPECIMENS,
    "custody.receipt.reconciliation": P.RECEIVE_SPECIMENS,
    "custody.receipt.reject_specimen": P.REJECT_SPECIMENS,
    "custody.timeline.specimen_timeline": P.VIEW_CUSTODY,
    "custody.verify.verify_chains": P.VERIFY_CHAINS,
    "custody.manifest_print.manifest_document": frozenset(
        {P.PICK_UP_SPECIMENS, P.RECEIVE_SPECIMENS}
    ),
    "custody.manifest_print.print_manifest": frozenset({P.PICK_UP_SPECIMENS, P.RECEIVE_SPECIMENS}),
    # labels and printing (issue 3)
    "printing.views.check": HELPER,
    "printing.views.job_preview": P.PRINT_LABELS,
    "printing.views.label_for_export": P.PRINT_LABELS,
    "printing.views.list_print_jobs": P.PRINT_LABELS,
    "printing.jobs.resolve_unconfirmed": P.PRINT_LABELS,
    "printing.jobs.queue_specimen_labels": P.PRINT_LABELS,
    "printing.jobs.record_offline_specimen_labels": P.PRINT_LABELS,
    "printing.jobs.queue_test_label": P.PRINT_LABELS,
    "printing.jobs.queue_reprint": P.REPRINT_LABELS,
    "printing.station_printers.update_station_printers": P.MANAGE_STATIONS,
    # phlebotomy station (issue 4)
    "station.recollection.plan_recollection": P.COLLECT_SPECIMENS,
    "station.recollection.cancel_recollection": P.ACKNOWLEDGE_RESULTS,  # a clinician (issue 13)
    "station.recollection.open_recollection_of": P.VIEW_CUSTODY,
    # add-on tests (issue 13)
    "station.add_on.preview_add_on": P.MANAGE_ORDERS,
    "station.add_on.add_test_to_specimen": P.MANAGE_ORDERS,
    "station.collect.announce_add_on": HELPER,  # inside add_test_to_specimen, which authorised
    "station.recollection.close_if_recollected": HELPER,  # inside collect(), which authorised
    "station.series.record_timed_draws": HELPER,  # inside collect(), which authorised
    "station.at_chair.record_before": HELPER,  # inside collect(), which authorised
    "station.at_chair.record_after": HELPER,  # inside collect(), which authorised
    "station.preparation.record_answers": HELPER,  # inside collect(), which authorised
    "station.blood_volume.record_prioritisation": HELPER,  # inside collect(), which authorised
    "station.blood_volume.record_weight": Permission.COLLECT_SPECIMENS,
    "station.preparation.reschedule_tests": Permission.COLLECT_SPECIMENS,
    "station.collect.collect": P.COLLECT_SPECIMENS,
    "station.collect.record_collection": P.COLLECT_SPECIMENS,
    "station.encounter.abandon_encounter": P.COLLECT_SPECIMENS,
    "station.encounter.complete_encounter": P.COLLECT_SPECIMENS,
    "station.encounter.confirm_identity": P.COLLECT_SPECIMENS,
    "station.encounter.confirm_identity_by_wristband": P.COLLECT_SPECIMENS,
    "station.encounter.load_encounter": P.COLLECT_SPECIMENS,
    "station.encounter.open_by_wristband": P.COLLECT_SPECIMENS,
    "station.encounter.open_encounter": P.COLLECT_SPECIMENS,
    "station.encounter.resolve_alarm": P.COLLECT_SPECIMENS,
    "station.forensic.collect_observed_recollection": P.COLLECT_SPECIMENS,
    "station.forensic.waive_observed_recollection": P.COLLECT_SPECIMENS,
    "station.labels.queue_encounter_labels": P.PRINT_LABELS,
    "station.labels.record_offline_labels": P.PRINT_LABELS,
    "station.labels.scan_back": P.COLLECT_SPECIMENS,
    "station.labels.resolve_unconfirmed_labels": P.PRINT_LABELS,
    # after the commit of a print its handler authorised: sends and records the tubes labelled
    "station.labels.send_encounter_labels": HELPER,
    "station.orders.cancel_order": P.MANAGE_ORDERS,
    "station.orders.cancel_tests": P.MANAGE_ORDERS,
    "station.orders.place_order": P.MANAGE_ORDERS,
    "station.worklist.station_worklist": P.COLLECT_SPECIMENS,
}

ACTORS = [(role, False) for role in Role] + [
    (role, True) for role in Role if P.EMERGENCY_ACCESS in MATRIX[role]
]


class _Granted(Exception):
    """Raised by the wrapped ``authorize`` once the real check has passed."""

    def __init__(self, permission: Permission) -> None:
        super().__init__(permission)
        self.permission = permission


def _modules() -> Iterator[ModuleType]:
    for name in PACKAGES:
        try:
            package = importlib.import_module(name)
        except ImportError:
            continue
        yield package
        for info in pkgutil.walk_packages(package.__path__, f"{name}."):
            yield importlib.import_module(info.name)


def _key(module: ModuleType, name: str) -> str:
    return f"{module.__name__.removeprefix('labdesk.')}.{name}"


def _actor_functions() -> dict[str, Callable[..., Any]]:
    found = {}
    for module in _modules():
        for name, fn in inspect.getmembers(module, inspect.isfunction):
            if fn.__module__ != module.__name__ or name.startswith("_"):
                continue
            if "actor" in inspect.signature(fn).parameters:
                found[_key(module, name)] = fn
    return found


FUNCTIONS = _actor_functions()


def _placeholder(annotation: object) -> object:
    """A harmless argument of roughly the annotated type (the call stops at the check)."""
    text = str(annotation)
    simple: dict[str, object] = {
        "str": "synthetic placeholder 123",
        "int": 1,
        "float": 1.0,
        "bool": False,
        "Path": Path("/nonexistent/placeholder.csv"),
        "datetime": datetime(2026, 3, 2, 14, 0, tzinfo=UTC),
    }
    for prefix, value in simple.items():
        if text == prefix or text.startswith(f"{prefix} |"):
            return value
    return MagicMock(name=text)


def _call(fn: Callable[..., Any], actor: SignedInUser) -> object:
    kwargs = {}
    for name, param in inspect.signature(fn).parameters.items():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        if name == "actor":
            kwargs[name] = actor
        elif param.default is param.empty:
            kwargs[name] = _placeholder(param.annotation)
    return fn(**kwargs)


@pytest.fixture
def stop_at_grant(monkeypatch: pytest.MonkeyPatch) -> None:
    """Wrap ``authorize`` everywhere: refuse as usual, stop the call when granted."""
    real = dto.authorize

    def checked(actor: SignedInUser, permission: Permission) -> None:
        real(actor, permission)
        raise _Granted(permission)

    for module in _modules():
        if getattr(module, "authorize", None) is real:
            monkeypatch.setattr(module, "authorize", checked)


def _actor(role: Role, emergency: bool) -> SignedInUser:
    return SignedInUser(
        id=1, username="u", display_name="U", role=role, initials="U", emergency=emergency
    )


def test_every_actor_function_is_listed() -> None:
    missing = sorted(set(FUNCTIONS) - set(REQUIRED))
    assert not missing, (
        "New service functions take an actor but are not in REQUIRED of "
        f"tests/unit/test_permission_matrix.py: {missing}. Add each with the Permission it "
        "checks (authorize first), or SIGNED_IN / HELPER with a reason."
    )


def test_no_stale_entries() -> None:
    assert sorted(set(REQUIRED) - set(FUNCTIONS)) == []


@pytest.mark.parametrize(
    "key", sorted(k for k, v in REQUIRED.items() if v not in (SIGNED_IN, HELPER)), ids=str
)
@pytest.mark.usefixtures("stop_at_grant")
def test_each_role_allowed_or_refused_per_matrix(key: str) -> None:
    fn = FUNCTIONS.get(key)
    if fn is None:
        pytest.skip(f"{key} is not present in this checkout")
    entry = REQUIRED[key]
    needed = frozenset({entry}) if isinstance(entry, Permission) else entry
    assert isinstance(needed, frozenset)
    for role, emergency in ACTORS:
        who = f"{role.value}{' (break-glass)' if emergency else ''}"
        allowed = any(allows(role, p, emergency=emergency) for p in needed)
        try:
            _call(fn, _actor(role, emergency))
        except _Granted as granted:
            assert granted.permission in needed, f"{key} checks {granted.permission.name}"  # noqa: PT017
            assert allowed, f"{key} let {who} through"
        except PermissionDenied:
            assert not allowed, f"{key} refused {who}"
        except Exception as exc:
            pytest.fail(f"{key} failed for {who} before checking permission: {exc!r}")
        else:
            pytest.fail(f"{key} returned for {who} without calling authorize()")


@pytest.mark.parametrize("key", sorted(k for k, v in REQUIRED.items() if v == SIGNED_IN))
@pytest.mark.usefixtures("stop_at_grant")
def test_own_session_functions_refuse_nobody(key: str) -> None:
    fn = FUNCTIONS[key]
    for role, emergency in ACTORS:
        try:
            _call(fn, _actor(role, emergency))
        except PermissionDenied:
            pytest.fail(f"{key} refused {role.value}")
        except Exception:
            pass


def test_matrix_minimum_necessary() -> None:
    assert not allows(Role.COURIER, P.VIEW_PATIENT_DEMOGRAPHICS)
    assert not allows(Role.COURIER, P.VIEW_RESULTS)
    assert not allows(Role.COURIER, P.EMERGENCY_ACCESS)
    assert allows(Role.CLINICIAN, P.VIEW_RESULTS)
    assert [r for r in Role if allows(r, P.ACKNOWLEDGE_RESULTS)] == [Role.CLINICIAN]
    assert not allows(Role.ADMIN, P.ACKNOWLEDGE_RESULTS)
    assert not EMERGENCY_GRANTS & {P.ACKNOWLEDGE_RESULTS, P.MANAGE_USERS, P.EXPORT_DATA}
    for permission in Permission:
        assert any(allows(r, permission) for r in Role), f"nobody may {permission.value}"


def test_break_glass_widens_only_roles_that_may_use_it() -> None:
    assert allows(Role.MEDICAL_ASSISTANT, P.VIEW_RESULTS, emergency=True)
    assert not allows(Role.MEDICAL_ASSISTANT, P.VIEW_RESULTS)
    assert not allows(Role.COURIER, P.VIEW_PATIENT_DEMOGRAPHICS, emergency=True)
    assert not allows(Role.MEDICAL_ASSISTANT, P.ACKNOWLEDGE_RESULTS, emergency=True)
