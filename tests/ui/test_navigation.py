"""The role -> pages table."""

from __future__ import annotations

import pytest

from labdesk.domain.people import Role
from ui.navigation import PageId, page_title, pages_for


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        (Role.MEDICAL_ASSISTANT, (PageId.STATION,)),
        (Role.COURIER, (PageId.COURIER,)),
        (Role.LAB_RECEIVER, (PageId.LAB_RECEIVING,)),
        (Role.CLINICIAN, (PageId.RESULTS, PageId.RESULT_WORKLIST)),
        (Role.ADMIN, tuple(PageId)),
    ],
    ids=lambda v: v.value if isinstance(v, Role) else "",
)
def test_pages_for_role(role: Role, expected: tuple[PageId, ...]) -> None:
    assert pages_for(role) == expected


def test_every_role_has_pages_and_every_page_a_title() -> None:
    assert all(pages_for(role) for role in Role)
    assert [page_title(p) for p in PageId] == [
        "Station",
        "Courier",
        "Lab receiving",
        "Results",
        "Result worklist",
        "Admin",
    ]
