"""Preparation answers in the lab's order message: AOE OBX segments and the 'collected anyway' NTE.

The station records what the patient said (fasting, last dose, first morning urine) for
each collected test (:mod:`labdesk.station.preparation`). The lab needs those answers to
interpret the result, so they travel as ask-at-order-entry observations: one ``OBX`` per
answer after the test's ``OBR`` (and its notes), value type ``ST``, OBX-11 ``O`` (order
detail, not a result), local codes ``PREP-FASTING``, ``PREP-LAST_DOSE``,
``PREP-FIRST_MORNING_URINE``. A requirement collected although not met adds an ``NTE``
with the MA's comment ("Preparation not met, collected anyway: ...").
"""

from __future__ import annotations

from collections.abc import Sequence

from labdesk.domain.specimen import Specimen
from labdesk.hl7.ack import escape
from labdesk.hl7.outbound_build import CollectionSnapshot
from labdesk.ports import UnitOfWork

COLLECTED_ANYWAY = "Preparation not met, collected anyway"


def with_preparation(
    uow: UnitOfWork, payload: str, snapshot: CollectionSnapshot, specimens: Sequence[Specimen]
) -> str:
    """``payload`` with the preparation answers of each test after its OBR (and NTEs)."""
    answers: dict[tuple[str, str], list[tuple[str, str, str, bool, str]]] = {}
    for specimen in specimens:
        if specimen.id is None:
            continue
        for ot in uow.orders.tests_for_specimen(specimen.id):
            if ot.id is None:
                continue
            for a in uow.preparation.answers_for_tests([ot.id]):
                key = (specimen.accession, ot.test_code)
                answers.setdefault(key, []).append((a.kind, a.question, a.answer, a.met, a.comment))
    if not answers:
        return payload
    segments = payload.rstrip("\r").split("\r")
    out: list[str] = []
    pending: list[tuple[str, str, str, bool, str]] = []
    for index, segment in enumerate(segments):
        out.append(segment)
        if segment.startswith("OBR|"):
            number = int(segment.split("|")[1])
            test = snapshot.tests[number - 1]
            pending = answers.get((test.specimen.accession, test.code), [])
        elif not segment.startswith("NTE|"):
            continue
        following = segments[index + 1] if index + 1 < len(segments) else ""
        if following.startswith("NTE|") or not pending:
            continue
        notes = _trailing_notes(out)
        for _kind, _question, _answer, met, comment in pending:
            if not met and comment:
                notes += 1
                out.append(f"NTE|{notes}|L|{escape(f'{COLLECTED_ANYWAY}: {comment}')}")
        for n, (kind, question, answer, met, _comment) in enumerate(pending, start=1):
            code = f"PREP-{kind.upper()}"
            value = answer if met else f"{answer}; NOT MET"
            fields = ["OBX", str(n), "ST", f"{code}^{escape(question)}^L", "", escape(value)]
            out.append("|".join([*fields, "", "", "", "", "", "O"]))
        pending = []
    return "\r".join(out) + "\r"


def _trailing_notes(segments: list[str]) -> int:
    """NTE segments right at the end of ``segments`` (after the last OBR)."""
    count = 0
    for segment in reversed(segments):
        if not segment.startswith("NTE|"):
            break
        count += 1
    return count
