"""Every feature's command handlers, registered before an outbox is decoded or replayed.

A command is found by its type name among the registered ones
(:func:`labdesk.kernel.messagebus.registered_commands`), and a feature registers its
handlers when its ``commands`` module is imported. ``labdesk sync run`` may be the first
thing a process does, so replay imports them all here rather than trust that something
else did.
"""

from __future__ import annotations

import importlib

FEATURE_COMMANDS = (
    "labdesk.access.commands",
    "labdesk.catalog.commands",
    "labdesk.custody.commands",
    "labdesk.downtime.audit_copy",
    "labdesk.interface.commands",
    "labdesk.printing.commands",
    "labdesk.results.commands",
    "labdesk.station.commands",
)


def register_all() -> None:
    """Import every feature's ``commands`` module (a no-op after the first call)."""
    for module in FEATURE_COMMANDS:
        importlib.import_module(module)
