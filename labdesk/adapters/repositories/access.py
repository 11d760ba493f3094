"""Queries of access control and the audit log (searching, streaming for verification).

Every filter is a bound parameter; free text goes through ``contains(..., autoescape=True)``
so ``%`` and ``_`` typed by a user match themselves.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session

from labdesk.adapters import orm
from labdesk.adapters.append_only import guard_problems
from labdesk.domain.audit import AuditAction, AuditEntry
from labdesk.domain.audit_query import MAX_ROWS, AuditQuery, AuditRow
from labdesk.domain.chain_verify import ChainedRow
from labdesk.domain.hashchain import canonical
from labdesk.domain.people import Role, User

AUDIT_COUNTER = "audit-chain"
"""Incremented by every append (``AuditRepository.lock_chain``): entries ever written."""
REVIEWED_ENTITY = "audit_entry"


class StoredAuditEntry:
    """An audit row read for verification: plain attributes, the domain's hashed content.

    Building mapped ``AuditEntry`` objects costs more than hashing them; a chain check reads
    every row, so it uses this lighter shape (same ``content()``).
    """

    __slots__ = (
        "action",
        "at",
        "detail",
        "entity",
        "entity_id",
        "flagged",
        "hash",
        "id",
        "outcome",
        "prev_hash",
        "station",
        "user_id",
    )

    id: int | None
    prev_hash: str
    hash: str
    at: datetime
    action: AuditAction
    entity: str
    entity_id: str
    outcome: str
    user_id: int | None
    station: str
    detail: str
    flagged: bool

    def content(self) -> dict[str, object]:
        """The hashed fields, built by ``AuditEntry.content`` (it reads only these attributes)."""
        return AuditEntry.content(cast(AuditEntry, self))

    def __init__(self, row: Mapping[Any, Any]) -> None:
        for name in self.__slots__:
            setattr(self, name, row[name])


class AccessRepository:
    """Users and audit queries beyond the basic people and audit repositories."""

    def __init__(self, session: Session) -> None:
        self.session = session

    # ------------------------------------------------------------ users

    def active_admin_ids(self, now: datetime) -> list[int]:
        """Ids of administrators who can sign in (active, not removed, not expired)."""
        u = orm.users.c
        stmt = (
            select(u.id)
            .where(u.role == Role.ADMIN)
            .where(u.active.is_(True))
            .where(u.removed_at.is_(None))
            .where(or_(u.expires_at.is_(None), u.expires_at > now))
            .order_by(u.id)
        )
        return [int(i) for i in self.session.scalars(stmt)]

    def user_for_update(self, user_id: int) -> User | None:
        """A user row, locked until commit against concurrent changes on PostgreSQL.

        Read afresh (``populate_existing``): a copy loaded earlier in the session would
        otherwise keep the counters it had before the lock, which is exactly the stale read
        a lock is taken to avoid. SQLite needs no row lock: every LabDesk transaction there
        starts with ``BEGIN IMMEDIATE`` (one writer at a time).
        """
        stmt = (
            select(User)
            .where(orm.users.c.id == user_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        return self.session.scalars(stmt).first()

    def badge_owner(self, badge_id: str) -> int | None:
        """Id of the user holding ``badge_id``, if any."""
        stmt = select(orm.users.c.id).where(orm.users.c.badge_id == badge_id)
        found = self.session.scalar(stmt)
        return int(found) if found is not None else None

    def usernames(self, ids: Sequence[int]) -> dict[int, str]:
        """User names by id."""
        if not ids:
            return {}
        stmt = select(orm.users.c.id, orm.users.c.username).where(orm.users.c.id.in_(ids))
        return {int(i): str(n) for i, n in self.session.execute(stmt)}

    # ------------------------------------------------------------ audit

    def audit_written(self) -> int:
        """How many audit entries were ever appended (the chain counter)."""
        stmt = select(orm.counters.c.value).where(orm.counters.c.name == AUDIT_COUNTER)
        return int(self.session.scalar(stmt) or 0)

    def count_audit_entries(self, extra: int) -> None:
        """Add ``extra`` to the chain counter (a batch appended under one chain lock)."""
        stmt = (
            update(orm.counters)
            .where(orm.counters.c.name == AUDIT_COUNTER)
            .values(value=orm.counters.c.value + extra)
        )
        self.session.execute(stmt)

    def guard_problems(self) -> list[str]:
        """What is wrong with the audit table's append-only triggers (empty: in place)."""
        return guard_problems(self.session, ("audit_entries",))

    def audit_count(self) -> int:
        """How many audit entries are in the table."""
        return int(self.session.scalar(select(func.count()).select_from(orm.audit_entries)) or 0)

    def stream_audit(self, batch: int = 5000) -> Iterator[ChainedRow]:
        """Every entry for the chain check, oldest first, read in batches (bounded memory).

        Each comes with its links and the canonical text of its hashed content, built from
        the stored values as the writer built it from the entry.
        """
        a = orm.audit_entries.c
        last = 0
        while True:
            stmt = select(orm.audit_entries).where(a.id > last).order_by(a.id).limit(batch)
            rows = self.session.execute(stmt).mappings().all()
            if not rows:
                return
            for row in rows:
                entry = StoredAuditEntry(row)
                yield ChainedRow(
                    int(row["id"]), entry.prev_hash, entry.hash, canonical(entry.content())
                )
            last = int(rows[-1]["id"])

    def search_audit(self, query: AuditQuery) -> list[AuditRow]:
        """Entries matching ``query``, newest first."""
        a = orm.audit_entries.c
        u = orm.users.c
        stmt = select(orm.audit_entries, u.username).outerjoin(orm.users, a.user_id == u.id)
        conditions = []
        if query.user_id is not None:
            conditions.append(a.user_id == query.user_id)
        if query.username.strip():
            conditions.append(u.username == query.username.strip().lower())
        if query.action is not None:
            conditions.append(a.action == query.action)
        if query.entity.strip():
            conditions.append(a.entity == query.entity.strip())
        if query.entity_id.strip():
            conditions.append(a.entity_id == query.entity_id.strip())
        if query.since is not None:
            conditions.append(a.at >= query.since)
        if query.until is not None:
            conditions.append(a.at < query.until)
        if query.text.strip():
            conditions.append(a.detail.contains(query.text.strip(), autoescape=True))
        if query.flagged_only:
            conditions.append(a.flagged.is_(True))
        if conditions:
            stmt = stmt.where(and_(*conditions))
        stmt = stmt.order_by(a.id.desc()).limit(max(1, min(query.limit, MAX_ROWS)))
        return [
            AuditRow(
                id=int(r["id"]),
                at=r["at"],
                user_id=r["user_id"],
                username=r["username"] or "",
                station=r["station"],
                action=r["action"],
                entity=r["entity"],
                entity_id=r["entity_id"],
                outcome=r["outcome"],
                detail=r["detail"],
                flagged=bool(r["flagged"]),
            )
            for r in self.session.execute(stmt).mappings()
        ]

    def reviewed(self, entry_ids: Sequence[int]) -> set[int]:
        """Which of ``entry_ids`` an administrator has marked reviewed."""
        if not entry_ids:
            return set()
        a = orm.audit_entries.c
        stmt = (
            select(a.entity_id)
            .where(a.action == AuditAction.REVIEW)
            .where(a.entity == REVIEWED_ENTITY)
            .where(a.entity_id.in_([str(i) for i in entry_ids]))
        )
        return {int(i) for i in self.session.scalars(stmt)}

    def entities(self) -> list[str]:
        """Distinct entity names in the log (for the viewer's filter)."""
        stmt = select(orm.audit_entries.c.entity).distinct().order_by(orm.audit_entries.c.entity)
        return [str(e) for e in self.session.scalars(stmt)]
