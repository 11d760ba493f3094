"""Fixtures for printer unit tests."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from labdesk.domain.accession import make_accession
from labdesk.domain.printing import LabelContent


@pytest.fixture
def make_content() -> Callable[..., LabelContent]:
    """Factory for label content with sensible defaults; keyword arguments override."""

    def make(**overrides: object) -> LabelContent:
        fields: dict[str, object] = {
            "accession": make_accession(2026, 1234),
            "family_name": "Doe",
            "given_name": "Jane",
            "birth_date": "1984-03-05",
            "mrn": "00123456",
            "collected_at": "2026-03-05 08:15",
            "collector_initials": "JD",
            "container": "EDTA 3 mL",
            "cap_colour": "Lavender",
            "tests": ("CBC", "HBA1C"),
            "specimen_type": "BLD",
        }
        fields.update(overrides)
        return LabelContent(**fields)  # type: ignore[arg-type]

    return make
