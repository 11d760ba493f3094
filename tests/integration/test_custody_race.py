"""Two workstations scanning one specimen at once; a database that goes away mid-pickup."""

from __future__ import annotations

import multiprocessing
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import pytest
from custody_world import PASSWORD, World
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError

from labdesk.access.credentials import hash_secret
from labdesk.adapters.database import make_engine
from labdesk.adapters.repositories.custody import ManifestRepository
from labdesk.adapters.unit_of_work import UnitOfWorkFactory
from labdesk.custody.pickup import scan_for_pickup, start_pickup
from labdesk.custody.verify import verify_chains
from labdesk.domain.clock import FixedClock
from labdesk.domain.custody import CustodyEventKind as K
from labdesk.domain.errors import StorageError
from labdesk.domain.people import Role, User
from labdesk.domain.scan_rules import ScanCode
from labdesk.domain.specimen import SpecimenStatus as S
from labdesk.kernel.dto import SignedInUser

WORKSTATIONS = 4
ROUNDS = 6
START = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)


def _couriers(world: World, count: int) -> list[tuple[SignedInUser, str]]:
    """``count`` couriers, each with an open manifest at CLINIC."""
    found = []
    with world.uow() as uow:
        for n in range(count):
            user = User(
                username=f"van{n}",
                display_name=f"Van Driver {n}",
                role=Role.COURIER,
                password_hash=hash_secret(PASSWORD),
                created_at=START,
            )
            uow.people.add(user)
            uow.people.flush()
            assert user.id is not None
            found.append(SignedInUser(user.id, user.username, user.display_name, Role.COURIER, ""))
        uow.commit()
    manifests = []
    for courier in found:
        with world.uow() as uow:
            manifests.append((courier, start_pickup(uow, world.clock, courier, "CLINIC").number))
    return manifests


def _scan_rounds(
    uow: UnitOfWorkFactory,
    courier: SignedInUser,
    number: str,
    accessions: list[str],
    wait: Any,
) -> list[tuple[str, str, str]]:
    """Scan each accession after everyone reached the barrier: (accession, code, message)."""
    out = []
    clock = FixedClock(START)
    for accession in accessions:
        wait()
        with uow() as u:
            feedback = scan_for_pickup(u, clock, courier, number, accession)
        out.append((accession, feedback.code.value, feedback.message))
    return out


def _process(args: tuple[str, SignedInUser, str, list[str], Any]) -> list[tuple[str, str, str]]:
    """Runs in a spawned process: its own engine, pool and connections."""
    url, courier, number, accessions, barrier = args
    engine = make_engine(url)
    try:
        return _scan_rounds(
            UnitOfWorkFactory(engine), courier, number, accessions, lambda: barrier.wait(60)
        )
    finally:
        engine.dispose()


def _assert_one_winner(world: World, results: list[list[tuple[str, str, str]]]) -> None:
    by_accession: dict[str, list[tuple[str, str]]] = {}
    for batch in results:
        for accession, code, message in batch:
            by_accession.setdefault(accession, []).append((code, message))
    for accession, outcomes in by_accession.items():
        codes = sorted(code for code, _ in outcomes)
        assert codes.count(ScanCode.ADDED.value) == 1, (accession, outcomes)
        assert codes.count(ScanCode.ALREADY_PICKED_UP.value) == len(outcomes) - 1
        assert world.kinds(accession).count(K.PICKED_UP) == 1
        assert world.status(accession) is S.IN_TRANSIT
        for code, message in outcomes:
            if code == ScanCode.ALREADY_PICKED_UP.value:
                assert "already picked up by Van Driver" in message
    with world.uow() as uow:
        assert verify_chains(uow).ok


def test_processes_racing_on_postgresql_record_one_pickup(pg_engine: Engine, pg_url: str) -> None:
    world = World.build(UnitOfWorkFactory(pg_engine), FixedClock(START))
    accessions = [world.specimen() for _ in range(ROUNDS)]
    couriers = _couriers(world, WORKSTATIONS)
    ctx = multiprocessing.get_context("spawn")
    with ctx.Manager() as manager:
        barrier = manager.Barrier(WORKSTATIONS)
        jobs = [(pg_url, courier, number, accessions, barrier) for courier, number in couriers]
        with ctx.Pool(WORKSTATIONS) as pool:
            results = pool.map_async(_process, jobs).get(timeout=180)
    _assert_one_winner(world, results)


def test_threads_racing_record_one_pickup(uow_factory: UnitOfWorkFactory) -> None:
    world = World.build(uow_factory, FixedClock(START))
    accessions = [world.specimen() for _ in range(ROUNDS)]
    couriers = _couriers(world, WORKSTATIONS)
    barrier = threading.Barrier(WORKSTATIONS)
    with ThreadPoolExecutor(WORKSTATIONS) as pool:
        futures = [
            pool.submit(_scan_rounds, uow_factory, c, n, accessions, lambda: barrier.wait(60))
            for c, n in couriers
        ]
        results = [f.result(timeout=120) for f in futures]
    _assert_one_winner(world, results)


def test_database_gone_mid_pickup_leaves_nothing_and_the_scan_repeats(
    uow_factory: UnitOfWorkFactory,
    clock: FixedClock,
    engine: Engine,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    world = World.build(uow_factory, clock)
    accession = world.specimen()
    courier = world.users["chris"]
    with world.uow() as uow:
        number = start_pickup(uow, clock, courier, "CLINIC").number
    before = world.kinds(accession)
    original = ManifestRepository.add
    calls: list[int] = []

    def add_then_fail(self: ManifestRepository, item: Any) -> None:
        original(self, item)
        calls.append(1)
        if engine.dialect.name == "postgresql":
            pid = self.session.execute(text("SELECT pg_backend_pid()")).scalar_one()
            with engine.connect() as admin:
                admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
                admin.commit()
            self.session.flush()
        raise OperationalError("INSERT", {}, Exception("disk I/O error"))

    monkeypatch.setattr(ManifestRepository, "add", add_then_fail)
    with pytest.raises(StorageError) as info, world.uow() as uow:
        scan_for_pickup(uow, clock, courier, number, accession)
    monkeypatch.undo()

    assert calls == [1]
    assert info.value.message
    assert world.kinds(accession) == before
    assert world.status(accession) is S.VERIFIED
    with world.uow() as uow:
        again = scan_for_pickup(uow, clock, courier, number, accession)
    assert again.code is ScanCode.ADDED
    assert world.kinds(accession).count(K.PICKED_UP) == 1
    with world.uow() as uow:
        assert verify_chains(uow).ok
