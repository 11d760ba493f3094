"""``labdesk seed-demo``: synthetic patients and orders in every state."""

from __future__ import annotations

import click

from labdesk.cli.common import open_core
from labdesk.seed.commands import SeedDemo
from labdesk.seed.demo import DEMO_PASSWORD, DEMO_USERS


@click.command("seed-demo")
@click.option("--patients", default=40, show_default=True, type=click.IntRange(1, 100000))
@click.option("--seed", default=1, show_default=True, help="Same seed, same data.")
def seed_demo(patients: int, seed: int) -> None:
    """Fill the database with synthetic (never real) patients and orders."""
    core = open_core()
    try:
        with click.progressbar(length=patients, label="Seeding") as bar:
            command = SeedDemo(
                patients=patients,
                seed=seed,
                progress=lambda done, _total: bar.update(done - bar.pos),
            )
            summary = core.bus.handle(command)
    finally:
        core.close()
    states = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in summary.by_state.items())
    click.echo(
        f"Created {summary.patients} patients, {summary.orders} orders and "
        f"{summary.specimens} specimens ({states})."
    )
    users = ", ".join(name for name, _, _ in DEMO_USERS)
    click.echo(f"Demo users: {users} (password '{DEMO_PASSWORD}').")
