"""The composition roots' door to the live-update feed of a workstation's database.

``ui/`` may not import the storage adapters (``lint-imports``), so the desktop app (and
the idle benchmark) open the feed of their configured database through this function, as
they open the database itself through :mod:`labdesk.bootstrap`.
"""

from __future__ import annotations

from labdesk.config import Config
from labdesk.kernel.changes import ChangeFeed


def open_feed(config: Config) -> ChangeFeed:
    """The change feed of ``config``'s database, not started yet.

    Raises:
        StorageError: for a bad URL or an unusable password file.
    """
    from labdesk.adapters.change_feed import open_change_feed  # the adapters, when needed

    return open_change_feed(config.database_url, password_file=config.database_password_file)
