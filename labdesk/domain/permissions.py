"""The permission matrix: which role may do what, in one place.

Services check it on every call (not only the UI hiding buttons). Minimum necessary
(HIPAA 164.502(b)): each workforce class gets only the patient data its work needs, so
couriers never get patient demographics, only clinicians acknowledge results, and
administrators run the set-up without clinical sign-off.

Break-glass (HIPAA 164.312(a)(2)(ii), emergency access): a signed-in user whose role allows
``EMERGENCY_ACCESS`` may, giving a reason, widen their session by ``EMERGENCY_GRANTS`` until
they sign out or the station locks. Every such session and everything done in it is audited
and flagged for review.
"""

from __future__ import annotations

from enum import StrEnum

from labdesk.domain.errors import PermissionDenied
from labdesk.domain.people import Role


class Permission(StrEnum):
    """An action guarded by role."""

    VIEW_PATIENT_DEMOGRAPHICS = "view patient names and dates of birth"
    MANAGE_ORDERS = "enter or cancel orders"
    COLLECT_SPECIMENS = "record specimen collections"
    PRINT_LABELS = "print specimen labels"
    REPRINT_LABELS = "reprint specimen labels"
    PICK_UP_SPECIMENS = "pick up specimens"
    RECEIVE_SPECIMENS = "receive specimens at the lab"
    REJECT_SPECIMENS = "reject specimens"
    VIEW_CUSTODY = "view specimen custody timelines"
    VIEW_RESULTS = "view results"
    ACKNOWLEDGE_RESULTS = "acknowledge results"
    MATCH_RESULTS = "match unmatched results"
    IMPORT_MESSAGES = "import HL7 messages"
    EXPORT_DATA = "export patient data"
    VERIFY_CHAINS = "verify custody and audit chains"
    VIEW_AUDIT = "view the audit log"
    MANAGE_USERS = "manage users and roles"
    MANAGE_STATIONS = "manage stations and printers"
    MANAGE_CATALOG = "manage the test catalog"
    EMERGENCY_ACCESS = "use emergency (break-glass) access"


P = Permission
_ALL = frozenset(Permission)

MATRIX: dict[Role, frozenset[Permission]] = {
    Role.MEDICAL_ASSISTANT: frozenset(
        {
            P.VIEW_PATIENT_DEMOGRAPHICS,
            P.MANAGE_ORDERS,
            P.COLLECT_SPECIMENS,
            P.PRINT_LABELS,
            P.REPRINT_LABELS,
            P.VIEW_CUSTODY,
            P.EMERGENCY_ACCESS,
        }
    ),
    # Couriers move sealed specimens: accession IDs, containers and custody, never who the
    # patient is.
    Role.COURIER: frozenset({P.PICK_UP_SPECIMENS, P.VIEW_CUSTODY}),
    Role.LAB_RECEIVER: frozenset(
        {
            P.VIEW_PATIENT_DEMOGRAPHICS,
            P.RECEIVE_SPECIMENS,
            P.REJECT_SPECIMENS,
            P.PRINT_LABELS,
            P.VIEW_CUSTODY,
            P.EMERGENCY_ACCESS,
        }
    ),
    Role.CLINICIAN: frozenset(
        {
            P.VIEW_PATIENT_DEMOGRAPHICS,
            P.MANAGE_ORDERS,
            P.VIEW_CUSTODY,
            P.VIEW_RESULTS,
            P.ACKNOWLEDGE_RESULTS,
            P.MATCH_RESULTS,
            P.EXPORT_DATA,
        }
    ),
    # Administrators run the clinic's set-up; clinical sign-off stays with clinicians.
    Role.ADMIN: _ALL - {P.ACKNOWLEDGE_RESULTS, P.EMERGENCY_ACCESS},
}

#: What a break-glass session adds to the role's own permissions: seeing who the patient
#: is and their results, never signing anything off or changing the set-up.
EMERGENCY_GRANTS: frozenset[Permission] = frozenset(
    {P.VIEW_PATIENT_DEMOGRAPHICS, P.VIEW_RESULTS, P.VIEW_CUSTODY}
)


def permissions_of(role: Role, *, emergency: bool = False) -> frozenset[Permission]:
    """Everything ``role`` may do, widened by ``EMERGENCY_GRANTS`` in a break-glass session."""
    granted = MATRIX[role]
    if emergency and P.EMERGENCY_ACCESS in granted:
        return granted | EMERGENCY_GRANTS
    return granted


def allows(role: Role, permission: Permission, *, emergency: bool = False) -> bool:
    """True when ``role`` may perform ``permission`` (in a break-glass session or not)."""
    return permission in permissions_of(role, emergency=emergency)


def require(role: Role, permission: Permission, *, emergency: bool = False) -> None:
    """Refuse an action the role may not perform.

    Raises:
        PermissionDenied: naming the action and the role.
    """
    if not allows(role, permission, emergency=emergency):
        raise PermissionDenied(
            f"Your role ({role.label}) may not {permission.value}.",
            hint="Sign in as a user whose role allows it, or ask an administrator.",
        )
