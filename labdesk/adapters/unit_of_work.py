"""Unit of work: one Session per business operation; rollback unless committed."""

from __future__ import annotations

from types import TracebackType

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError, StatementError
from sqlalchemy.orm import Session, sessionmaker

from labdesk.adapters import repositories as repos
from labdesk.adapters.chain_anchor import AnchorFile
from labdesk.adapters.database import is_database_error, translate_error
from labdesk.adapters.orm import start_mappers
from labdesk.adapters.repositories import custody as custody_repos
from labdesk.adapters.repositories.access import AccessRepository
from labdesk.adapters.repositories.add_on import AddOnRepository
from labdesk.adapters.repositories.board import BoardTableRepository
from labdesk.adapters.repositories.commands import CommandLogRepository
from labdesk.adapters.repositories.hl7 import Hl7Repository
from labdesk.adapters.repositories.overdue import BoardRepository
from labdesk.adapters.repositories.preparation import PreparationRepository
from labdesk.adapters.repositories.printing import PrintQueueRepository
from labdesk.adapters.repositories.station import StationRepository
from labdesk.adapters.repositories.timed_draws import TimedDrawRepository


class SqlAlchemyUnitOfWork:
    """Context manager giving repositories over one transaction.

    Usage::

        with uow:
            uow.patients.add(patient)
            uow.commit()

    Leaving the block without ``commit()`` rolls back, so an error never half-writes.
    Database driver errors raised inside the block surface as ``StorageError``.
    """

    patients: repos.PatientRepository
    catalog: repos.CatalogRepository
    orders: repos.OrderRepository
    specimens: repos.SpecimenRepository
    people: repos.PeopleRepository
    counters: repos.CounterRepository
    print_jobs: repos.PrintJobRepository
    custody: repos.CustodyRepository
    results: repos.ResultRepository
    audit: repos.AuditRepository
    hl7: Hl7Repository
    board: BoardRepository
    board_table: BoardTableRepository
    print_queue: PrintQueueRepository
    station: StationRepository
    access: AccessRepository
    custody_scan: custody_repos.CustodyScanRepository
    manifests: custody_repos.ManifestRepository
    routes: custody_repos.RouteRepository
    recollections: custody_repos.RecollectionRepository
    commands: CommandLogRepository
    timed_draws: TimedDrawRepository
    add_ons: AddOnRepository
    preparation: PreparationRepository

    def __init__(
        self,
        engine: Engine,
        factory: sessionmaker[Session] | None = None,
        anchors: AnchorFile | None = None,
    ) -> None:
        start_mappers()
        self.engine = engine
        self.anchors = anchors
        """Where chain heads are written after commits (None: not anchored)."""
        self._factory = factory or sessionmaker(bind=engine, expire_on_commit=False)
        self._session: Session | None = None

    @property
    def session(self) -> Session:
        """The open Session (only inside ``with``)."""
        if self._session is None:
            raise RuntimeError("unit of work used outside its 'with' block")
        return self._session

    def __enter__(self) -> SqlAlchemyUnitOfWork:
        if self._session is not None:
            raise RuntimeError("unit of work is not re-entrant; create another one")
        session = self._factory()
        self._session = session
        self.patients = repos.PatientRepository(session)
        self.catalog = repos.CatalogRepository(session)
        self.orders = repos.OrderRepository(session)
        self.specimens = repos.SpecimenRepository(session)
        self.people = repos.PeopleRepository(session)
        self.counters = repos.CounterRepository(session)
        self.print_jobs = repos.PrintJobRepository(session)
        self.custody = repos.CustodyRepository(session)
        self.results = repos.ResultRepository(session)
        self.audit = repos.AuditRepository(session)
        self.hl7 = Hl7Repository(session)
        self.board = BoardRepository(session)
        self.board_table = BoardTableRepository(session)
        self.print_queue = PrintQueueRepository(session)
        self.station = StationRepository(session)
        self.access = AccessRepository(session)
        self.custody_scan = custody_repos.CustodyScanRepository(session)
        self.manifests = custody_repos.ManifestRepository(session)
        self.routes = custody_repos.RouteRepository(session)
        self.recollections = custody_repos.RecollectionRepository(session)
        self.commands = CommandLogRepository(session)
        self.timed_draws = TimedDrawRepository(session)
        self.add_ons = AddOnRepository(session)
        self.preparation = PreparationRepository(session)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        session = self.session
        lost: SQLAlchemyError | None = None
        try:
            session.rollback()
        except SQLAlchemyError as error:  # the connection died with the transaction
            lost = error
        finally:
            session.close()
            self._session = None
        if exc is None and lost is not None:
            raise translate_error(lost, self.engine.url) from lost
        if isinstance(exc, StatementError) and isinstance(exc.orig, (ValueError, TypeError)):
            return  # a programming error (e.g. a naive datetime), not a database problem
        if exc is not None and is_database_error(exc):  # raw cursors raise the driver's own
            raise translate_error(exc, self.engine.url) from exc

    def commit(self) -> None:
        """Commit the transaction, then anchor any chain it appended to (outside the DB)."""
        self.session.commit()
        if self.anchors is not None:
            self.anchors.after_commit(self.session)

    def rollback(self) -> None:
        """Discard the transaction's changes."""
        self.session.rollback()


class UnitOfWorkFactory:
    """Creates a fresh unit of work per operation (safe to share across threads)."""

    def __init__(self, engine: Engine, anchors: AnchorFile | None = None) -> None:
        start_mappers()
        self.engine = engine
        self.anchors = anchors
        self._factory = sessionmaker(bind=engine, expire_on_commit=False)

    def __call__(self) -> SqlAlchemyUnitOfWork:
        return SqlAlchemyUnitOfWork(self.engine, self._factory, self.anchors)
