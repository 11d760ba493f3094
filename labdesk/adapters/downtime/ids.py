"""Ids the station and the server pair on replay, read the same way on both sides."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from labdesk.adapters.orm import ordered_tests


def order_test_ids(session: Session, order_id: int) -> list[int]:
    """The ordered tests of ``order_id`` by test code (an order holds each code once).

    The station and the server create an order's tests from the same codes, so this order
    pairs the station's local ids with the server's.
    """
    return [
        int(test_id)
        for test_id in session.scalars(
            select(ordered_tests.c.id)
            .where(ordered_tests.c.order_id == order_id)
            .order_by(ordered_tests.c.test_code, ordered_tests.c.id)
        )
    ]
