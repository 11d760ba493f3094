"""A table held by another session gives the app's screens a clear error in time, not a hang."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import Engine

from labdesk.adapters.database import make_engine
from labdesk.adapters.unit_of_work import UnitOfWorkFactory
from labdesk.domain.errors import StorageError

pytestmark = pytest.mark.postgres


def test_a_locked_table_times_out_with_a_message(pg_engine: Engine) -> None:
    url = pg_engine.url.render_as_string(hide_password=False)
    interactive = make_engine(url, timeout_ms=300)
    try:
        with pg_engine.connect() as holder:
            holder.exec_driver_sql("LOCK TABLE patients IN ACCESS EXCLUSIVE MODE")
            started = time.monotonic()
            with pytest.raises(StorageError) as caught, UnitOfWorkFactory(interactive)() as uow:
                uow.patients.by_mrn("00123456")
            waited = time.monotonic() - started
            holder.rollback()
        assert waited < 5, f"the screen waited {waited:.1f} s"
        assert "took too long to answer" in caught.value.message
        assert "Nothing was changed" in caught.value.hint
        with UnitOfWorkFactory(interactive)() as uow:  # the lock is gone: it works again
            assert uow.patients.by_mrn("00123456") is None
    finally:
        interactive.dispose()


@pytest.mark.parametrize(("timeout_ms", "shown"), [(0, "0"), (1500, "1500ms")])
def test_the_limit_is_set_on_every_connection_or_none(
    pg_engine: Engine, timeout_ms: int, shown: str
) -> None:
    engine = make_engine(pg_engine.url.render_as_string(hide_password=False), timeout_ms=timeout_ms)
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("SHOW statement_timeout").scalar_one() == shown
            assert conn.exec_driver_sql("SHOW lock_timeout").scalar_one() == shown
    finally:
        engine.dispose()
