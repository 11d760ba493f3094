"""The faster python-hl7 tree (labdesk.hl7.hl7_tree) is the tree ``hl7.parse`` builds."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import hl7
import pytest

from labdesk.hl7.hl7_tree import parse_tree
from labdesk.hl7.parse import normalize

SAMPLES = sorted((Path(__file__).resolve().parents[1] / "data/hl7").glob("*.hl7"))
MESSAGES = {
    "plain": (
        "MSH|^~\\&|BENCH|LAB|LABDESK|CLINIC|20260601093000||ORU^R01^ORU_R01|B-1|P|2.5.1\r"
        "PID|1||M1^^^CLINIC^MR||Bench^Patient||19700101|F\r"
        "OBR|1|P1|A1|2823-3^K^LN|||20260601080000|||||||||||||||20260601092500|||F\r"
        "OBX|1|NM|2823-3^K^LN||4.3|mmol/L|3.5-5.1|N|||F|||20260601090000\r"
    ),
    "repetitions, subcomponents, escapes, empty segment": (
        "MSH|^~\\&|L|F|LD|C|20260302||ORU^R01|C1|P|2.4\r"
        "PID|||X1^^^A^PI~M1^^^B^MR||Doe^Jo||19800102|F\r"
        "OBX|2|FT|X^Note^L||line one\\.br\\line two~b\\F\\c||||||F\r"
        "SPM|1|A2&CLINIC&1^B&&2||SER\r"
        "NTE\r"
    ),
    "other delimiters": "MSH#$%@!#L#F#LD#C#20260302##ORU$R01#C2#P#2.3\rPID###M9$$$A$MR~X%Y\r",
}


def _shape(node: Any) -> Any:
    """Every node's class name, separator and escape with its children (leaves as text)."""
    if isinstance(node, str):
        return node
    return (type(node).__name__, node.separator, node.esc, [_shape(n) for n in node])


@pytest.mark.parametrize(
    "text",
    [*MESSAGES.values(), *(normalize(p.read_text(encoding="utf-8")) for p in SAMPLES)],
    ids=[*MESSAGES, *(p.stem for p in SAMPLES)],
)
def test_the_tree_is_what_hl7_parse_builds(text: str) -> None:
    expected = hl7.parse(text)
    tree = parse_tree(text)

    assert tree == expected
    assert _shape(tree) == _shape(expected)
    assert str(tree) == str(expected)
    assert isinstance(tree, hl7.Message)
    assert str(tree.segment("MSH")) == str(expected.segment("MSH"))
    assert tree.unescape("a\\F\\b") == expected.unescape("a\\F\\b")


def test_samples_are_there() -> None:
    assert SAMPLES  # the shared sample folder moved: the comparison above lost its real messages
