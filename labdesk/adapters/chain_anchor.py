"""Chain heads written outside the database, so a truncated or rewritten tail shows.

A hash chain and its counter both live in the database: someone who can write there can cut
the newest events off and lower the counter, or recompute every hash from some row to the
end, and the chain still verifies. An **anchor** is the chain's head (events counted, newest
id, newest hash) noted somewhere the database's users cannot rewrite. LabDesk appends one to
a JSON-lines file (``chain_anchor_file`` in the config; by default in the data directory)
after every commit that appended to a chain, once ``chain_anchor_every`` events have been
added since the last anchor or an hour has passed, the way Certificate Transparency logs
publish signed tree heads. ``custody verify`` and ``audit verify`` then require every anchor
of their database to still be there: the anchored row with the same hash, and at least as
many events counted.

The file is opened for appending only, created readable by its owner alone. Put it on
another machine's share (or a write-once store) for the strongest guarantee; a failure to
write it is logged, never fails the commit (the data is already committed).
"""

from __future__ import annotations

import json
import logging
import os
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Connection, Engine, text
from sqlalchemy.orm import Session

from labdesk.domain.hashchain import AUDIT, CUSTODY

logger = logging.getLogger(__name__)

ANCHOR_HOURLY = timedelta(hours=1)

#: How each chain's head is read: counter name, table, hash column.
_HEADS: dict[str, tuple[str, str, str]] = {
    CUSTODY: ("custody-chain", "custody_events", "chain_hash"),
    AUDIT: ("audit-chain", "audit_entries", "hash"),
}

TAIL_BYTES = 1 << 20
"""How much of the file's end is read to find the newest anchor."""

#: ``session.info`` key under which repositories note the chains a transaction appended to.
TOUCHED = "labdesk_chains_touched"


@dataclass(frozen=True)
class Anchor:
    """One chain head as it stood after a commit."""

    chain: str
    count: int
    """Events the chain's writer had counted."""
    id: int
    hash: str
    at: datetime


def mark_touched(session: Session, chain: str) -> None:
    """Note that this transaction appends to ``chain`` (called under the chain lock)."""
    session.info.setdefault(TOUCHED, set()).add(chain)


def read_head(conn: Connection, chain: str) -> tuple[int, int, str] | None:
    """(count, newest id, newest hash) of ``chain`` in one statement, None when empty."""
    counter, table, column = _HEADS[chain]
    row = conn.execute(
        text(
            f"SELECT (SELECT value FROM counters WHERE name = :n), id, {column} "
            f"FROM {table} ORDER BY id DESC LIMIT 1"
        ),
        {"n": counter},
    ).first()
    if row is None or row[0] is None:
        return None
    return int(row[0]), int(row[1]), str(row[2])


class AnchorFile:
    """The append-only file of chain heads of one database."""

    def __init__(self, path: Path, database: str, every: int = 1) -> None:
        self.path = path
        self.database = database
        self.every = max(1, every)
        self._lock = threading.Lock()
        self._last: dict[str, Anchor] | None = None

    def latest(self, chain: str) -> Anchor | None:
        """The anchor of ``chain`` with the highest count (None: never anchored)."""
        found = self.recent(chain)
        return max(found, key=lambda a: a.count) if found else None

    def recent(self, chain: str) -> list[Anchor]:
        """The recent anchors of ``chain`` for this database, oldest first.

        Anchors are appended in time order, so the newest sit near the end: the last
        ``TAIL_BYTES`` (some thousands of anchors) are read, the whole file only when they
        hold none. Every one of them must still match, so a cut tail stays visible after
        new events have pushed the count past it again.
        """
        try:
            with self.path.open("rb") as handle:
                size = handle.seek(0, os.SEEK_END)
                start = max(0, size - TAIL_BYTES)
                handle.seek(start)
                tail = handle.read().decode("utf-8", errors="replace")
        except FileNotFoundError:
            return []
        lines = tail.splitlines()[1:] if start else tail.splitlines()
        found = self._parse(lines, chain)
        if not found and start:
            found = self._parse(self.path.read_text(encoding="utf-8").splitlines(), chain)
        return found

    def _parse(self, lines: list[str], chain: str) -> list[Anchor]:
        """The anchors of ``chain`` for this database among ``lines`` (bad lines skipped)."""
        found = []
        for line in lines:
            try:
                data = json.loads(line)
                if data.get("database") != self.database or data.get("chain") != chain:
                    continue
                found.append(
                    Anchor(
                        chain,
                        int(data["count"]),
                        int(data["id"]),
                        str(data["hash"]),
                        datetime.fromisoformat(str(data["at"])),
                    )
                )
            except (ValueError, KeyError, TypeError, AttributeError):
                logger.warning("unreadable line in the anchor file %s", self.path)
        return found

    def after_commit(self, session: Session) -> None:
        """Anchor the chains the committed transaction appended to, when one is due."""
        touched = session.info.pop(TOUCHED, set())
        if not touched:
            return
        try:
            # A connection of its own: a read in the session would open a transaction whose
            # rollback at the end of the unit of work expires the objects the caller holds.
            bind = session.get_bind()
            engine = bind if isinstance(bind, Engine) else bind.engine
            with engine.connect() as conn:
                heads = {chain: read_head(conn, chain) for chain in sorted(touched)}
            for chain, head in heads.items():
                if head is not None:
                    self._maybe_write(chain, head)
        except Exception:  # never fail a committed transaction over its anchor
            logger.exception("could not write the chain anchor to %s", self.path)

    def write_now(self, engine: Engine) -> list[Anchor]:
        """Anchor both chains' current heads unconditionally (``labdesk db upgrade``)."""
        written = []
        with engine.connect() as conn:
            heads = {chain: read_head(conn, chain) for chain in _HEADS}
        for chain, head in heads.items():
            if head is not None:
                written.append(self._write(chain, head))
        return written

    def _maybe_write(self, chain: str, head: tuple[int, int, str]) -> None:
        with self._lock:
            if self._last is None:
                self._last = {}
                for name in _HEADS:
                    known = self.latest(name)
                    if known is not None:
                        self._last[name] = known
            last = self._last.get(chain)
            now = datetime.now(UTC)
            due = (
                last is None
                or head[0] >= last.count + self.every
                or (now - last.at >= ANCHOR_HOURLY and head[0] != last.count)
            )
        if due:
            self._write(chain, head)

    def _write(self, chain: str, head: tuple[int, int, str]) -> Anchor:
        anchor = Anchor(chain, head[0], head[1], head[2], datetime.now(UTC))
        line = json.dumps(
            {
                "database": self.database,
                "chain": chain,
                "count": anchor.count,
                "id": anchor.id,
                "hash": anchor.hash,
                "at": anchor.at.isoformat(),
            },
            sort_keys=True,
        )
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, (line + "\n").encode("utf-8"))
                os.fsync(fd)
            finally:
                os.close(fd)
            if self._last is not None:
                self._last[chain] = anchor
        return anchor
