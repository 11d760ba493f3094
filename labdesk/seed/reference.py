"""Reference data of the synthetic clinics: sites, stations, routes, staff, catalog choices.

Plain declarations, stored by :class:`labdesk.seed.builder.ClinicBuilder` (``reference``,
``staff``): the demo clinic, the benchmark databases' clinic and the printers bench's
chair are defined here once, with the order vocabulary (providers, panels, numbering) the
demo and the bulk benchmark rows share.
"""

from __future__ import annotations

from dataclasses import dataclass

from labdesk.domain.catalog import ContainerType, SpecimenCategory, TemperatureClass
from labdesk.domain.catalog import TestDefinition as CatalogTest
from labdesk.domain.people import Role

DEFAULT_TIMEZONE = "America/New_York"


@dataclass(frozen=True)
class SiteSpec:
    """A clinic or lab to create (by code: an existing one is kept)."""

    code: str
    name: str
    timezone: str = DEFAULT_TIMEZONE
    is_lab: bool = False


@dataclass(frozen=True)
class StationSpec:
    """A workstation at a site, with its printers."""

    code: str
    name: str
    site: str
    """The site's code."""
    label_printer_uri: str = ""
    document_printer_uri: str = ""


@dataclass(frozen=True)
class RouteSpec:
    """A courier route between two sites (by code)."""

    code: str
    from_site: str
    to_site: str
    transit_minutes: int
    name: str = ""
    """Shown name; empty for "<from site name> to <to site name>"."""


@dataclass(frozen=True)
class StaffSpec:
    """A user to create: user name, shown name, role."""

    username: str
    display_name: str
    role: Role
    initials: str = ""


@dataclass(frozen=True)
class ClinicSpec:
    """The reference data of one synthetic clinic."""

    sites: tuple[SiteSpec, ...]
    stations: tuple[StationSpec, ...] = ()
    routes: tuple[RouteSpec, ...] = ()
    staff: tuple[StaffSpec, ...] = ()


# ---------------------------------------------------------------- the demo clinic

DEMO_CLINIC = ClinicSpec(
    sites=(
        SiteSpec("CLINIC", "Riverside Family Clinic"),
        SiteSpec("LAB", "Central Reference Lab", is_lab=True),
    ),
    stations=(StationSpec("STATION-1", "Phlebotomy chair 1", "CLINIC"),),
    routes=(RouteSpec("CLINIC-LAB", "CLINIC", "LAB", 90),),
    staff=(
        StaffSpec("ma", "Maria Alvarez", Role.MEDICAL_ASSISTANT),
        StaffSpec("courier", "Chris Okafor", Role.COURIER),
        StaffSpec("lab", "Lena Brandt", Role.LAB_RECEIVER),
        StaffSpec("doctor", "Dr. Sam Patel", Role.CLINICIAN),
        StaffSpec("admin", "Alex Admin", Role.ADMIN),
    ),
)
DEMO_PROVIDER = "Dr. Sam Patel"
"""The ordering provider of the demo's orders (the demo's clinician)."""

PANELS = (
    ("CBC", "CMP"),
    ("CBC", "BMP", "LIPID", "A1C"),
    ("TSH", "FT4"),
    ("PTINR",),
    ("UA", "UACUL"),
    ("CBC", "PTINR", "CMP", "TSH"),
    ("LIPID", "A1C"),
    ("UDS",),
    ("GLUF", "A1C"),
)
"""Shipped-catalog tests ordered together at a typical outpatient visit."""
STAT_SHARE = 0.15
"""Share of the demo's orders placed STAT."""

# ---------------------------------------------------------------- the benchmark clinics

BENCH_CLINIC = ClinicSpec(
    sites=(
        SiteSpec("BENCH", "Bench clinic"),
        SiteSpec("BENCHLAB", "Bench lab", is_lab=True),
    ),
    stations=(StationSpec("BENCH-1", "Bench station", "BENCH"),),
    staff=(StaffSpec("bench", "Bench User", Role.MEDICAL_ASSISTANT, "BU"),),
)
"""The clinic of the bulk benchmark databases (its first site and user get id 1)."""
BULK_PROVIDER = "Dr Bench Provider"
"""The ordering provider of bulk-generated orders (an interface feed: no user id)."""
BULK_STAT_SHARE = 0.05
"""Share of bulk-generated orders placed STAT."""

PRINT_BENCH_CLINIC = ClinicSpec(
    sites=(SiteSpec("BENCH-P", "Bench print clinic"),),
    stations=(StationSpec("BENCH-PRINT", "Bench chair", "BENCH-P"),),
    staff=(StaffSpec("bench-ma", "Bench MA", Role.MEDICAL_ASSISTANT, "BM"),),
)
"""The chair the printers bench prints a whole order at."""
PRINT_BENCH_CONTAINERS = ("BCX", "LBLU", "SST", "PST", "LAV", "GRAY")
"""One tube of each of six shipped containers: a large order's labels."""


def bulk_placer_number(serial: int) -> str:
    """Placer order number of bulk-generated order ``serial`` (``PO00000042``)."""
    return f"PO{serial:08d}"


def bulk_requisition(serial: int) -> str:
    """Requisition number of bulk-generated order ``serial`` (``RQ00000042``)."""
    return f"RQ{serial:08d}"


def minimal_catalog() -> tuple[list[ContainerType], list[CatalogTest]]:
    """Two containers and two tests: the catalog when the shipped one cannot be read."""
    containers = [
        _tube("LAV", "Lavender", "lavender", draw_rank=50),
        _tube("SST", "Gold SST", "gold", draw_rank=40),
    ]
    tests = [
        _test("CBC", "57021-8", "CBC", "whole blood", "LAV"),
        _test("BMP", "51990-0", "Basic metabolic panel", "serum", "SST"),
    ]
    return containers, tests


def _tube(code: str, name: str, cap: str, *, draw_rank: int) -> ContainerType:
    return ContainerType(
        code=code,
        name=name,
        cap_colour=cap,
        cap_hex="#9B7FD1",
        additive="K2EDTA",
        draw_rank=draw_rank,
        nominal_volume_ml=4.0,
        inversions="8-10",
        category=SpecimenCategory.BLOOD,
    )


def _test(code: str, loinc: str, name: str, specimen_type: str, container: str) -> CatalogTest:
    return CatalogTest(
        code=code,
        loinc=loinc,
        name=name,
        specimen_type=specimen_type,
        container_code=container,
        preferred_volume_ml=3.0,
        minimum_volume_ml=1.0,
        stability_ambient_h=24.0,
        stability_refrigerated_h=None,
        stability_frozen_h=None,
        transport_temperature=TemperatureClass.REFRIGERATED,
        routine_tat_min=1440,
        stat_tat_min=None,
    )
