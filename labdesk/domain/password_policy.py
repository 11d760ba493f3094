"""Password and PIN rules after NIST SP 800-63B (rev. 4): length and a blocklist, nothing else.

No composition rules (no "one digit, one capital"), no periodic expiry, no hints. Any
Unicode is allowed and counted by code point after NFKC normalisation; nothing is ever
truncated. A password is refused, with the reason, when it is too short, too long, on the
blocklist of common and breached passwords, a dictionary word or the service's or the
user's own name with only digits or symbols added, or a keyboard, alphabet or repeated
pattern. Passphrases of several ordinary words are welcome.

A PIN is only ever the second factor after a badge scan; it is digits only and refused when
trivially guessable (repeated or sequential digits).
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from collections.abc import Iterable

from labdesk.domain.errors import ValidationError

MIN_LENGTH = 15
"""Single-factor passwords: SP 800-63B rev. 4 (2025) §3.1.1.2 asks for at least 15."""
MAX_LENGTH = 256
"""Far above the 64 SP 800-63B requires us to accept; bounds the hashing work per attempt."""
MIN_DISTINCT = 5
PIN_MIN_LENGTH = 6
PIN_MAX_LENGTH = 12
SERVICE_WORDS = frozenset({"labdesk", "lab", "desk", "clinic", "demo", "admin", "password"})
_KEYBOARD_ROWS = (
    "1234567890" * 3,
    "qwertyuiopasdfghjklzxcvbnm" * 2,
    "qwertyuiop" * 3,
    "asdfghjkl" * 3,
    "zxcvbnm" * 4,
    "1qaz2wsx3edc4rfv5tgb6yhn7ujm8ik9ol0p",
    "abcdefghijklmnopqrstuvwxyz" * 2,
)
_HINT = "Choose a passphrase of three or four unrelated words; spaces and any characters are fine."
_NAME_HINT = (
    "Leave your name and user name out of it (others know them): choose a passphrase of "
    "three or four unrelated words."
)
CONTAINS_USERNAME = "The password contains your user name."
CONTAINS_NAME = "The password contains your name."
MIN_NAME_LENGTH = 4
"""Shorter names ('Li', 'ana') are parts of too many ordinary words to refuse them."""
MAX_NAME_PARTS = 4


def normalise(secret: str) -> str:
    """NFKC form of ``secret`` (what is hashed, so the same passphrase always matches)."""
    return unicodedata.normalize("NFKC", secret)


def _fold(text: str) -> str:
    return normalise(text).casefold()


def _skeleton(text: str) -> str:
    """Letters and digits only, then leading and trailing digits dropped: 'P@ssw0rd!2024'."""
    core = "".join(ch for ch in _fold(text) if ch.isalnum())
    stripped = core.strip("0123456789")
    return stripped or core


def _is_pattern(text: str) -> str | None:
    """Why ``text`` (folded, letters and digits only) is a guessable pattern, if it is."""
    if not text:
        return None
    for size in range(1, len(text) // 2 + 1):
        if len(text) % size == 0 and text[:size] * (len(text) // size) == text:
            return "repeats a short pattern"
    if len(text) >= 6:
        for row in _KEYBOARD_ROWS:
            if text in row or text in row[::-1]:
                return "is a keyboard or alphabet sequence"
    return None


def _compact(text: str) -> str:
    """Folded, accents dropped, letters and digits only: 'José Smithers' -> 'josesmithers'."""
    decomposed = unicodedata.normalize("NFKD", _fold(text))
    return "".join(ch for ch in decomposed if ch.isalnum() and not unicodedata.combining(ch))


def _name_forms(display_name: str) -> set[str]:
    """The person's name run together, its parts in any order ('Smithers, Jonathan')."""
    parts = [p for p in re.split(r"[^\w]+", _fold(display_name)) if p]
    if not parts:
        return set()
    orders = itertools.permutations(parts) if len(parts) <= MAX_NAME_PARTS else [parts]
    forms = {_compact("".join(order)) for order in orders}
    return {f for f in forms if len(f) >= MIN_NAME_LENGTH}


def _name_problem(folded: str, compact: str, username: str, display_name: str) -> str | None:
    """The password holds the user name or the whole display name (case, spaces and
    punctuation ignored)."""
    name = _fold(username).strip()
    bare_name = _compact(name)
    if len(name) >= MIN_NAME_LENGTH and (
        name in folded or (len(bare_name) >= MIN_NAME_LENGTH and bare_name in compact)
    ):
        return CONTAINS_USERNAME
    bare = _compact(folded)
    if any(form in bare for form in _name_forms(display_name)):
        return CONTAINS_NAME
    return None


def _context_words(username: str, display_name: str) -> set[str]:
    words = {w for w in re.split(r"[^\w]+", _fold(f"{username} {display_name}")) if len(w) >= 3}
    words.add(_fold(username).strip())
    return {w for w in words if w} | set(SERVICE_WORDS)


def password_problem(
    password: str, *, username: str, display_name: str = "", blocklist: Iterable[str] = ()
) -> str | None:
    """Say what is wrong with ``password``; None when it is acceptable.

    Args:
        password: the new password exactly as typed (pasted text included).
        username: the account's user name (never part of a good password).
        display_name: the person's name, for the same reason.
        blocklist: common and breached passwords and dictionary words, lower case.
    """
    text = normalise(password)
    if len(text) < MIN_LENGTH:
        return (
            f"The password has {len(text)} characters; at least {MIN_LENGTH} are needed "
            "(a short sentence is easy to remember)."
        )
    if len(text) > MAX_LENGTH:
        return f"The password has {len(text)} characters; at most {MAX_LENGTH} are allowed."
    if len(set(text)) < MIN_DISTINCT:
        return "The password repeats too few different characters."
    folded = _fold(text)
    compact = "".join(ch for ch in folded if ch.isalnum())
    pattern = _is_pattern(compact) or _is_pattern(_skeleton(text))
    if pattern:
        return f"The password {pattern}."
    blocked = frozenset(blocklist)
    if folded in blocked or compact in blocked:
        return "The password is on the list of commonly used or breached passwords."
    named = _name_problem(folded, compact, username, display_name)
    if named:
        return named
    context = _context_words(username, display_name)
    skeleton = _skeleton(text)
    if skeleton in blocked or skeleton in context:
        return "The password is a common word or password with only digits or symbols added."
    tokens = [t for t in re.split(r"[^a-z\u00c0-\uffff]+", folded) if t]
    remaining = [t for t in tokens if t not in context]
    only_names = len(tokens) > len(remaining) and len(remaining) <= 1
    if only_names and (not remaining or remaining[0] in blocked):
        return (
            "The password is built from your name or the service's name with only a "
            "common word, digits or symbols added."
        )
    return None


def check_password(
    password: str, *, username: str, display_name: str = "", blocklist: Iterable[str] = ()
) -> None:
    """Refuse an unacceptable password, saying why.

    Raises:
        ValidationError: with the reason and a hint.
    """
    problem = password_problem(
        password, username=username, display_name=display_name, blocklist=blocklist
    )
    if problem:
        named = problem in (CONTAINS_USERNAME, CONTAINS_NAME)
        raise ValidationError(problem, hint=_NAME_HINT if named else _HINT)


def pin_problem(pin: str) -> str | None:
    """Say what is wrong with a badge PIN; None when it is acceptable."""
    if not pin.isascii() or not pin.isdigit():
        return "A PIN has digits only."
    if not PIN_MIN_LENGTH <= len(pin) <= PIN_MAX_LENGTH:
        return f"A PIN has {PIN_MIN_LENGTH} to {PIN_MAX_LENGTH} digits."
    if len(set(pin)) <= 2 or _is_pattern(pin):
        return "The PIN is too easy to guess (repeated or sequential digits)."
    return None


def check_pin(pin: str) -> None:
    """Refuse an unacceptable PIN.

    Raises:
        ValidationError: with the reason.
    """
    problem = pin_problem(pin)
    if problem:
        raise ValidationError(problem, hint="Choose digits that do not follow a pattern.")
