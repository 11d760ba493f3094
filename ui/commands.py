"""``labdesk app`` and ``labdesk demo``: commands contributed to the CLI by the UI package."""

from __future__ import annotations

import sys

import click

from labdesk.config import load_config


@click.command()
@click.option("--exit-after-shown", is_flag=True, hidden=True, help="For the start-up benchmark.")
def app(exit_after_shown: bool) -> None:
    """Open the LabDesk app on the configured database."""
    from ui.app import run_app  # Qt loads only when the app really starts

    sys.exit(run_app(load_config(), exit_after_shown=exit_after_shown))


@click.command()
@click.option("--reset", is_flag=True, help="Throw the demo database away and seed it again.")
@click.option("--exit-after-shown", is_flag=True, hidden=True, help="For start-up checks.")
def demo(reset: bool, exit_after_shown: bool) -> None:
    """Open the app on a seeded demo database with a virtual label printer."""
    from labdesk.cli.demo_setup import demo_config, prepare_demo
    from labdesk.config import anchor_path
    from ui.app import run_app

    config = demo_config()
    if reset:
        db_file = config.data_dir / "labdesk-demo.sqlite3"
        for suffix in ("", "-wal", "-shm"):
            db_file.with_name(db_file.name + suffix).unlink(missing_ok=True)
        # The old demo's chain heads: kept, they would flag the new demo as truncated.
        anchor_path(config).unlink(missing_ok=True)
    if prepare_demo(config):
        click.echo(f"Created the demo database in {config.data_dir}.")
    click.echo("Sign in as ma, courier, lab, doctor or admin; password 'labdesk-demo'.")
    click.echo(f"Printed labels appear in {config.label_printer_uri}.")
    sys.exit(run_app(config, exit_after_shown=exit_after_shown))
