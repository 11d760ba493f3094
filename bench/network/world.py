"""The clinic network the load scenario runs in: chairs, couriers, a lab, clinicians, patients.

Built with the product's own seed builder (:class:`labdesk.seed.builder.ClinicBuilder`) so
every row is what the app would write: one site, station, route, medical assistant, courier
and lab receiver per chair, five clinicians, patients with wristbands and active orders
waiting at each chair, and a pool of specimens already received at the lab for the HL7
bursts to report on (drawn and walked through custody, hash chains and all).

The background volume ("a database of 10 million specimens"): an empty database is loaded
first by the COPY loader (:func:`bench.data.pg_copy.build`: patients, orders, open tests on
the board, custody chains) with at most :data:`CLINIC_SPECIMENS` specimens, the clinic's
recent year (an accession year holds at most 9,999,999 serials, and a board of more than
100k open tests is not a clinic's); a database already holding LabDesk data is used as it
is. What either lacks is added by :func:`add_filler`, the archive of older received work:
bulk ``INSERT ... SELECT generate_series`` rows (patients, and received specimens with no
history and no tests) on the PostgreSQL server itself. Filler accessions start with ``9``
(years 2090-2099, never issued by the run's 2026 counter) and carry no check digit: they
are never scanned, they only make the tables as big as a clinic network's.

Every run adds its own patients (MRNs and wristbands carry a run tag), so a database can be
built once and run against many times; reference data and users are found by code.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import Engine, text

from labdesk.adapters import migrate
from labdesk.adapters.unit_of_work import UnitOfWorkFactory
from labdesk.custody.events import Handoff
from labdesk.domain.clock import Clock
from labdesk.domain.patient import Sex
from labdesk.domain.people import Role
from labdesk.domain.specimen import SpecimenStatus
from labdesk.seed.builder import ClinicBuilder, Passwords
from labdesk.seed.names import SyntheticPerson
from labdesk.seed.reference import DEMO_PROVIDER, RouteSpec, SiteSpec, StaffSpec, StationSpec

LAB_SITE = "NETLAB"
PASSWORD = "network courier phrase"
"""The couriers' shared password, re-entered to finish each pickup (argon2, as at the clinic)."""
PANEL = ("CBC", "CMP")
"""What each chair's patients have on order: a lavender and a gold tube."""
HL7_TEST = "CBC"
FILLER_SITE = "NETFILL"
FILLER_SITE_NAME = "Network archive (filler rows)"
CLINIC_SPECIMENS = 1_000_000
"""The most specimens the COPY loader builds with their orders and board (the rest is filler)."""

_KEYS_SQL = text(
    "SELECT s.accession, p.mrn, d.loinc, d.code, o.placer_order_number FROM ordered_tests t"
    " JOIN specimens s ON s.id = t.specimen_id JOIN patients p ON p.id = s.patient_id"
    " JOIN orders o ON o.id = t.order_id JOIN test_definitions d ON d.code = t.test_code"
    " WHERE s.accession = ANY(:accessions) AND d.loinc <> ''"
)


@dataclass(frozen=True)
class Visit:
    """A patient waiting at a chair: who, and the wristband the MA scans."""

    patient_id: int
    wristband: str


@dataclass(frozen=True)
class Chair:
    """One simulated clinic station and the people working it (user ids, codes)."""

    index: int
    site_code: str
    station_code: str
    route_code: str
    ma_id: int
    courier_id: int
    receiver_id: int
    visits: tuple[Visit, ...]


@dataclass(frozen=True)
class Clinician:
    """A clinician loading and filtering the board."""

    index: int
    user_id: int
    family_names: tuple[str, ...]
    """Patient family names to filter by."""


@dataclass(frozen=True)
class Hl7Key:
    """What an ORU^R01 needs to report on one received specimen's test."""

    accession: str
    mrn: str
    loinc: str
    code: str
    placer: str


@dataclass(frozen=True)
class NetWorld:
    """Everything the processes need to find their part of the network (picklable)."""

    tag: str
    chairs: tuple[Chair, ...]
    clinicians: tuple[Clinician, ...]
    hl7_keys: tuple[Hl7Key, ...]
    specimens: int
    """Specimens in the database after the build."""
    filler_added: int
    """Background specimens this build loaded (COPY loader or filler rows)."""
    filler_seconds: float


def ensure_schema(engine: Engine) -> None:
    """Migrate an empty database; refuse one whose schema is behind (``labdesk db upgrade``)."""
    if migrate.schema_state(engine).current is None:
        migrate.upgrade(engine)
    else:
        migrate.require_current(engine)


def build_world(
    url: str,
    engine: Engine,
    clock: Clock,
    *,
    chairs: int,
    clinicians: int,
    visits_per_chair: int,
    hl7_pool: int,
    specimens: int,
    seed: int,
    progress: Callable[[str], None],
) -> NetWorld:
    """Add this run's network to the database at ``url`` (bulk-loaded first if empty)."""
    started = time.perf_counter()
    loaded = 0
    if migrate.schema_state(engine).current is None and specimens > 0:
        from bench.data import pg_copy

        clinic = min(specimens, CLINIC_SPECIMENS)
        loaded = pg_copy.build(url, clinic, seed=seed, progress=progress).specimens
    ensure_schema(engine)
    load_seconds = time.perf_counter() - started
    uows = UnitOfWorkFactory(engine)
    tag = secrets.token_hex(2).upper()[:3]
    with uows() as uow:
        build = ClinicBuilder(uow, clock)
        build.catalog()
        build.site(SiteSpec(LAB_SITE, "Network reference lab", is_lab=True))
        uow.commit()
    built_chairs = [_chair(uows, clock, i, tag, visits_per_chair) for i in range(1, chairs + 1)]
    progress(f"network-load: {chairs} chairs with {visits_per_chair} patients each")
    built_clinicians = _clinicians(uows, clock, clinicians, built_chairs)
    keys = _hl7_pool(uows, clock, tag, hl7_pool, built_chairs[0] if built_chairs else None)
    progress(f"network-load: {len(keys)} received specimens for the HL7 bursts")
    started = time.perf_counter()
    added = loaded + ensure_specimens(engine, specimens, progress)
    seconds = load_seconds + time.perf_counter() - started
    with engine.connect() as conn:
        total = int(conn.scalar(text("SELECT count(*) FROM specimens")) or 0)
    return NetWorld(
        tag=tag,
        chairs=tuple(built_chairs),
        clinicians=tuple(built_clinicians),
        hl7_keys=keys,
        specimens=total,
        filler_added=added,
        filler_seconds=seconds,
    )


def _chair(uows: UnitOfWorkFactory, clock: Clock, i: int, tag: str, visits: int) -> Chair:
    site, station, route = f"NET{i:02d}", f"NET{i:02d}-1", f"NET{i:02d}-LAB"
    with uows() as uow:
        build = ClinicBuilder(uow, clock)
        build.site(SiteSpec(site, f"Network clinic {i}"))
        build.station(StationSpec(station, f"Network chair {i}", site))
        build.route(RouteSpec(route, site, LAB_SITE, 60))
        ma = build.user(StaffSpec(f"net-ma{i}", f"Net MA {i}", Role.MEDICAL_ASSISTANT, "NM"))
        receiver = build.user(StaffSpec(f"net-lab{i}", f"Net Lab {i}", Role.LAB_RECEIVER, "NL"))
        uow.commit()
    with uows() as uow:
        build = ClinicBuilder(uow, clock)
        couriers = build.staff(
            [StaffSpec(f"net-courier{i}", f"Net Courier {i}", Role.COURIER, "NC")],
            passwords=Passwords.SHARED,
            password=PASSWORD,
        )
        courier = couriers[f"net-courier{i}"]
        waiting: list[Visit] = []
        for n in range(visits):
            serial = i * 1000 + n
            person = SyntheticPerson.named(
                f"N{tag}{serial:05d}",
                _family(serial),
                "Pat",
                clock.now().date() - timedelta(days=365 * 30 + serial % 9000),
                Sex.FEMALE if serial % 2 else Sex.MALE,
            )
            wristband = f"WB-N{tag}{serial:05d}"
            patient = build.patient(person, wristband=wristband)
            assert patient.id is not None
            build.order(
                patient.id,
                PANEL,
                placer=f"NP{tag}{serial:05d}",
                provider=DEMO_PROVIDER,
            )
            waiting.append(Visit(patient.id, wristband))
        uow.commit()
    assert ma.id is not None
    assert courier.id is not None
    assert receiver.id is not None
    return Chair(i, site, station, route, ma.id, courier.id, receiver.id, tuple(waiting))


_FAMILIES = ("Ardent", "Belmar", "Corvin", "Dalby", "Estrel", "Fenwick", "Garrow", "Hollis")


def _family(serial: int) -> str:
    return f"{_FAMILIES[serial % len(_FAMILIES)]}{serial % 97:02d}"


def _clinicians(
    uows: UnitOfWorkFactory, clock: Clock, count: int, chairs: list[Chair]
) -> list[Clinician]:
    names = tuple(sorted({_family(i * 1000 + n) for i in range(1, 4) for n in range(8)}))
    found: list[Clinician] = []
    with uows() as uow:
        build = ClinicBuilder(uow, clock)
        for k in range(1, count + 1):
            user = build.user(StaffSpec(f"net-doc{k}", f"Dr Net {k}", Role.CLINICIAN, "DN"))
            assert user.id is not None
            found.append(Clinician(k, user.id, names))
        uow.commit()
    del chairs
    return found


def _hl7_pool(
    uows: UnitOfWorkFactory, clock: Clock, tag: str, count: int, chair: Chair | None
) -> tuple[Hl7Key, ...]:
    """``count`` specimens drawn at the first chair's site and walked to received."""
    if count <= 0 or chair is None:
        return ()
    at = clock.now() - timedelta(hours=2)
    accessions: list[str] = []
    for start in range(0, count, 100):
        with uows() as uow:
            build = ClinicBuilder(uow, clock)
            site = uow.people.site_by_code(chair.site_code)
            assert site is not None
            assert site.id is not None
            for n in range(start, min(count, start + 100)):
                serial = 900_000 + n
                person = SyntheticPerson.named(
                    f"NH{tag}{serial:07d}", _family(serial), "Res", at.date(), Sex.FEMALE
                )
                patient = build.patient(person)
                assert patient.id is not None
                _, tests = build.order(
                    patient.id, (HL7_TEST,), placer=f"NH{tag}{serial:07d}", provider=DEMO_PROVIDER
                )
                specimen = build.draw(
                    tests,
                    site_id=site.id,
                    collector_id=chair.ma_id,
                    at=at,
                    location=f"{chair.site_code} / {chair.station_code}",
                )
                handoff = Handoff(actor_id=chair.receiver_id, location=LAB_SITE, occurred_at=at)
                build.advance(specimen, SpecimenStatus.RECEIVED, handoff)
                accessions.append(specimen.accession)
            uow.commit()
    with uows() as uow:
        rows = uow.session.execute(_KEYS_SQL, {"accessions": accessions}).all()
    return tuple(Hl7Key(*(str(v) for v in row)) for row in rows)


def ensure_specimens(engine: Engine, wanted: int, progress: Callable[[str], None]) -> int:
    """Bring the database up to ``wanted`` specimens (:func:`add_filler`); how many were added."""
    with engine.connect() as conn:
        have = int(conn.scalar(text("SELECT count(*) FROM specimens")) or 0)
    missing = wanted - have
    if missing <= 0:
        return 0
    progress(f"network-load: adding {missing:,} background specimens (have {have:,})")
    return add_filler(engine, missing, progress)


FILLER_BATCH = 1_000_000


def add_filler(engine: Engine, count: int, progress: Callable[[str], None]) -> int:
    """Insert ``count`` received filler specimens (4 per filler patient) in batches.

    Each batch is one statement on the server: the patients' ``INSERT ... RETURNING`` feeds
    the specimens' insert through a hash join (no index probe per row). Row triggers are
    off for the batch (``session_replication_role = replica``; the bench role is a
    superuser): the rows reference ids the same statement just made or found, the board
    has nothing to recompute for them (no tests), and a million change notifications in
    one transaction would only be noise for a bench database being built.
    """
    with engine.begin() as conn:
        site = conn.scalar(text("SELECT id FROM sites WHERE code = :c"), {"c": FILLER_SITE})
        if site is None:
            site = conn.scalar(
                text(
                    "INSERT INTO sites (code, name, timezone, is_lab) "
                    "VALUES (:c, :n, 'America/New_York', false) RETURNING id"
                ),
                {"c": FILLER_SITE, "n": FILLER_SITE_NAME},
            )
        user = conn.scalar(text("SELECT min(id) FROM users"))
        base = int(
            conn.scalar(
                text(
                    "SELECT coalesce(max(substr(accession, 2)::bigint), 0) FROM specimens "
                    "WHERE accession LIKE '9%' AND length(accession) = 10"
                )
            )
            or 0
        )
    done = 0
    while done < count:
        n = min(FILLER_BATCH, count - done)
        first = base + done + 1
        with engine.begin() as conn:
            conn.execute(text("SET LOCAL session_replication_role = replica"))
            conn.execute(
                text(
                    "WITH p AS (INSERT INTO patients (mrn, family_name, given_name, name_key,"
                    " birth_date, sex, created_at) SELECT 'NF' || lpad(g::text, 9, '0'),"
                    " 'Filler', 'Pat', 'FILLER PAT ' || g, date '1950-01-01' + (g % 20000)::int,"
                    " 'F', now() FROM generate_series(CAST(:a AS bigint), CAST(:b AS bigint)) g"
                    " WHERE g % 4 = 0 OR g = :a RETURNING id, mrn)"
                    " INSERT INTO specimens (accession, patient_id, container_code, site_id,"
                    " status, temperature_class, collected_at, collected_by_id,"
                    " collection_note, created_at)"
                    " SELECT '9' || lpad(g::text, 9, '0'), p.id, 'LAV', :site, 'received',"
                    " 'ambient', now() - interval '30 days', :user, '', now()"
                    " FROM generate_series(CAST(:a AS bigint), CAST(:b AS bigint)) g"
                    " JOIN p ON p.mrn = 'NF' || lpad((CASE WHEN g % 4 = 0 OR g = :a THEN g"
                    " ELSE greatest(:a, g - g % 4) END)::text, 9, '0')"
                ),
                {"a": first, "b": first + n - 1, "site": site, "user": user},
            )
        done += n
        progress(f"network-load: {done:,} of {count:,} background specimens")
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE specimens"))
        conn.execute(text("VACUUM ANALYZE patients"))
    return done
