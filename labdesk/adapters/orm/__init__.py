"""Tables and imperative mappings: the domain classes stay free of SQLAlchemy.

Indexes are sized for a clinic with about a million specimens: every lookup a screen makes
on a scan (accession, MRN, other identifier, name prefix) is a single index probe.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import registry

from labdesk.adapters.types import StrEnumType, UTCDateTime
from labdesk.domain.audit import AuditAction, AuditEntry
from labdesk.domain.catalog import ContainerType, SpecimenCategory, TemperatureClass, TestDefinition
from labdesk.domain.custody import CustodyEvent, CustodyEventKind
from labdesk.domain.order import Order, OrderedTest, OrderSource, OrderStatus, Priority, TestStatus
from labdesk.domain.patient import Patient, PatientIdentifier, Sex
from labdesk.domain.people import Role, Site, Station, User
from labdesk.domain.printing import PrintJob, PrintJobKind, PrintJobStatus
from labdesk.domain.result import AbnormalFlag, AckMeaning, Acknowledgement, Result, ResultStatus
from labdesk.domain.specimen import Specimen, SpecimenStatus

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata = MetaData(naming_convention=NAMING)
mapper_registry = registry(metadata=metadata)


def binary_text(length: int) -> String:
    """A string compared byte-wise on every backend, so prefix range scans are exact.

    PostgreSQL's locale collations ignore punctuation and reorder characters; "C" does not.
    """
    return String(length).with_variant(String(length, collation="C"), "postgresql")


def _pk() -> Column[int]:
    return Column("id", Integer, primary_key=True, autoincrement=True)


counters = Table(
    "counters",
    metadata,
    Column("name", String(32), primary_key=True),
    Column("value", Integer, nullable=False),
)

sites = Table(
    "sites",
    metadata,
    _pk(),
    Column("code", String(16), nullable=False, unique=True),
    Column("name", String(120), nullable=False),
    Column("timezone", String(64), nullable=False),
    Column("is_lab", Boolean, nullable=False, default=False),
)

stations = Table(
    "stations",
    metadata,
    _pk(),
    Column("code", String(32), nullable=False, unique=True),
    Column("name", String(120), nullable=False),
    Column("site_id", ForeignKey("sites.id"), nullable=False, index=True),
    Column("label_printer_uri", String(400), nullable=False, default=""),
    Column("document_printer_uri", String(400), nullable=False, default=""),
)

users = Table(
    "users",
    metadata,
    _pk(),
    Column("username", String(64), nullable=False, unique=True),
    Column("display_name", String(120), nullable=False),
    Column("initials", String(8), nullable=False, default=""),
    Column("role", StrEnumType(Role), nullable=False),
    Column("password_hash", String(200), nullable=False),
    Column("badge_id", String(64), unique=True),
    Column("pin_hash", String(200)),
    Column("active", Boolean, nullable=False, default=True),
    Column("failed_attempts", Integer, nullable=False, default=0),
    Column("locked_until", UTCDateTime()),
    Column("created_at", UTCDateTime(), nullable=False),
    # Sign-in throttling, account expiry and removal: migration 0007 (access control).
    Column("throttled_until", UTCDateTime()),
    Column("expires_at", UTCDateTime()),
    Column("removed_at", UTCDateTime()),
    Column("must_change_password", Boolean, nullable=False, default=False, server_default=false()),
    Column("last_sign_in_at", UTCDateTime()),
)

patients = Table(
    "patients",
    metadata,
    _pk(),
    Column("mrn", binary_text(32), nullable=False, unique=True),
    Column("family_name", String(120), nullable=False),
    Column("given_name", String(120), nullable=False),
    Column("name_key", binary_text(250), nullable=False, index=True),
    Column("birth_date", Date, nullable=False, index=True),
    Column("sex", StrEnumType(Sex, 1), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
)

patient_identifiers = Table(
    "patient_identifiers",
    metadata,
    _pk(),
    Column("patient_id", ForeignKey("patients.id"), nullable=False, index=True),
    Column("system", String(64), nullable=False),
    Column("value", String(64), nullable=False),
    UniqueConstraint("system", "value"),
)

container_types = Table(
    "container_types",
    metadata,
    Column("code", String(16), primary_key=True),
    Column("name", String(120), nullable=False),
    Column("cap_colour", String(40), nullable=False),
    Column("cap_hex", String(9), nullable=False),
    Column("additive", String(120), nullable=False),
    Column("draw_rank", Integer, nullable=False),
    Column("nominal_volume_ml", Float, nullable=False),
    Column("inversions", String(16), nullable=False),
    Column("category", StrEnumType(SpecimenCategory), nullable=False),
)

test_definitions = Table(
    "test_definitions",
    metadata,
    Column("code", String(16), primary_key=True),
    Column("loinc", String(16), nullable=False, index=True),
    Column("name", String(160), nullable=False),
    Column("specimen_type", String(40), nullable=False),
    Column("container_code", ForeignKey("container_types.code"), nullable=False),
    Column("preferred_volume_ml", Float, nullable=False),
    Column("minimum_volume_ml", Float, nullable=False),
    Column("stability_ambient_h", Float),
    Column("stability_refrigerated_h", Float),
    Column("stability_frozen_h", Float),
    Column("transport_temperature", StrEnumType(TemperatureClass), nullable=False),
    Column("routine_tat_min", Integer, nullable=False),
    Column("stat_tat_min", Integer),
    Column("working_days", Boolean, nullable=False, default=False),
    Column("critical_low", Float),
    Column("critical_high", Float),
    Column("units", String(32), nullable=False, default=""),
    Column("handling", String(200), nullable=False, default=""),
    Column("active", Boolean, nullable=False, default=True),
)

orders = Table(
    "orders",
    metadata,
    _pk(),
    Column("placer_order_number", String(40), nullable=False, unique=True),
    Column("requisition", String(40), nullable=False, default=""),
    Column("patient_id", ForeignKey("patients.id"), nullable=False),
    Column("ordering_provider", String(120), nullable=False),
    Column("ordering_provider_id", ForeignKey("users.id")),
    Column("priority", StrEnumType(Priority), nullable=False),
    Column("source", StrEnumType(OrderSource), nullable=False),
    Column("status", StrEnumType(OrderStatus), nullable=False),
    Column("cancel_reason", String(200), nullable=False, default=""),
    Column("ordered_at", UTCDateTime(), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Index(None, "patient_id", "status"),
)

specimens = Table(
    "specimens",
    metadata,
    _pk(),
    Column("accession", String(16), nullable=False, unique=True),
    Column("patient_id", ForeignKey("patients.id"), nullable=False),
    Column("container_code", ForeignKey("container_types.code"), nullable=False),
    Column("site_id", ForeignKey("sites.id"), nullable=False),
    Column("status", StrEnumType(SpecimenStatus), nullable=False),
    Column("temperature_class", StrEnumType(TemperatureClass), nullable=False),
    Column("collected_at", UTCDateTime(), nullable=False),
    Column("collected_by_id", ForeignKey("users.id"), nullable=False),
    Column("volume_ml", Float),
    Column("collection_note", String(400), nullable=False, default=""),
    Column("status_changed_at", UTCDateTime()),
    Column("recollection_of_id", ForeignKey("specimens.id"), index=True),  # 0009
    Column("created_at", UTCDateTime(), nullable=False),
    Index(None, "patient_id", "collected_at"),
    Index(None, "site_id", "status"),
)

ordered_tests = Table(
    "ordered_tests",
    metadata,
    _pk(),
    Column("order_id", ForeignKey("orders.id"), nullable=False, index=True),
    Column("test_code", ForeignKey("test_definitions.code"), nullable=False),
    Column("status", StrEnumType(TestStatus), nullable=False, index=True),
    Column("specimen_id", ForeignKey("specimens.id"), index=True),
    Column("status_changed_at", UTCDateTime(), index=True),  # index: migration 0005 (board)
)

custody_events = Table(
    "custody_events",
    metadata,
    _pk(),
    Column("specimen_id", ForeignKey("specimens.id"), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("kind", StrEnumType(CustodyEventKind), nullable=False),
    Column("actor_id", ForeignKey("users.id"), nullable=False),
    Column("occurred_at", UTCDateTime(), nullable=False),
    Column("recorded_at", UTCDateTime(), nullable=False),
    Column("location", String(120), nullable=False),
    Column("temperature_class", StrEnumType(TemperatureClass)),
    Column("seal_intact", Boolean),
    Column("container_ref", String(64), nullable=False, default=""),
    Column("reason", String(200), nullable=False, default=""),
    Column("note", String(400), nullable=False, default=""),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    Column("chain_prev_hash", String(64), nullable=False),
    Column("chain_hash", String(64), nullable=False, unique=True),
    UniqueConstraint("specimen_id", "seq"),
)

results = Table(
    "results",
    metadata,
    _pk(),
    Column("ordered_test_id", ForeignKey("ordered_tests.id"), index=True),
    Column("specimen_id", ForeignKey("specimens.id"), index=True),
    Column("observation_code", String(32), nullable=False),
    Column("observation_name", String(160), nullable=False),
    Column("value", Text, nullable=False),
    Column("units", String(32), nullable=False, default=""),
    Column("reference_range", String(64), nullable=False, default=""),
    Column("abnormal_flag", StrEnumType(AbnormalFlag, 2)),
    Column("status", StrEnumType(ResultStatus, 1), nullable=False),
    Column("observed_at", UTCDateTime()),
    Column("received_at", UTCDateTime(), nullable=False),
    Column("supersedes_id", ForeignKey("results.id")),
    Column("message_id", String(64), nullable=False, default=""),
)

acknowledgements = Table(
    "acknowledgements",
    metadata,
    _pk(),
    Column("ordered_test_id", ForeignKey("ordered_tests.id"), nullable=False, index=True),
    Column("user_id", ForeignKey("users.id"), nullable=False),
    Column("meaning", StrEnumType(AckMeaning), nullable=False),
    Column("note", String(400), nullable=False, default=""),
    Column("acknowledged_at", UTCDateTime(), nullable=False),
)

audit_entries = Table(
    "audit_entries",
    metadata,
    _pk(),
    Column("at", UTCDateTime(), nullable=False, index=True),
    Column("user_id", ForeignKey("users.id"), index=True),
    Column("station", String(32), nullable=False, default=""),
    Column("action", StrEnumType(AuditAction), nullable=False),
    Column("entity", String(32), nullable=False),
    Column("entity_id", String(64), nullable=False),
    Column("outcome", String(32), nullable=False),
    Column("detail", String(400), nullable=False, default=""),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False, unique=True),
    Column("flagged", Boolean, nullable=False, default=False, server_default=false()),  # 0007
    Index(None, "entity", "entity_id"),  # "who saw this record": migration 0007
)

print_jobs = Table(
    "print_jobs",
    metadata,
    _pk(),
    Column("kind", StrEnumType(PrintJobKind), nullable=False),
    Column("printer_uri", String(400), nullable=False),
    Column("station_code", String(32), nullable=False),
    Column("specimen_id", ForeignKey("specimens.id"), index=True),
    Column("status", StrEnumType(PrintJobStatus), nullable=False),
    Column("content_json", Text, nullable=False, default=""),
    Column("payload", LargeBinary, nullable=False),
    Column("preview_png", LargeBinary),  # migration 0002
    Column("attempts", Integer, nullable=False, default=0),
    Column("last_error", String(400), nullable=False, default=""),
    Column("next_attempt_at", UTCDateTime()),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("sent_at", UTCDateTime()),
    Column("reprint_of_id", ForeignKey("print_jobs.id")),
    Column("reprint_reason", String(200), nullable=False, default=""),
    Column("requested_by_id", ForeignKey("users.id")),
    Index(None, "status", "next_attempt_at"),
    CheckConstraint("attempts >= 0", name="attempts_non_negative"),
)

_MAPPINGS: tuple[tuple[type, Table], ...] = (
    (Site, sites),
    (Station, stations),
    (User, users),
    (Patient, patients),
    (PatientIdentifier, patient_identifiers),
    (ContainerType, container_types),
    (TestDefinition, test_definitions),
    (Order, orders),
    (OrderedTest, ordered_tests),
    (Specimen, specimens),
    (CustodyEvent, custody_events),
    (Result, results),
    (Acknowledgement, acknowledgements),
    (AuditEntry, audit_entries),
    (PrintJob, print_jobs),
)


def start_mappers() -> None:
    """Map the domain classes onto their tables (idempotent)."""
    if mapper_registry.mappers:
        return
    for cls, table in _MAPPINGS:
        mapper_registry.map_imperatively(cls, table)
    from labdesk.adapters.orm.station import start_station_mappers  # here: it imports orm

    start_station_mappers()
    _orm_overdue.map_overdue()
    _orm_hl7.map_hl7()
    _orm_custody.start_custody_mappers()


# Registers the overdue tables on ``metadata`` at import (the migration tests compare it).
from labdesk.adapters.orm import board as _orm_board  # noqa: E402, F401
from labdesk.adapters.orm import changes as _orm_changes  # noqa: E402, F401
from labdesk.adapters.orm import commands as _orm_commands  # noqa: E402, F401
from labdesk.adapters.orm import custody as _orm_custody  # noqa: E402
from labdesk.adapters.orm import downtime as _orm_downtime  # noqa: E402, F401
from labdesk.adapters.orm import hl7 as _orm_hl7  # noqa: E402
from labdesk.adapters.orm import overdue as _orm_overdue  # noqa: E402
from labdesk.adapters.orm import replica as _orm_replica  # noqa: E402, F401
