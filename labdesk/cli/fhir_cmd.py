"""``labdesk fhir``: FHIR R4 export of a specimen's record."""

from __future__ import annotations

import json
from pathlib import Path

import click

from labdesk.cli.common import open_core
from labdesk.cli.hl7_cmd import PASSWORD_ENV, sign_in
from labdesk.interface.commands import ExportSpecimenFhir


@click.group()
def fhir() -> None:
    """FHIR R4 export."""


@fhir.command()
@click.option("--specimen", "accession", required=True, help="Accession ID of the specimen.")
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path, dir_okay=False),
    required=True,
    help="JSON file to write ('-' for standard output).",
)
@click.option(
    "--user",
    "username",
    required=True,
    help=f"Your user name (password: prompt or ${PASSWORD_ENV}).",
)
def export(accession: str, output: Path, username: str) -> None:
    """Write a Bundle: Specimen, ServiceRequest and Task per test, Provenance per custody step."""
    core = open_core(create=False)
    try:
        actor = sign_in(core, username)
        bundle = core.bus.handle(ExportSpecimenFhir(accession=accession), actor)
    finally:
        core.close()
    text = json.dumps(bundle, indent=2, ensure_ascii=False) + "\n"
    if str(output) == "-":
        click.echo(text, nl=False)
        return
    output.write_text(text, encoding="utf-8")
    click.echo(f"Wrote {len(bundle['entry'])} resources for specimen {accession} to {output}.")
