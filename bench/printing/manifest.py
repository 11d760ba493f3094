"""``manifest-pdf-500`` for ``labdesk bench`` (listed in :mod:`bench.scenarios`).

It runs in the bench process, like :mod:`bench.printing.labels`: a subprocess would have
timed Python and reportlab start-up instead of the work.

Setup builds a private synthetic database, walks 500 specimens to verified and scans them
onto one courier manifest through the real pickup service, then closes the pickup.
Run: build the manifest document from the database (one unit of work) and write its PDF
to a ``pdf://`` document printer. Floor: reportlab drawing the same number of strings and
bars at fixed places into the same file, with no database and no layout.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from reportlab.lib.pagesizes import letter
from reportlab.pdfgen.canvas import Canvas

from bench.core.custody_scan import bench_courier, verified_specimens
from bench.data.datagen import build_database
from bench.data.rows import SITE_ID
from bench.harness.errors import BenchError
from bench.harness.model import Context, Database, Scenario
from bench.harness.runner import open_database
from labdesk.config import sqlite_url
from labdesk.custody.manifest_print import manifest_document
from labdesk.custody.pickup import scan_for_pickup, start_pickup
from labdesk.domain.clock import FixedClock
from labdesk.domain.manifest import ManifestStatus
from labdesk.kernel.dto import SignedInUser
from printers.code128 import bar_runs, code128_modules
from printers.manifest_pdf import PdfManifestPrinter

MANIFEST_SPECIMENS = 500
MANIFEST_TARGET_MS = 1000.0


@dataclass
class ManifestState:
    """A finished 500-specimen manifest and where its PDF goes."""

    db: Database
    clock: FixedClock
    courier: SignedInUser
    number: str
    target: Path
    accessions: list[str]


def _setup(ctx: Context, count: int) -> ManifestState:
    info = build_database(sqlite_url(ctx.workdir / "manifest-bench.sqlite3"), specimens=200)
    db = open_database(info)
    clock = FixedClock(datetime(2026, 6, 1, 9, 30, tzinfo=UTC))
    courier = bench_courier(db)
    accessions = verified_specimens(db, clock, count)
    with db.uow() as uow:
        site = uow.people.site(SITE_ID)
        if site is None:
            raise BenchError("The benchmark database has no site.")
        number = start_pickup(uow, clock, courier, site.code, station_code="BENCH-1").number
    for accession in accessions:
        with db.uow() as uow:
            scan_for_pickup(uow, clock, courier, number, accession)
    with db.uow() as uow:
        manifest = uow.manifests.by_number(number)
        assert manifest is not None
        manifest.status = ManifestStatus.IN_TRANSIT
        manifest.finished_at = clock.now()
        uow.commit()
    return ManifestState(db, clock, courier, number, ctx.workdir / "manifest.pdf", accessions)


def _run(state: ManifestState, _i: int) -> object:
    with state.db.uow() as uow:
        document = manifest_document(uow, state.clock, state.courier, state.number)
    if len(document.lines) != len(state.accessions):
        raise BenchError(f"The manifest lists {len(document.lines)} specimens.")
    return PdfManifestPrinter(f"pdf://{state.target.as_posix()}").print_manifest(document)


def _floor(state: ManifestState, _i: int) -> object:
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=letter, invariant=True, pageCompression=1)
    for start, width in bar_runs(code128_modules(state.number)):
        canvas.rect(400 + start, 700, width, 40, 0, 1)
    for index, accession in enumerate(state.accessions):
        if index and index % 48 == 0:
            canvas.showPage()
        y = 700 - 13 * (index % 48)
        for x, text in (
            (40, str(index + 1)),
            (70, accession),
            (160, "LAV"),
            (240, "refrigerated"),
            (340, "BENCH"),
            (410, ""),
        ):
            canvas.drawString(x, y, text)
    canvas.save()
    state.target.write_bytes(buffer.getvalue())
    return state.target


def _teardown(state: ManifestState) -> None:
    state.db.raw.close()
    state.db.engine.dispose()


def manifest_scenario(count: int = MANIFEST_SPECIMENS) -> Scenario[ManifestState]:
    """The scenario for a manifest of ``count`` specimens (tests use a small one)."""
    return Scenario(
        name=f"manifest-pdf-{count}",
        title=f"Build a {count}-specimen courier manifest and write its PDF",
        setup=lambda ctx: _setup(ctx, count),
        run_once=_run,
        floor=_floor,
        target_p95_ms=MANIFEST_TARGET_MS,
        per_size=False,
        teardown=_teardown,
    )


def scenarios() -> list[Scenario[Any]]:
    """The custody printing scenario."""
    return [manifest_scenario()]
