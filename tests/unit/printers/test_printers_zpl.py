"""ZPL II rendering: header commands, escapes, bar code and copies."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

from labdesk.domain.printing import LabelContent
from printers.layout import layout_label
from printers.presets import get_preset
from printers.zpl import escape_field, render_labels_zpl, render_zpl

Factory = Callable[..., LabelContent]


def _zpl(content: LabelContent, preset: str = "2x1-203", copies: int = 1) -> str:
    return render_zpl(layout_label(content, get_preset(preset)), copies=copies).decode("utf-8")


def _fields(zpl: str) -> list[str]:
    return re.findall(r"\^FD(.*?)\^FS", zpl)


def test_format_starts_with_utf8_and_label_size(make_content: Factory) -> None:
    zpl = _zpl(make_content())
    assert zpl.startswith("^XA\n^CI28\n^PW406\n^LL203\n")
    assert zpl.rstrip().endswith("^XZ")
    assert zpl.index("^CI28") < zpl.index("^FD")


def test_barcode_is_printer_native_code128(make_content: Factory) -> None:
    zpl = _zpl(make_content(), "2x1-300")
    assert re.search(r"\^BY3\^BCN,\d+,N,N,N,A\^FH\^FD2600012349\^FS", zpl)


def test_caret_tilde_and_underscore_are_hex_escaped(make_content: Factory) -> None:
    zpl = _zpl(make_content(family_name="Ca^re~t_", given_name="~^"))
    assert "CA_5ERE_7ET_5F, _7E_5E" in zpl
    for field in _fields(zpl):
        assert "^" not in field
        assert "~" not in field


def test_every_field_is_hex_enabled(make_content: Factory) -> None:
    zpl = _zpl(make_content())
    assert zpl.count("^FD") == zpl.count("^FH^FD")


@pytest.mark.parametrize(
    ("raw", "escaped"),
    [
        ("a^b", "a_5Eb"),
        ("a~b", "a_7Eb"),
        ("a_b", "a_5Fb"),
        ("a\r\nb", "a_0D_0Ab"),
        ("\x7f", "_7F"),
        ("Łódź 山田", "Łódź 山田"),
    ],
)
def test_escape_field(raw: str, escaped: str) -> None:
    assert escape_field(raw) == escaped


def test_accented_and_cjk_names_are_sent_as_utf8(make_content: Factory) -> None:
    content = make_content(family_name="Łukasiewicz", given_name="山田")
    payload = render_zpl(layout_label(content, get_preset("2x1-300")))
    assert "ŁUKASIEWICZ, 山田".encode() in payload


def test_text_is_held_to_its_width_in_one_line(make_content: Factory) -> None:
    zpl = _zpl(make_content())
    assert re.search(r"\^A0N,28,28\^FB\d+,1,0,L,0\^FH\^FDDOE, Jane\^FS", zpl)


def test_flags_print_white_on_black(make_content: Factory) -> None:
    zpl = _zpl(make_content(stat=True, reprint_count=1))
    assert re.search(r"\^GB\d+,\d+,\d+,B,0\^FS", zpl)
    assert re.search(r"\^FR\^FH\^FDSTAT\^FS", zpl)
    assert re.search(r"\^FR\^FH\^FDREPRINT 1\^FS", zpl)


def test_copies_use_pq(make_content: Factory) -> None:
    assert "^PQ3,0,1,Y" in _zpl(make_content(), copies=3)
    with pytest.raises(ValueError, match="copies"):
        _zpl(make_content(), copies=0)


def test_several_labels_are_several_formats(make_content: Factory) -> None:
    contents = [make_content(), make_content(family_name="Roe")]
    payload = render_labels_zpl(contents, get_preset("2x1-203")).decode()
    assert payload.count("^XA") == payload.count("^XZ") == 2
