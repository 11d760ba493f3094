"""The composition roots' door to the live-update feed of a workstation's database.

``ui/`` may not import the storage adapters (``lint-imports``), so the desktop app (and
the idle benchmark) open the feed of their configured database through this function, as
they open the database itself through :mod:`labdesk.bootstrap`.

A PostgreSQL station with downtime mode gets a feed that follows its mode
(:class:`labdesk.downtime.live.DowntimeChangeFeed`): the server's changes online, the
station file's while it works offline.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from labdesk.config import Config
from labdesk.kernel.changes import ChangeFeed

if TYPE_CHECKING:
    from labdesk.downtime.heartbeat import StationDowntime


def open_feed(config: Config, downtime: StationDowntime | None = None) -> ChangeFeed:
    """The change feed of ``config``'s database, not started yet.

    Args:
        config: the workstation's configuration (its database URL and password file).
        downtime: the station's downtime mode, when it has one: offline, the screens then
            hear the changes committed to the station file.

    Raises:
        StorageError: for a bad URL or an unusable password file.
    """
    from labdesk.adapters.change_feed import open_change_feed  # the adapters, when needed

    feed = open_change_feed(config.database_url, password_file=config.database_password_file)
    if downtime is None:
        return feed
    from labdesk.adapters.change_feed import SqliteChangeFeed
    from labdesk.downtime.live import DowntimeChangeFeed

    path = downtime.store.path
    return DowntimeChangeFeed(feed, downtime.mode, lambda: SqliteChangeFeed(path))
