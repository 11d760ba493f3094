"""Reference data of a benchmark database: a site, a station, a user and the catalog.

Written through the ORM tables, so the column types apply; the shipped catalog is loaded
the way the app loads it, with a two-test fallback if it cannot be read.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine, select

from bench.data import rows
from bench.harness.errors import BenchError
from labdesk.adapters import orm
from labdesk.adapters.unit_of_work import SqlAlchemyUnitOfWork
from labdesk.catalog.compendium import ensure_shipped_catalog
from labdesk.domain.catalog import SpecimenCategory, TemperatureClass
from labdesk.domain.errors import LabdeskError
from labdesk.domain.people import Role


def load_reference_data(engine: Engine) -> list[rows.TestRef]:
    """Site, station, user and catalog, through the ORM tables; returns the active tests."""
    now = datetime(rows.ACCESSION_YEAR, 1, 1, tzinfo=UTC)
    with engine.begin() as conn:
        conn.execute(
            orm.sites.insert(),
            [
                {
                    "id": rows.SITE_ID,
                    "code": "BENCH",
                    "name": "Bench clinic",
                    "is_lab": False,
                    "timezone": "America/New_York",
                },
                {
                    "id": rows.SITE_ID + 1,
                    "code": "BENCHLAB",
                    "name": "Bench lab",
                    "is_lab": True,
                    "timezone": "America/New_York",
                },
            ],
        )
        conn.execute(
            orm.stations.insert(),
            {"id": 1, "code": "BENCH-1", "name": "Bench station", "site_id": rows.SITE_ID},
        )
        conn.execute(
            orm.users.insert(),
            {
                "id": rows.USER_ID,
                "username": "bench",
                "display_name": "Bench User",
                "initials": "BU",
                "role": Role.MEDICAL_ASSISTANT,
                "password_hash": "!",  # not a hash: nobody can sign in as this user
                "created_at": now,
            },
        )
    uow = SqlAlchemyUnitOfWork(engine)
    try:
        with uow:
            ensure_shipped_catalog(uow)
            uow.commit()
    except (LabdeskError, OSError):
        _insert_minimal_catalog(engine)
    with engine.connect() as conn:
        found = conn.execute(
            select(
                orm.test_definitions.c.code,
                orm.test_definitions.c.container_code,
                orm.test_definitions.c.transport_temperature,
            )
            .where(orm.test_definitions.c.active.is_(True))
            .order_by(orm.test_definitions.c.code)
        ).all()
    if not found:
        raise BenchError("The catalog has no active tests to order.")
    return [
        rows.TestRef(code, container, str(temperature)) for code, container, temperature in found
    ]


def _insert_minimal_catalog(engine: Engine) -> None:
    """Two containers and two tests, for when the shipped catalog cannot be loaded."""
    container = {
        "cap_hex": "#9B7FD1",
        "additive": "K2EDTA",
        "nominal_volume_ml": 4.0,
        "inversions": "8-10",
        "category": SpecimenCategory.BLOOD,
    }
    test = {
        "preferred_volume_ml": 3.0,
        "minimum_volume_ml": 1.0,
        "stability_ambient_h": 24.0,
        "transport_temperature": TemperatureClass.REFRIGERATED,
        "routine_tat_min": 1440,
    }
    with engine.begin() as conn:
        conn.execute(
            orm.container_types.insert(),
            [
                {"code": "LAV", "name": "Lavender", "cap_colour": "lavender", "draw_rank": 50}
                | container,
                {"code": "SST", "name": "Gold SST", "cap_colour": "gold", "draw_rank": 40}
                | container,
            ],
        )
        conn.execute(
            orm.test_definitions.insert(),
            [
                {
                    "code": "CBC",
                    "loinc": "57021-8",
                    "name": "CBC",
                    "specimen_type": "whole blood",
                    "container_code": "LAV",
                }
                | test,
                {
                    "code": "BMP",
                    "loinc": "51990-0",
                    "name": "Basic metabolic panel",
                    "specimen_type": "serum",
                    "container_code": "SST",
                }
                | test,
            ],
        )
