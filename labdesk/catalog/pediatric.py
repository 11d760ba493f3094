"""The pediatric-tube file of the compendium (``pediatric.csv``): parse, validate, store.

One row per test: ``test_code, pediatric_container_code, volume_ml``: the minimum-volume
container (microtainer, pediatric citrate) the lab accepts for the test, and the volume the
test needs in it. The station offers these tubes when a plan is over the patient's
blood-volume limit (:mod:`labdesk.station.blood_volume`).

Validation lists every bad row and stores nothing when one is bad: unknown or repeated
tests, unknown containers, a container that is not a blood tube or has another additive
than the test's own tube (an EDTA test never goes in a citrate microtainer), a volume of 0
or more than the container holds. Registered as the catalog kind "pediatric tubes" (key
column ``pediatric_container_code``). The pediatric containers themselves are rows of
``containers.csv``; an older database gains them when this kind's shipped file loads.
"""

from __future__ import annotations

from collections.abc import Mapping

from labdesk.catalog.csv_import import _read_table, load_shipped_catalog
from labdesk.catalog.kinds import CatalogKind, register
from labdesk.domain.blood_volume import PediatricTube
from labdesk.domain.catalog import ContainerType, SpecimenCategory, TestDefinition
from labdesk.domain.errors import CatalogImportError
from labdesk.ports import UnitOfWork
from resources import resource

PEDIATRIC_COLUMNS: tuple[str, ...] = ("test_code", "pediatric_container_code", "volume_ml")
"""Columns of ``pediatric.csv``, in the order the shipped file uses."""


def parse_pediatric(
    text: str,
    tests: Mapping[str, TestDefinition],
    containers: Mapping[str, ContainerType],
) -> list[PediatricTube]:
    """Parse ``pediatric.csv`` text, validating every row against the catalog.

    Raises:
        CatalogImportError: If any row or the header is bad; lists every problem found.
    """
    rows, problems = _read_table(text, PEDIATRIC_COLUMNS)
    tubes: list[PediatricTube] = []
    seen: dict[str, int] = {}
    for row in rows:
        code = row.text("test_code")
        test = tests.get(code)
        if code and test is None:
            row.add("test_code", f"unknown test code '{code}'; add the test to tests.csv first")
        elif code in seen:
            row.add("test_code", f"test '{code}' already has a row (row {seen[code]})")
        elif code:
            seen[code] = row.row_number
        container_code = row.text("pediatric_container_code")
        container = containers.get(container_code)
        if container_code and container is None:
            row.add(
                "pediatric_container_code",
                f"unknown container code '{container_code}'; add it to containers.csv first",
            )
        volume = row.number("volume_ml")
        if row.ok("volume_ml") and volume <= 0:
            row.add("volume_ml", "must be more than 0 mL")
        if container is not None:
            own = containers.get(test.container_code) if test is not None else None
            if container.category is not SpecimenCategory.BLOOD:
                row.add("pediatric_container_code", f"'{container_code}' is not a blood tube")
            elif own is not None and own.additive.casefold() != container.additive.casefold():
                row.add(
                    "pediatric_container_code",
                    f"'{container_code}' holds {container.additive}, but {code} is drawn in "
                    f"{own.additive} ({own.code}); pick a tube with the same additive",
                )
            if row.ok("volume_ml") and volume > container.nominal_volume_ml:
                row.add(
                    "volume_ml",
                    f"{volume:g} mL is more than {container_code} holds "
                    f"({container.nominal_volume_ml:g} mL)",
                )
        tubes.append(PediatricTube(code, container_code, volume))
    if problems:
        raise CatalogImportError(problems)
    return tubes


def import_pediatric_text(uow: UnitOfWork, text: str) -> int:
    """Validate all of ``pediatric.csv`` against the catalog, then store it (replacing the
    row of every test it names); returns the number of rows stored."""
    tubes = parse_pediatric(
        text,
        {t.code: t for t in uow.catalog.tests()},
        {c.code: c for c in uow.catalog.containers()},
    )
    uow.preparation.replace_pediatric(tubes)
    return len(tubes)


def shipped_pediatric_text() -> str:
    """The shipped ``resources/catalog/pediatric.csv``."""
    return resource("catalog", "pediatric.csv").read_text(encoding="utf-8")


def ensure_shipped_pediatric(uow: UnitOfWork) -> bool:
    """Load the shipped pediatric tubes when the database has none; True if it did.

    The shipped pediatric containers an older catalog lacks are added first; rows for
    tests the lab's catalog does not have are left out.
    """
    if uow.preparation.count_pediatric() > 0:
        return False
    containers = {c.code: c for c in uow.catalog.containers()}
    tests = {t.code: t for t in uow.catalog.tests()}
    shipped_containers, shipped_tests = load_shipped_catalog()
    parsed = parse_pediatric(
        shipped_pediatric_text(),
        {**{t.code: t for t in shipped_tests}, **tests},
        {**{c.code: c for c in shipped_containers}, **containers},
    )
    tubes = [t for t in parsed if t.test_code in tests]
    wanted = {t.container_code for t in tubes}
    for container in shipped_containers:
        if container.code in wanted and container.code not in containers:
            uow.catalog.merge_container(container)
    uow.catalog.flush()
    uow.preparation.replace_pediatric(tubes)
    return bool(tubes)


KIND = register(
    CatalogKind(
        name="pediatric tubes",
        key_column="pediatric_container_code",
        import_text=import_pediatric_text,
        ensure_shipped=ensure_shipped_pediatric,
        row_noun="pediatric tube rule",
    )
)
