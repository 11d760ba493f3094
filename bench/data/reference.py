"""Reference data of a benchmark database: the bench clinic's sites, station, user, catalog.

Built by the shared synthetic-data builder (:class:`labdesk.seed.builder.ClinicBuilder`)
from the clinic :mod:`labdesk.seed.reference` defines (``BENCH_CLINIC``), so the bulk rows
refer to the same reference data the demo and the tests build; the shipped catalog is loaded
the way the app loads it, with the seed's two-test catalog if it cannot be read.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine

from bench.data import rows
from bench.harness.errors import BenchError
from labdesk.adapters.unit_of_work import SqlAlchemyUnitOfWork
from labdesk.domain.clock import FixedClock
from labdesk.domain.errors import LabdeskError
from labdesk.seed.builder import ClinicBuilder, Passwords
from labdesk.seed.reference import BENCH_CLINIC, minimal_catalog


def load_reference_data(engine: Engine) -> list[rows.TestRef]:
    """Sites, station, user and catalog into an empty database; returns the active tests.

    The first site and the user get id 1 (``rows.SITE_ID``, ``rows.USER_ID``), which the
    bulk rows and the scenarios refer to.
    """
    clock = FixedClock(datetime(rows.ACCESSION_YEAR, 1, 1, tzinfo=UTC))
    with SqlAlchemyUnitOfWork(engine) as uow:
        build = ClinicBuilder(uow, clock)
        sites = build.reference(BENCH_CLINIC)
        users = build.staff(BENCH_CLINIC.staff, passwords=Passwords.NONE)
        first_site, first_user = sites[BENCH_CLINIC.sites[0].code], next(iter(users.values()))
        if (first_site.id, first_user.id) != (rows.SITE_ID, rows.USER_ID):
            raise BenchError("The bench clinic's reference data did not get the first ids.")
        uow.commit()
    try:
        with SqlAlchemyUnitOfWork(engine) as uow:
            ClinicBuilder(uow, clock).catalog()
            uow.commit()
    except (LabdeskError, OSError):
        with SqlAlchemyUnitOfWork(engine) as uow:
            ClinicBuilder(uow, clock).catalog_entries(*minimal_catalog())
            uow.commit()
    with SqlAlchemyUnitOfWork(engine) as uow:
        found = [
            rows.TestRef(t.code, t.container_code, str(t.transport_temperature))
            for t in uow.catalog.tests(active_only=True)  # by code
        ]
    if not found:
        raise BenchError("The catalog has no active tests to order.")
    return found
