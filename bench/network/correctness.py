"""The four correctness counts a network-load run must end with at 0, by SQL over the database.

- **duplicate accessions**: accession IDs carried by more than one specimen;
- **double pickups**: specimens with more than one ``picked_up`` custody event (the run never
  sends a tube back to a clinic, so a second pickup is a pickup recorded twice);
- **print jobs sent twice**: specimens with more than one original label job (not a
  reprint) that went to the printer (``sent`` or ``done``), plus jobs the printer sink took
  twice byte for byte (counted by the sink, added by the caller);
- **results stored twice**: the same ordered test, observation and message (MSH-10) stored
  as more than one result row.

Counted over the whole database, so a crafted anomaly anywhere shows.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, text

DUPLICATE_ACCESSIONS = text(
    "SELECT count(*) FROM (SELECT accession FROM specimens GROUP BY accession"
    " HAVING count(*) > 1) d"
)
DOUBLE_PICKUPS = text(
    "SELECT count(*) FROM (SELECT specimen_id FROM custody_events WHERE kind = 'picked_up'"
    " GROUP BY specimen_id HAVING count(*) > 1) d"
)
JOBS_SENT_TWICE = text(
    "SELECT count(*) FROM (SELECT specimen_id FROM print_jobs WHERE kind = 'label'"
    " AND reprint_of_id IS NULL AND specimen_id IS NOT NULL AND status IN ('sent', 'done')"
    " GROUP BY specimen_id HAVING count(*) > 1) d"
)
RESULTS_STORED_TWICE = text(
    "SELECT count(*) FROM (SELECT ordered_test_id, observation_code, message_id FROM results"
    " WHERE message_id <> '' GROUP BY ordered_test_id, observation_code, message_id"
    " HAVING count(*) > 1) d"
)


@dataclass(frozen=True)
class Counts:
    """The four counts (all 0 for a correct run)."""

    duplicate_accessions: int
    double_pickups: int
    jobs_sent_twice: int
    results_stored_twice: int

    @property
    def clean(self) -> bool:
        """True when every count is 0."""
        return not any(
            (
                self.duplicate_accessions,
                self.double_pickups,
                self.jobs_sent_twice,
                self.results_stored_twice,
            )
        )


def count(engine: Engine, *, printer_duplicates: int = 0) -> Counts:
    """The counts over the database behind ``engine`` (plus the sink's duplicate jobs)."""
    with engine.connect() as conn:
        return Counts(
            duplicate_accessions=int(conn.scalar(DUPLICATE_ACCESSIONS) or 0),
            double_pickups=int(conn.scalar(DOUBLE_PICKUPS) or 0),
            jobs_sent_twice=int(conn.scalar(JOBS_SENT_TWICE) or 0) + printer_duplicates,
            results_stored_twice=int(conn.scalar(RESULTS_STORED_TWICE) or 0),
        )
