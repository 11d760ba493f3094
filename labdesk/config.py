"""Domain configuration: a frozen dataclass loaded from TOML and the environment (no Qt).

Precedence, highest first: environment variables (``LABDESK_DATABASE_URL``,
``LABDESK_DATA_DIR``, ``LABDESK_CONFIG``, ``LABDESK_STATION``, ``LABDESK_LABEL_PRINTER``),
then the config file, then defaults. The default database is a SQLite file in the user's
data directory, so LabDesk runs with zero set-up.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path

from platformdirs import user_config_dir, user_data_dir

from labdesk.domain.errors import LabdeskError

APP_NAME = "labdesk"


class ConfigError(LabdeskError):
    """The configuration file cannot be read or holds a bad value."""


@dataclass(frozen=True)
class Config:
    """Everything the core needs to run at one workstation."""

    database_url: str
    data_dir: Path
    clinic_timezone: str = "America/New_York"
    station_code: str = "STATION-1"
    label_printer_uri: str = ""
    document_printer_uri: str = ""
    auto_lock_minutes: int = 5
    demo: bool = False
    extra: dict[str, str] = field(default_factory=dict)

    def with_overrides(self, **changes: object) -> Config:
        """Return a copy with some fields changed."""
        return replace(self, **changes)  # type: ignore[arg-type]


def default_data_dir() -> Path:
    """Directory for the default SQLite file, the virtual printer and logs."""
    env = os.environ.get("LABDESK_DATA_DIR")
    return Path(env) if env else Path(user_data_dir(APP_NAME, appauthor=False))


def sqlite_url(path: Path) -> str:
    """SQLAlchemy URL of a SQLite file."""
    return f"sqlite:///{path}"


def config_path() -> Path:
    """Where the TOML config file lives (``LABDESK_CONFIG`` overrides)."""
    env = os.environ.get("LABDESK_CONFIG")
    return Path(env) if env else Path(user_config_dir(APP_NAME, appauthor=False)) / "config.toml"


_KEYS = {
    "database_url": str,
    "clinic_timezone": str,
    "station_code": str,
    "label_printer_uri": str,
    "document_printer_uri": str,
    "auto_lock_minutes": int,
}


def load_config(path: Path | None = None) -> Config:
    """Load the configuration.

    Raises:
        ConfigError: if the file exists but is not valid TOML or has a wrongly typed value.
    """
    data_dir = default_data_dir()
    values: dict[str, object] = {}
    file = path or config_path()
    if file.exists():
        try:
            raw = tomllib.loads(file.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, OSError, UnicodeDecodeError) as exc:
            raise ConfigError(
                f"Cannot read the config file {file}: {exc}.",
                hint="Fix the file (it is TOML) or move it away to use the defaults.",
            ) from exc
        section = raw.get("labdesk", raw)
        for key, kind in _KEYS.items():
            if key in section:
                if not isinstance(section[key], kind):
                    raise ConfigError(
                        f"'{key}' in {file} must be a {kind.__name__}.",
                        hint="Correct the value in the config file.",
                    )
                values[key] = section[key]
    env_map = {
        "LABDESK_DATABASE_URL": "database_url",
        "LABDESK_STATION": "station_code",
        "LABDESK_LABEL_PRINTER": "label_printer_uri",
        "LABDESK_DOCUMENT_PRINTER": "document_printer_uri",
        "LABDESK_TIMEZONE": "clinic_timezone",
    }
    for env, key in env_map.items():
        if os.environ.get(env):
            values[key] = os.environ[env]
    url = str(values.pop("database_url", "") or sqlite_url(data_dir / "labdesk.sqlite3"))
    return Config(database_url=url, data_dir=data_dir, **values)  # type: ignore[arg-type]
