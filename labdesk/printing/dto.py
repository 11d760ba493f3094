"""What the printing services take and hand back: settings, ports and frozen rows."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType

from labdesk.config import Config
from labdesk.domain.printing import PrintJob, PrintJobKind, PrintJobStatus
from labdesk.ports import LabelRenderer, PrinterOpener

DEFAULT_PRESET = "2x1-203"


@dataclass(frozen=True)
class LabelSettings:
    """Which label stock to use and how many labels each container gets.

    The first label of a container is its primary label; each extra one is an aliquot
    label with the same accession and an ``ALQ n`` mark (for tubes poured off later).
    """

    preset: str = DEFAULT_PRESET
    copies: int = 1
    copies_by_container: Mapping[str, int] = field(default_factory=dict)

    def copies_for(self, container_code: str) -> int:
        """Labels to print for one container of type ``container_code``."""
        return self.copies_by_container.get(container_code, self.copies)

    @classmethod
    def from_config(cls, config: Config) -> LabelSettings:
        """Read ``label_preset``, ``label_copies`` and ``label_copies_by_container``."""
        return cls(
            preset=config.label_preset,
            copies=config.label_copies,
            copies_by_container=MappingProxyType(dict(config.label_copies_by_container)),
        )


@dataclass(frozen=True)
class PrintSetup:
    """How this workstation prints: its station, the printer ports and label settings.

    ``label_printer_override`` / ``document_printer_override`` come from the config file or
    ``LABDESK_LABEL_PRINTER`` / ``LABDESK_DOCUMENT_PRINTER``; when set they win over the
    station's printers stored in the database.
    """

    station_code: str
    opener: PrinterOpener
    renderer: LabelRenderer
    labels: LabelSettings = LabelSettings()
    label_printer_override: str = ""
    document_printer_override: str = ""
    timezone: str = "America/New_York"
    """The clinic's zone, for times printed on test labels."""

    @classmethod
    def from_config(
        cls, config: Config, opener: PrinterOpener, renderer: LabelRenderer
    ) -> PrintSetup:
        """The setup a front end builds once from its configuration."""
        return cls(
            station_code=config.station_code,
            opener=opener,
            renderer=renderer,
            labels=LabelSettings.from_config(config),
            label_printer_override=config.label_printer_uri.strip(),
            document_printer_override=config.document_printer_uri.strip(),
            timezone=config.clinic_timezone,
        )


@dataclass(frozen=True)
class PrintJobRow:
    """One print job as the queue and the command line show it."""

    id: int
    kind: PrintJobKind
    status: PrintJobStatus
    created_at: datetime
    accession: str | None
    printer_uri: str
    station_code: str
    attempts: int
    last_error: str
    next_attempt_at: datetime | None
    sent_at: datetime | None
    reprint_of_id: int | None
    reprint_reason: str
    preview_png: bytes | None = field(default=None, repr=False, compare=False)

    @property
    def unconfirmed(self) -> bool:
        """True when sending began but its outcome is unknown (never resent automatically)."""
        return self.status is PrintJobStatus.SENT

    @property
    def printed(self) -> bool:
        """True when the printer (or spooler) took the whole job."""
        return self.status is PrintJobStatus.DONE

    @classmethod
    def of(
        cls,
        job: PrintJob,
        accession: str | None,
        *,
        with_preview: bool = False,
    ) -> PrintJobRow:
        """Build from a domain job (inside its unit of work)."""
        assert job.id is not None
        return cls(
            id=job.id,
            kind=job.kind,
            status=job.status,
            created_at=job.created_at,
            accession=accession,
            printer_uri=job.printer_uri,
            station_code=job.station_code,
            attempts=job.attempts,
            last_error=job.last_error,
            next_attempt_at=job.next_attempt_at,
            sent_at=job.sent_at,
            reprint_of_id=job.reprint_of_id,
            reprint_reason=job.reprint_reason,
            preview_png=job.preview_png if with_preview else None,
        )


@dataclass(frozen=True)
class SpoolReport:
    """What one pass of the spooler did."""

    done: tuple[int, ...] = ()
    retrying: tuple[int, ...] = ()
    failed: tuple[int, ...] = ()
    unconfirmed: tuple[int, ...] = ()

    @property
    def handled(self) -> int:
        """Number of jobs this pass claimed."""
        return len(self.done) + len(self.retrying) + len(self.failed) + len(self.unconfirmed)


@dataclass(frozen=True)
class PrinterCheck:
    """A printer's answer to a status query (bad address or silence: not ready)."""

    uri: str
    ready: bool
    summary: str


@dataclass(frozen=True)
class LabelPrinterState:
    """This station's label printer and its queue, for the status bar."""

    printer: PrinterCheck
    queued: int = 0
    unconfirmed: int = 0
    failed: int = 0


@dataclass(frozen=True)
class StationPrinters:
    """A station's stored printers and this workstation's overrides."""

    station_code: str
    station_name: str
    label_printer_uri: str
    document_printer_uri: str
    label_override: str = ""
    document_override: str = ""

    @property
    def effective_label_printer(self) -> str:
        """The label printer this workstation uses."""
        return self.label_override or self.label_printer_uri

    @property
    def effective_document_printer(self) -> str:
        """The document printer this workstation uses."""
        return self.document_override or self.document_printer_uri
