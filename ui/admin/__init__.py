"""Admin tabs of access control: users, roles, stations and the audit log."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtWidgets import QTabWidget

from labdesk.kernel.dto import SignedInUser
from ui.admin.audit_viewer import AuditViewer
from ui.admin.roles_panel import RolesPanel
from ui.admin.stations_panel import StationsPanel
from ui.admin.users_panel import UsersPanel
from ui.context import AppContext


@dataclass(frozen=True)
class AccessTabs:
    """The panels added to the Admin page."""

    users: UsersPanel
    roles: RolesPanel
    stations: StationsPanel
    audit: AuditViewer


def add_access_tabs(tabs: QTabWidget, context: AppContext, user: SignedInUser) -> AccessTabs:
    """Add the Users, Roles, Stations and Audit log tabs to ``tabs``."""
    panels = AccessTabs(
        users=UsersPanel(context, user, tabs),
        roles=RolesPanel(tabs),
        stations=StationsPanel(context, user, tabs),
        audit=AuditViewer(context, user, tabs),
    )
    tabs.addTab(panels.users, tabs.tr("Users"))
    tabs.addTab(panels.roles, tabs.tr("Roles"))
    tabs.addTab(panels.stations, tabs.tr("Stations"))
    tabs.addTab(panels.audit, tabs.tr("Audit log"))
    return panels
