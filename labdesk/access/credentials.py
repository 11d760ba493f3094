"""Secrets at rest: argon2id hashes of passwords and PINs, and the password blocklist.

Passwords are NFKC-normalised before hashing (SP 800-63B §3.1.1.2), so the same passphrase
typed on another keyboard layout or pasted still matches; they are never truncated, stored
or logged in clear. argon2-cffi's defaults are RFC 9106's second recommended option
(argon2id, 64 MiB, 3 passes, a random 16-byte salt per hash).
"""

from __future__ import annotations

import functools
import logging

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from labdesk.domain.password_policy import check_password, normalise
from resources import resource

logger = logging.getLogger(__name__)

_HASHER = PasswordHasher()
BLOCKLIST_RESOURCE = ("security", "password_blocklist.txt")


def hash_secret(secret: str) -> str:
    """Return an argon2id hash of ``secret`` (normalised)."""
    return _HASHER.hash(normalise(secret))


def verify_secret(stored_hash: str, secret: str) -> bool:
    """Check ``secret`` against an argon2id hash (constant-time inside argon2)."""
    candidates = dict.fromkeys((normalise(secret), secret))  # hashes made before normalising
    for candidate in candidates:
        try:
            if _HASHER.verify(stored_hash, candidate):
                return True
        except (VerificationError, InvalidHashError):
            continue
    return False


def needs_rehash(stored_hash: str) -> bool:
    """True when the hash was made with weaker parameters than today's."""
    try:
        return _HASHER.check_needs_rehash(stored_hash)
    except InvalidHashError:
        return True


@functools.cache
def dummy_hash() -> str:
    """A hash to verify against when the user does not exist (equal work, equal timing)."""
    return _HASHER.hash("no such user: equalise the timing")


@functools.cache
def blocklist() -> frozenset[str]:
    """The shipped list of common and breached passwords and dictionary words (lower case)."""
    text = resource(*BLOCKLIST_RESOURCE).read_text(encoding="utf-8")
    entries = frozenset(
        line.strip().casefold()
        for line in text.splitlines()
        if line.strip() and not line.startswith("#")
    )
    logger.debug("password blocklist: %d entries", len(entries))
    return entries


def check_password_policy(password: str, username: str, display_name: str = "") -> None:
    """Refuse a password SP 800-63B would refuse, saying why.

    Raises:
        ValidationError: too short or long, on the blocklist, built from a name, a pattern.
    """
    check_password(password, username=username, display_name=display_name, blocklist=blocklist())
