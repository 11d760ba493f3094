"""Stability at lab receipt: the warning a tube beyond stability gets, and its result caveat.

The courier page warns at pickup (:mod:`labdesk.custody.feedback`); the lab warns
again when such a tube is scanned in, and the caveat is written into the ``received``
custody event's reason, so it is hash-chained with the receipt and outlives catalog edits.
Results on the tube show it (:func:`stability_caveat`).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from labdesk.domain.custody import CustodyEventKind
from labdesk.domain.scan_rules import describe_duration, stability_deadline, stability_limit
from labdesk.domain.specimen import Specimen
from labdesk.ports import UnitOfWork

CAVEAT_PREFIX = "Received beyond stability"
"""How every receipt caveat starts (what :func:`stability_caveat` looks for)."""


def _hours(delta: timedelta) -> str:
    """``26 h`` on the hour, else ``26 h 10 min``."""
    text = describe_duration(delta)
    return text.removesuffix(" 00 min")


def receipt_caveat(uow: UnitOfWork, specimen: Specimen, now: datetime) -> str:
    """The caveat of a specimen received at ``now`` past its stability ("" when within it).

    The limit is the shortest catalog stability of the specimen's tests at the temperature
    it travelled, as at pickup.
    """
    assert specimen.id is not None
    tests = uow.custody_scan.tests_for([specimen.id]).get(specimen.id, [])
    limit = stability_limit(tests, specimen.temperature_class)
    deadline = stability_deadline(specimen.collected_at, limit)
    if deadline is None or limit.hours is None or now < deadline:
        return ""
    return (
        f"{CAVEAT_PREFIX} (collected {_hours(now - specimen.collected_at)} before receipt, "
        f"limit {limit.hours:g} h for {limit.test_code} {specimen.temperature_class.value})"
    )


def stability_caveat(uow: UnitOfWork, specimen_id: int) -> str | None:
    """The caveat results on this specimen carry, or None when it was received in time.

    Read from the specimen's latest ``received`` custody event (None before receipt).

    Args:
        uow: an entered unit of work.
        specimen_id: the specimen's id.

    Returns:
        Text such as "Received beyond stability (collected 26 h before receipt, limit 24 h
        for K ambient)", or None.
    """
    found = uow.custody_scan.last_event(specimen_id, CustodyEventKind.RECEIVED)
    if found is None or not found[0].reason.startswith(CAVEAT_PREFIX):
        return None
    return found[0].reason


def stability_caveats(uow: UnitOfWork, specimen_ids: Iterable[int]) -> dict[int, str]:
    """:func:`stability_caveat` of several specimens (only those that carry one)."""
    found = {specimen_id: stability_caveat(uow, specimen_id) for specimen_id in specimen_ids}
    return {specimen_id: text for specimen_id, text in found.items() if text}
