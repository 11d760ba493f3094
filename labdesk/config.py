"""Domain configuration: a frozen dataclass loaded from TOML and the environment (no Qt).

Precedence, highest first: environment variables (``LABDESK_DATABASE_URL``,
``LABDESK_DATA_DIR``, ``LABDESK_CONFIG``, ``LABDESK_STATION``, ``LABDESK_LABEL_PRINTER``,
``LABDESK_DOCUMENT_PRINTER``, ``LABDESK_TIMEZONE``, ``LABDESK_LABEL_PRESET``), then the config
file, then defaults. Printer URIs set here override the station's printers stored in the
database (Admin page) on this workstation only. The default database is a SQLite file in the
user's data directory, so LabDesk runs with zero set-up.
"""

from __future__ import annotations

import ipaddress
import os
import re
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import parse_qsl, unquote

from platformdirs import user_config_dir, user_data_dir

from labdesk.domain.blood_volume import VolumePolicy, policy_from
from labdesk.domain.dates import DEFAULT_DATE_FORMATS, check_date_formats
from labdesk.domain.errors import LabdeskError
from labdesk.domain.printer_address import InvalidPrinterAddress, parse_printer_address

APP_NAME = "labdesk"

BLOOD_VOLUME_ML_PER_KG = {"neonate": 85.0, "infant": 80.0, "child": 75.0, "adult": 70.0}
"""Estimated total blood volume per kg of weight by age band (``[blood_volume] ml_per_kg``)."""
BLOOD_VOLUME_POLICY = policy_from(BLOOD_VOLUME_ML_PER_KG, 5.0, 10.0)
"""Default: at most 5 % of the total blood volume in 24 h and 10 % in 30 days."""


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
    label_preset: str = "2x1-203"
    label_copies: int = 1
    label_copies_by_container: dict[str, int] = field(default_factory=dict)
    """Labels per container code when not ``label_copies``; extras are aliquot labels."""
    auto_lock_minutes: int = 5
    database_password_file: str = ""
    """A private file holding the database password, so no config holds it in clear."""
    scanner_prefix: str = ""
    """Characters a keyboard-wedge scanner sends before each barcode (stripped)."""
    scanner_suffix: str = ""
    """Characters it sends after the barcode, before Enter/Tab (stripped)."""
    scanner_max_key_interval_ms: int = 30
    """Keys closer together than this (and ended by Enter/Tab) are a scan, not typing."""
    scanner_min_length: int = 4
    date_formats: tuple[str, ...] = DEFAULT_DATE_FORMATS
    """How staff may type a date of birth (``strptime`` codes), preferred first.

    The default is US month-first; a day-first clinic sets e.g. ``["%d/%m/%Y", "%Y-%m-%d"]``.
    """
    hl7_port: int = 2575
    """TCP port ``labdesk hl7 serve`` listens on for the EHR and the lab."""
    hl7_host: str = "127.0.0.1"
    """Address ``labdesk hl7 serve`` binds: this computer only unless set (see README)."""
    hl7_allowed_peers: tuple[str, ...] = ()
    """Addresses or networks that may connect to the listener (empty: loopback only);
    required when ``hl7_host`` is reachable from other computers."""
    hl7_max_frame_bytes: int = 1024 * 1024
    """Largest MLLP frame or file chunk taken; larger ones get AR and are not stored."""
    hl7_max_segments: int = 2000
    """Most segments in one frame (batch included); more get AR before parsing."""
    hl7_lab_address: str = ""
    """``host:port`` of the lab's HL7 interface (outbound collection messages)."""
    hl7_outbound_message: str = "OML^O21"
    """Collection message for the lab: ``OML^O21`` (with SPM) or ``ORM^O01``."""
    chain_anchor_file: str = ""
    """Where chain heads are anchored outside the database (empty: the data directory's
    ``chain-anchors.jsonl``; best on another machine's share or a write-once store)."""
    chain_anchor_every: int = 1
    """Write an anchor once this many events were appended since the last (and hourly)."""
    app_role: str = "labdesk_app"
    """PostgreSQL role the workstations connect as (``labdesk db upgrade`` grants it rights)."""
    interactive_timeout_ms: int = 8000
    """Longest a statement of the app's screens may run or wait on a lock (PostgreSQL;
    0: no limit). A table another station or a maintenance job holds then gives a clear
    "took too long" message instead of a frozen window. Command-line jobs have no limit."""
    accession_block_size: int = 200
    """Accession serials the server reserves for this station at a time, for offline work
    (issue 12); ``labdesk sync run`` reserves another block when fewer than
    ``accession_block_top_up_below`` are left."""
    accession_block_top_up_below: int = 50
    demo: bool = False
    extra: dict[str, str] = field(default_factory=dict)
    overdue: dict[str, object] = field(default_factory=dict)
    """The raw ``[overdue]`` table, parsed by its owner
    (:func:`labdesk.results.overdue_settings.overdue_settings`), so the file is read once."""
    blood_volume: VolumePolicy = BLOOD_VOLUME_POLICY
    """Blood-volume limits at the chair (``[blood_volume]``: ml_per_kg, limit_24h_percent,
    limit_30d_percent), validated at start-up."""
    config_file: str = ""
    """The file the values came from (named in its owners' error messages); empty if none."""

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
    "label_preset": str,
    "label_copies": int,
    "label_copies_by_container": dict,
    "auto_lock_minutes": int,
    "database_password_file": str,
    "hl7_port": int,
    "hl7_host": str,
    "hl7_allowed_peers": list,
    "hl7_max_frame_bytes": int,
    "hl7_max_segments": int,
    "hl7_lab_address": str,
    "hl7_outbound_message": str,
    "scanner_prefix": str,
    "scanner_suffix": str,
    "scanner_max_key_interval_ms": int,
    "scanner_min_length": int,
    "date_formats": list,
    "chain_anchor_file": str,
    "chain_anchor_every": int,
    "app_role": str,
    "interactive_timeout_ms": int,
    "accession_block_size": int,
    "accession_block_top_up_below": int,
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
        _check_security(values, file)
        _check_date_formats(values, file)
        _check_hl7(values, file)
        values["overdue"] = _section(raw, "overdue", file)
        values["blood_volume"] = _blood_volume(_section(raw, "blood_volume", file), file)
        values["config_file"] = str(file)
    env_map = {
        "LABDESK_DATABASE_URL": "database_url",
        "LABDESK_STATION": "station_code",
        "LABDESK_LABEL_PRINTER": "label_printer_uri",
        "LABDESK_DOCUMENT_PRINTER": "document_printer_uri",
        "LABDESK_TIMEZONE": "clinic_timezone",
        "LABDESK_LABEL_PRESET": "label_preset",
        "LABDESK_DATABASE_PASSWORD_FILE": "database_password_file",
        "LABDESK_CHAIN_ANCHOR_FILE": "chain_anchor_file",
    }
    for env, key in env_map.items():
        if os.environ.get(env):
            values[key] = os.environ[env]
    _check_label_copies(values, file)
    _check_printers(values, file)
    _check_anchoring(values, file)
    url = str(values.pop("database_url", "") or sqlite_url(data_dir / "labdesk.sqlite3"))
    return Config(database_url=url, data_dir=data_dir, **values)  # type: ignore[arg-type]


def _section(raw: dict[str, object], name: str, file: Path) -> dict[str, object]:
    """A table its owner parses (absent: empty); refuse a plain value under its name."""
    table = raw.get(name, {})
    if not isinstance(table, dict):
        raise ConfigError(
            f"'{name}' in {file} must be a table ([{name}]).",
            hint="Correct the value in the config file.",
        )
    return dict(table)


def _blood_volume(table: dict[str, object], file: Path) -> VolumePolicy:
    """The ``[blood_volume]`` policy over the defaults; a bad value refuses to start."""
    per_kg = table.get("ml_per_kg", {})
    day = table.get("limit_24h_percent", BLOOD_VOLUME_POLICY.limit_24h_percent)
    month = table.get("limit_30d_percent", BLOOD_VOLUME_POLICY.limit_30d_percent)
    numbers = [day, month, *(per_kg.values() if isinstance(per_kg, dict) else [])]
    if not isinstance(per_kg, dict) or any(
        isinstance(n, bool) or not isinstance(n, int | float) for n in numbers
    ):
        raise ConfigError(
            f"[blood_volume] in {file} must hold numbers: ml_per_kg = {{ child = 75, ... }}, "
            "limit_24h_percent, limit_30d_percent.",
            hint="Correct the values in the config file, or remove them for the defaults.",
        )
    merged = {**BLOOD_VOLUME_ML_PER_KG, **{str(k): float(v) for k, v in per_kg.items()}}
    try:
        return policy_from(merged, float(day), float(month))  # type: ignore[arg-type]
    except LabdeskError as exc:
        raise ConfigError(f"{exc.message} ({file})", hint=exc.hint) from exc


def _check_printers(values: dict[str, object], file: Path) -> None:
    """Refuse a bad printer address at start-up, with the parser the Admin page uses."""
    for key, env in (
        ("label_printer_uri", "LABDESK_LABEL_PRINTER"),
        ("document_printer_uri", "LABDESK_DOCUMENT_PRINTER"),
    ):
        uri = str(values.get(key, "")).strip()
        if not uri:
            continue
        try:
            parse_printer_address(uri)
        except InvalidPrinterAddress as exc:
            raise ConfigError(
                f"'{key}' ({env}, or in {file}): {exc.message}", hint=exc.hint
            ) from exc


def _check_anchoring(values: dict[str, object], file: Path) -> None:
    """A positive anchor interval and a plain role name (it is quoted into GRANTs)."""
    every = values.get("chain_anchor_every", 1)
    if isinstance(every, bool) or not isinstance(every, int) or every < 1:
        raise ConfigError(
            f"'chain_anchor_every' in {file} must be a whole number of at least 1.",
            hint="Use 1 to anchor after every commit that appends (the default).",
        )
    timeout = values.get("interactive_timeout_ms", 8000)
    if isinstance(timeout, bool) or not isinstance(timeout, int) or timeout < 0:
        raise ConfigError(
            f"'interactive_timeout_ms' in {file} must be a whole number of milliseconds.",
            hint="Use 8000 (the default), or 0 for no limit.",
        )
    role = str(values.get("app_role", "labdesk_app"))
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", role):
        raise ConfigError(
            f"'app_role' in {file} must be a lower-case PostgreSQL role name.",
            hint="Use letters, digits and underscores, e.g. labdesk_app.",
        )


def anchor_path(config: Config) -> Path:
    """The anchor file the config names, or the data directory's default."""
    return (
        Path(config.chain_anchor_file).expanduser()
        if config.chain_anchor_file
        else config.data_dir / "chain-anchors.jsonl"
    )


MAX_LABEL_COPIES = 10


def _check_label_copies(values: dict[str, object], file: Path) -> None:
    """Refuse label counts outside 1..MAX_LABEL_COPIES (a typo must not print 100 labels)."""
    counts = {"label_copies": values.get("label_copies", 1)}
    per_container = values.get("label_copies_by_container", {})
    assert isinstance(per_container, dict)
    counts |= {f"label_copies_by_container.{k}": v for k, v in per_container.items()}
    for key, count in counts.items():
        if isinstance(count, bool) or not isinstance(count, int):
            raise ConfigError(f"'{key}' in {file} must be a whole number.")
        if not 1 <= count <= MAX_LABEL_COPIES:
            raise ConfigError(
                f"'{key}' in {file} is {count}; labels per container must be 1 to "
                f"{MAX_LABEL_COPIES}.",
                hint="Correct the value in the config file.",
            )


def _check_date_formats(values: dict[str, object], file: Path) -> None:
    """Turn the TOML list into a tuple; refuse an empty list or a format that cannot work."""
    if "date_formats" not in values:
        return
    formats = values["date_formats"]
    assert isinstance(formats, list)
    if not formats or not all(isinstance(f, str) for f in formats):
        raise ConfigError(
            f"'date_formats' in {file} must be a list of date formats such as \"%m/%d/%Y\".",
            hint="Correct the value in the config file, or remove it for the US default.",
        )
    bad = check_date_formats(formats)
    if bad:
        raise ConfigError(
            f"'date_formats' in {file} holds {bad!r}, which does not read a whole date.",
            hint='Use strptime codes with a year, month and day, e.g. "%d/%m/%Y".',
        )
    values["date_formats"] = tuple(formats)


def _check_hl7(values: dict[str, object], file: Path) -> None:
    """Listener limits that are whole positive numbers; allowed peers that are addresses."""
    for key, low in (("hl7_max_frame_bytes", 1024), ("hl7_max_segments", 10)):
        number = values.get(key, low)
        if isinstance(number, bool) or not isinstance(number, int) or number < low:
            raise ConfigError(
                f"'{key}' in {file} must be a whole number of at least {low}.",
                hint="Correct the value in the config file, or remove it for the default.",
            )
    if "hl7_allowed_peers" not in values:
        return
    peers = values["hl7_allowed_peers"]
    assert isinstance(peers, list)
    for peer in peers:
        try:
            ipaddress.ip_network(str(peer).strip(), strict=False)
        except ValueError:
            raise ConfigError(
                f"'hl7_allowed_peers' in {file} holds {peer!r}, not an IP address or network.",
                hint='Write e.g. hl7_allowed_peers = ["10.1.2.3", "10.1.0.0/24"].',
            ) from None
    values["hl7_allowed_peers"] = tuple(str(p).strip() for p in peers)


MAX_AUTO_LOCK_MINUTES = 60
_PASSWORD_PARAMETERS = frozenset({"password", "passwd", "pwd"})


def _url_has_password(url: str) -> bool:
    """A password in the user part (``user:secret@``) or in the query (``?password=``)."""
    if re.search(r"://[^/@:?#]*:[^@/]+@", url):
        return True
    _, _, query = url.partition("?")
    pairs = parse_qsl(query.partition("#")[0], keep_blank_values=True)
    return any(unquote(k).strip().lower() in _PASSWORD_PARAMETERS and v for k, v in pairs)


def _check_security(values: dict[str, object], file: Path) -> None:
    """No database password in clear in the file; a sane inactivity lock (HIPAA 164.312)."""
    url = str(values.get("database_url", ""))
    if _url_has_password(url):
        raise ConfigError(
            f"{file} holds a database password in clear text.",
            hint="Remove it from database_url and put it in a file readable only by the "
            "LabDesk account, named by database_password_file (or use PGPASSFILE).",
        )
    minutes = values.get("auto_lock_minutes", 5)
    if isinstance(minutes, bool) or not isinstance(minutes, int):
        raise ConfigError(f"'auto_lock_minutes' in {file} must be a whole number.")
    if not 1 <= minutes <= MAX_AUTO_LOCK_MINUTES:
        raise ConfigError(
            f"'auto_lock_minutes' in {file} is {minutes}; it must be 1 to {MAX_AUTO_LOCK_MINUTES}.",
            hint="A shared workstation should lock within minutes (the default is 5).",
        )
