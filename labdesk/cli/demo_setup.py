"""Preparing the embedded demo: a seeded SQLite file and a virtual label printer."""

from __future__ import annotations

from pathlib import Path

from labdesk.bootstrap import bootstrap
from labdesk.config import Config, default_data_dir, sqlite_url
from labdesk.seed.commands import SeedDemo
from labdesk.seed.demo import DEMO_STATION

DEMO_PATIENTS = 60


def demo_config(data_dir: Path | None = None) -> Config:
    """Configuration of the demo: its own database and a ``file://`` virtual printer."""
    root = (data_dir or default_data_dir()) / "demo"
    printer_dir = root / "printer"
    return Config(
        database_url=sqlite_url(root / "labdesk-demo.sqlite3"),
        data_dir=root,
        station_code=DEMO_STATION,
        label_printer_uri=printer_dir.as_uri(),
        document_printer_uri=f"pdf://{(root / 'documents').as_posix()}",
        demo=True,
    )


def prepare_demo(config: Config, *, seed: int = 1) -> bool:
    """Create and seed the demo database unless it exists.

    Returns:
        True when a new demo database was created.
    """
    database = Path(config.database_url.removeprefix("sqlite:///"))
    if database.exists() and database.stat().st_size > 0:
        return False
    # A zero-length demo file (an interrupted first start): demo data is disposable, so
    # start it again rather than refuse it as a clinic database would be refused.
    database.unlink(missing_ok=True)
    core = bootstrap(config)
    try:
        core.bus.handle(SeedDemo(patients=DEMO_PATIENTS, seed=seed))
    finally:
        core.close()
    return True
