"""Domain error hierarchy: every error a user may see derives from LabdeskError.

Errors carry structured fields so the UI and CLI can render a message that says what is
wrong and how to fix it.
"""

from __future__ import annotations


class LabdeskError(Exception):
    """Base for every expected (user-facing) failure."""

    def __init__(self, message: str, *, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} {self.hint}".strip() if self.hint else self.message


class ValidationError(LabdeskError):
    """Input that breaks a domain rule."""


class InvalidAccession(ValidationError):
    """A scanned or typed accession ID that is malformed or fails its check digit."""


class NotFound(LabdeskError):
    """A record the user asked for does not exist."""


class DuplicateAccession(LabdeskError):
    """An accession ID that already exists."""


class CustodyError(LabdeskError):
    """An illegal chain-of-custody transition."""


class PermissionDenied(LabdeskError):
    """The signed-in user's role does not allow the action."""


class AuthenticationError(LabdeskError):
    """Sign-in failed (wrong credentials, locked or disabled account)."""


class StorageError(LabdeskError):
    """The database cannot be reached, opened or written."""


class SchemaError(StorageError):
    """The database schema is missing, out of date or newer than this program."""


class CatalogImportError(LabdeskError):
    """A catalog file with bad rows; nothing was imported."""

    def __init__(self, problems: list[RowProblem]) -> None:
        lines = "; ".join(str(p) for p in problems[:5])
        more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
        super().__init__(
            f"{len(problems)} bad row(s) in the catalog file, nothing imported: {lines}{more}",
            hint="Fix the rows named and import the file again.",
        )
        self.problems = problems


class RowProblem:
    """One bad field in one row of an imported file."""

    __slots__ = ("field", "row", "why")

    def __init__(self, row: int, field: str, why: str) -> None:
        self.row = row
        self.field = field
        self.why = why

    def __str__(self) -> str:
        return f"row {self.row}, {self.field}: {self.why}"

    def __repr__(self) -> str:
        return f"RowProblem({self.row!r}, {self.field!r}, {self.why!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RowProblem) and (self.row, self.field, self.why) == (
            other.row,
            other.field,
            other.why,
        )

    def __hash__(self) -> int:
        return hash((self.row, self.field, self.why))


class TransportError(LabdeskError):
    """The lab could not be reached or did not answer in time."""
