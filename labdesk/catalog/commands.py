"""Catalog commands: importing a lab's compendium, loading the shipped one."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from labdesk.catalog.compendium import ensure_shipped_catalog, import_compendium_file
from labdesk.catalog.kinds import CatalogImported
from labdesk.kernel.messagebus import Command, HandlerContext, handler


@dataclass(frozen=True, kw_only=True)
class ImportCatalog(Command[CatalogImported]):
    """Validate a lab's compendium CSV and upsert all of it, or none of it (audited).

    Returns the kind of file and the number of its rows imported. Sent without a signed-in
    user by ``labdesk catalog import`` (an operator with the OS rights to the database).
    """

    path: Path


@handler(ImportCatalog)
def _import_catalog(command: ImportCatalog, ctx: HandlerContext) -> CatalogImported:
    return import_compendium_file(ctx.uow, ctx.clock, ctx.actor, command.path)


@dataclass(frozen=True, kw_only=True)
class LoadShippedCatalog(Command[bool]):
    """Load the shipped containers and tests into an empty catalog (``labdesk db upgrade``).

    Returns True when the catalog was loaded, False when one was already there.
    """


@handler(LoadShippedCatalog)
def _load_shipped_catalog(_command: LoadShippedCatalog, ctx: HandlerContext) -> bool:
    return ensure_shipped_catalog(ctx.uow)
