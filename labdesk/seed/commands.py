"""Seeding command: filling a database with the synthetic demo clinic in one transaction."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from labdesk.kernel.messagebus import Command, HandlerContext, handler
from labdesk.seed.demo import DemoSummary, seed_demo


@dataclass(frozen=True, kw_only=True)
class SeedDemo(Command[DemoSummary]):
    """Create ``patients`` synthetic patients with orders in every state (same seed, same data).

    Sent without a signed-in user (``labdesk seed-demo``, the embedded demo's first start);
    ``progress(done, total)`` is called after each patient (a progress bar).
    """

    patients: int = 40
    seed: int = 1
    progress: Callable[[int, int], None] | None = None


@handler(SeedDemo)
def _seed_demo(command: SeedDemo, ctx: HandlerContext) -> DemoSummary:
    return seed_demo(
        ctx.uow, ctx.clock, patients=command.patients, seed=command.seed, progress=command.progress
    )
