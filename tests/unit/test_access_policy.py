"""Password and PIN rules, sign-in throttling, log redaction and secret-free config (no DB)."""

from __future__ import annotations

import logging
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from labdesk.access import credentials
from labdesk.access.credentials import blocklist, hash_secret, verify_secret
from labdesk.adapters.database import make_engine, read_password_file
from labdesk.config import ConfigError, load_config
from labdesk.domain.errors import StorageError, ValidationError
from labdesk.domain.password_policy import (
    MAX_LENGTH,
    MIN_LENGTH,
    check_password,
    password_problem,
    pin_problem,
)
from labdesk.domain.signin_policy import (
    LOCKOUT,
    MAX_DELAY,
    MAX_FAILED_ATTEMPTS,
    after_failure,
    delay_after,
    wait_text,
)
from labdesk.log_setup import RedactingFilter, redact

NOW = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)


def _problem(password: str, username: str = "maria", name: str = "Maria Alvarez") -> str | None:
    return password_problem(password, username=username, display_name=name, blocklist=blocklist())


# ---------------------------------------------------------------- passwords


@pytest.mark.parametrize(
    "password",
    [
        "correct horse battery",
        "seven purple giraffes dancing",
        "Tänzer über Brücken singen laut",  # any Unicode
        "日本語のパスフレーズはとても長いです",  # 18 code points
        "x" * 3 + "a perfectly fine one" + "!" * 40 + "with spaces at the end   ",
        "739201846502917",  # digits are fine when not a pattern
        "a" + "lighthouse keeper's journal " * 8,  # 200+ characters
    ],
)
def test_good_passphrases_pass(password: str) -> None:
    assert _problem(password) is None


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("labdesk-demo", f"12 characters; at least {MIN_LENGTH}"),
        ("ab" * 200, f"at most {MAX_LENGTH}"),
        ("aaaaaaaaaaaaaaaaaaaa", "too few different characters"),
        ("abcdefabcdefabcdef", "repeats a short pattern"),
        ("qwertyuiopasdfgh", "keyboard or alphabet sequence"),
        ("123456789012345", "keyboard or alphabet sequence"),
        ("iloveyouforever", "commonly used or breached"),
        ("passwordpassword", "repeats a short pattern"),
        ("Password123456789!", "common"),
        ("Alvarez Family 2026!", "built from your name"),
        ("labdesk clinic 2026!!", "built from your name or the service's name"),
        ("my name is maria1980!", "contains your user name"),
    ],
)
def test_bad_passwords_are_refused_with_the_reason(password: str, reason: str) -> None:
    problem = _problem(password)
    assert problem is not None
    assert reason in problem


@pytest.mark.parametrize(
    ("password", "display_name"),
    [
        ("jonathansmithers", "Jonathan Smithers"),  # issue 15: accepted before
        ("JonathanSmithers!!2026x", "Jonathan Smithers"),
        ("i am jonathan-smithers, hi", "Jonathan Smithers"),
        ("smithers jonathan rules ok", "Jonathan Smithers"),
        ("jonathansmithers", "Smithers, Jonathan"),
        ("mariaalvarez family", "María Álvarez"),
    ],
)
def test_a_password_holding_the_persons_name_is_refused_with_a_hint(
    password: str, display_name: str
) -> None:
    problem = password_problem(
        password, username="jsmith", display_name=display_name, blocklist=blocklist()
    )
    assert problem == "The password contains your name."
    with pytest.raises(ValidationError) as info:
        check_password(
            password, username="jsmith", display_name=display_name, blocklist=blocklist()
        )
    assert "Leave your name and user name out" in info.value.hint


def test_a_password_holding_the_user_name_gets_the_name_hint() -> None:
    with pytest.raises(ValidationError) as info:
        check_password("best regards from jsmith x", username="jsmith", blocklist=blocklist())
    assert info.value.message == "The password contains your user name."
    assert "Leave your name and user name out" in info.value.hint


def test_no_composition_rules() -> None:
    # All lower case, no digit, no symbol: fine when long and not common.
    assert _problem("marble staircase under the willow") is None


def test_length_counts_code_points_after_normalisation() -> None:
    # 15 combining sequences normalise to 15 characters.
    assert _problem("e\u0301" * 3 + "ünïcödé pässwörd") is None
    # Six 'e' + combining accent pairs are six characters: 14 in all, one too few.
    assert "14 characters" in str(_problem("e\u0301" * 6 + "shortpas"))


def test_blocklist_ships_thousands_of_entries() -> None:
    words = blocklist()
    assert len(words) > 5000
    assert {"123456", "password", "iloveyou", "labdesk", "phlebotomy"} <= words


@pytest.fixture
def cheap(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        credentials, "_HASHER", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )


@pytest.mark.usefixtures("cheap")
def test_long_passwords_are_never_truncated() -> None:
    long = "q" * 199 + "z" + " tail of a long passphrase"
    stored = hash_secret(long)
    assert stored.startswith("$argon2id$")
    assert verify_secret(stored, long)
    assert not verify_secret(stored, "q" * 199 + "y" + " tail of a long passphrase")
    assert not verify_secret(stored, long[:-1])


@pytest.mark.usefixtures("cheap")
def test_unicode_forms_of_the_same_passphrase_match() -> None:
    stored = hash_secret("Café au lait, bitte sehr")
    assert verify_secret(stored, "Cafe\u0301 au lait, bitte sehr")


def test_production_hasher_is_argon2id_with_real_cost() -> None:
    hasher = PasswordHasher()
    assert hasher.type.name == "ID"
    assert hasher.memory_cost >= 19 * 1024  # OWASP's floor for argon2id
    assert hasher.time_cost >= 2


@pytest.mark.parametrize(
    ("pin", "ok"),
    [
        ("480613", True),
        ("90721583", True),
        ("123456", False),
        ("654321", False),
        ("111111", False),
        ("121212", False),
        ("12345", False),
        ("48061a", False),
        ("４８０６１３", False),  # full-width digits
        ("1" * 13, False),
    ],
)
def test_pins(pin: str, ok: bool) -> None:
    assert (pin_problem(pin) is None) is ok


# ---------------------------------------------------------------- throttling


def test_progressive_delay_then_lockout() -> None:
    delays = [delay_after(n) for n in range(1, MAX_FAILED_ATTEMPTS)]
    assert delays[:2] == [timedelta(0), timedelta(0)]
    assert delays[2:5] == [timedelta(seconds=2), timedelta(seconds=4), timedelta(seconds=8)]
    assert max(delays) == MAX_DELAY
    assert delays == sorted(delays)
    verdict = after_failure(MAX_FAILED_ATTEMPTS - 1, NOW)
    assert verdict.locked_now
    assert verdict.locked_until == NOW + LOCKOUT
    assert verdict.failures == 0


def test_lockout_stays_far_under_nist_and_asvs_limits() -> None:
    per_hour = MAX_FAILED_ATTEMPTS * (timedelta(hours=1) / LOCKOUT)
    assert MAX_FAILED_ATTEMPTS <= 100
    assert per_hour <= 100


def test_wait_text() -> None:
    assert wait_text(NOW + timedelta(seconds=1), NOW) == "1 second"
    assert wait_text(NOW + timedelta(seconds=30.2), NOW) == "31 seconds"
    assert wait_text(NOW + LOCKOUT, NOW) == "15 minutes"


# ---------------------------------------------------------------- logs


@pytest.mark.parametrize(
    ("raw", "kept", "hidden"),
    [
        (
            "url postgresql+psycopg://lab:s3cr3t@db:5432/x",
            "postgresql+psycopg://lab:***@db",
            "s3cr3t",
        ),
        ("password=hunter2 user=bob", "user=bob", "hunter2"),
        ("{'pin': '480613'}", "'pin'", "480613"),
        ("PASSWD: letmein123", "PASSWD", "letmein123"),
        ("hash $argon2id$v=19$m=65536,t=3,p=4$abc$def end", "end", "$argon2id$"),
        (
            'null value in column "family_name"\nDETAIL:  Failing row contains (4, Quintessa).',
            'column "family_name"',
            "Quintessa",
        ),
        ("DETAIL:  Key (mrn)=(P900001) already exists.", "DETAIL:  Key", "P900001"),
        (
            "(psycopg.DataError) boom\n[SQL: INSERT ...]\n[parameters: ('Zabriskie', '1961')]\n",
            "[SQL: INSERT ...]",
            "Zabriskie",
        ),
    ],
)
def test_redact(raw: str, kept: str, hidden: str) -> None:
    out = redact(raw)
    assert kept in out
    assert hidden not in out


def test_filter_hides_sqlalchemy_parameters_and_exception_text() -> None:
    record = logging.LogRecord(
        "sqlalchemy.engine.Engine", logging.INFO, "x", 1, "[%s] %r", ("cached", ("Smith",)), None
    )
    assert RedactingFilter().filter(record)
    assert "Smith" not in record.getMessage()
    try:
        raise ValueError("bad url postgresql://u:topsecret@h/db")
    except ValueError:
        import sys

        record = logging.LogRecord("x", logging.ERROR, "x", 1, "failed", (), sys.exc_info())
    RedactingFilter().filter(record)
    assert record.exc_text is not None
    assert "topsecret" not in record.exc_text


# ---------------------------------------------------------------- config and transport


def _config_file(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(f"[labdesk]\n{body}\n", encoding="utf-8")
    return path


def test_config_refuses_a_password_in_clear(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LABDESK_DATABASE_URL", raising=False)
    path = _config_file(
        tmp_path, 'database_url = "postgresql+psycopg://lab:hunter2@db/labdesk?sslmode=verify-full"'
    )
    with pytest.raises(ConfigError, match="password in clear") as info:
        load_config(path)
    assert "database_password_file" in info.value.hint
    assert "hunter2" not in str(info.value)


@pytest.mark.parametrize(
    "url",
    [
        "postgresql+psycopg://lab@db/labdesk?password=hunter2",
        "postgresql+psycopg://lab@db/labdesk?sslmode=verify-full&PASSWORD=hunter2",
        "postgresql+psycopg://db/labdesk?user=lab&password=hunter2#x",
        "postgresql+psycopg://lab@db/labdesk?pass%77ord=hunter2",
    ],
)
def test_config_refuses_a_password_in_the_url_query(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, url: str
) -> None:
    monkeypatch.delenv("LABDESK_DATABASE_URL", raising=False)
    path = _config_file(tmp_path, f'database_url = "{url}"')
    with pytest.raises(ConfigError, match="password in clear") as info:
        load_config(path)
    assert "database_password_file" in info.value.hint
    assert "hunter2" not in str(info.value)


def test_config_takes_a_password_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LABDESK_DATABASE_URL", raising=False)
    path = _config_file(
        tmp_path,
        'database_url = "postgresql+psycopg://lab@db/labdesk?sslmode=verify-full"\n'
        'database_password_file = "/etc/labdesk/db-password"',
    )
    config = load_config(path)
    assert config.database_password_file == "/etc/labdesk/db-password"


@pytest.mark.parametrize("minutes", [0, -1, 61])
def test_auto_lock_must_be_set_sanely(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, minutes: int
) -> None:
    monkeypatch.delenv("LABDESK_DATABASE_URL", raising=False)
    with pytest.raises(ConfigError, match="auto_lock_minutes"):
        load_config(_config_file(tmp_path, f"auto_lock_minutes = {minutes}"))


def test_password_file_must_be_private(tmp_path: Path) -> None:
    secret = tmp_path / "db-password"
    secret.write_text("s3cr3t-db-pass\n", encoding="utf-8")
    secret.chmod(0o644)
    with pytest.raises(StorageError, match="can be read by other users") as info:
        read_password_file(secret)
    assert "chmod 600" in info.value.hint
    secret.chmod(0o600)
    assert read_password_file(secret) == "s3cr3t-db-pass"
    engine = make_engine(
        "postgresql+psycopg://lab@db.invalid/labdesk?sslmode=verify-full",
        password_file=str(secret),
    )
    try:
        assert engine.url.password == "s3cr3t-db-pass"
        assert engine.url.query["sslmode"] == "verify-full"
        assert "s3cr3t" not in repr(engine.url)
    finally:
        engine.dispose()
    with pytest.raises(StorageError, match="Cannot read"):
        read_password_file(tmp_path / "missing")


def test_sqlite_file_is_private(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "labdesk.sqlite3"
    engine = make_engine(f"sqlite:///{path}")
    try:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    finally:
        engine.dispose()
