"""Issuing accession IDs."""

from __future__ import annotations

from labdesk.domain.accession import MAX_SERIAL, make_accession
from labdesk.domain.clock import Clock
from labdesk.domain.errors import LabdeskError
from labdesk.ports import UnitOfWork


def issue_accession(uow: UnitOfWork, clock: Clock) -> str:
    """Take the next accession ID inside the caller's transaction.

    The serial comes from the year's clinic-wide counter, so IDs are unique across every
    station sharing the database; the caller's commit makes it permanent.

    Raises:
        LabdeskError: if the year's seven-digit serial range is exhausted.
    """
    year = clock.now().year
    serial = uow.counters.next_value(f"accession-{year}")
    if serial > MAX_SERIAL:
        raise LabdeskError(
            f"All {MAX_SERIAL} accession IDs for {year} are used.",
            hint="Contact support to widen the accession format.",
        )
    return make_accession(year, serial)
