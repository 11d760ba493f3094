"""Test catalog: listing, the shipped compendium and a lab's own CSV."""

from __future__ import annotations

from pathlib import Path

from labdesk.catalog.csv_import import load_shipped_catalog, parse_tests
from labdesk.catalog.kinds import TESTS_KIND_NAME, CatalogImported, kind_for, kinds
from labdesk.domain.audit import AuditAction
from labdesk.domain.catalog import ContainerType, TestDefinition
from labdesk.domain.clock import Clock
from labdesk.domain.errors import ValidationError
from labdesk.domain.permissions import Permission
from labdesk.kernel.audit import record_audit
from labdesk.kernel.dto import CatalogRow, SignedInUser, authorize
from labdesk.ports import UnitOfWork


def ensure_shipped_catalog(uow: UnitOfWork) -> bool:
    """Load the shipped containers and tests into an empty catalog (caller commits).

    Each other compendium kind (:mod:`labdesk.catalog.kinds`) loads its shipped file when
    the database has none of it, so an existing database gains a new kind on upgrade.

    Returns:
        True when anything was loaded, False when all of it was already there.
    """
    loaded = False
    if uow.catalog.count_tests() == 0:
        containers, tests = load_shipped_catalog()
        _store(uow, containers, tests)
        loaded = True
    for kind in kinds():
        loaded = kind.ensure_shipped(uow) or loaded
    return loaded


def _store(uow: UnitOfWork, containers: list[ContainerType], tests: list[TestDefinition]) -> None:
    for container in containers:
        uow.catalog.merge_container(container)
    uow.catalog.flush()
    for test in tests:
        uow.catalog.merge_test(test)


def list_catalog(uow: UnitOfWork) -> list[CatalogRow]:
    """Every test with its container, by code."""
    containers = {c.code: c for c in uow.catalog.containers()}
    rows = []
    for t in uow.catalog.tests():
        c = containers[t.container_code]
        rows.append(
            CatalogRow(
                code=t.code,
                loinc=t.loinc,
                name=t.name,
                specimen_type=t.specimen_type,
                container_code=c.code,
                container_name=c.name,
                cap_colour=c.cap_colour,
                draw_rank=c.draw_rank,
                category=c.category,
                preferred_volume_ml=t.preferred_volume_ml,
                minimum_volume_ml=t.minimum_volume_ml,
                transport_temperature=t.transport_temperature,
                routine_tat_min=t.routine_tat_min,
                stat_tat_min=t.stat_tat_min,
                handling=t.handling,
            )
        )
    return rows


def import_catalog_file(
    uow: UnitOfWork, clock: Clock, actor: SignedInUser | None, path: Path
) -> int:
    """:func:`import_compendium_file`, returning only the number of rows imported."""
    return import_compendium_file(uow, clock, actor, path).rows


def import_compendium_file(
    uow: UnitOfWork, clock: Clock, actor: SignedInUser | None, path: Path
) -> CatalogImported:
    """Validate a lab's compendium CSV and upsert all of it, or none of it (audited).

    The file's header says which kind it is (tests, timed-draw series, patient
    preparation, pediatric tubes: :mod:`labdesk.catalog.kinds`). ``actor=None`` is the
    command line (an operator with the OS rights to the database).

    Returns:
        The kind of file and the number of its rows imported.

    Raises:
        CatalogImportError: listing every bad row (row number, field, why).
        ValidationError: if the file cannot be read.
        PermissionDenied: if ``actor`` may not manage the catalog.
    """
    if actor is not None:
        authorize(actor, Permission.MANAGE_CATALOG)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValidationError(
            f"Cannot read {path}: {exc}.", hint="Give the path of a UTF-8 CSV file."
        ) from exc
    kind = kind_for(text)
    if kind is None:
        known = {c.code for c in uow.catalog.containers()}
        tests = parse_tests(text, known)
        _store(uow, [], tests)
        name, noun, count = TESTS_KIND_NAME, "test", len(tests)
    else:
        name, noun, count = kind.name, kind.noun, kind.import_text(uow, text)
    record_audit(
        uow,
        clock,
        action=AuditAction.UPDATE,
        entity="catalog",
        entity_id=name,
        detail=f"imported {count} {name} rows from {path.name}",
        actor=actor,
    )
    return CatalogImported(kind=name, rows=count, row_noun=noun)
