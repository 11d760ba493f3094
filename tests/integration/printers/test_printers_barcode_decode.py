"""Rendered labels scan: a real decoder (zxing-cpp) reads back the exact accession ID."""

from __future__ import annotations

import io
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
import zxingcpp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from labdesk.domain.accession import make_accession
from labdesk.domain.printing import LabelContent
from printers.image import render_png
from printers.layout import layout_label
from printers.pdf import render_pdf
from printers.presets import get_preset, preset_names
from printers.zpl import render_zpl

pytestmark = pytest.mark.integration

Factory = Callable[..., LabelContent]
LABEL_PRESETS = [name for name in preset_names() if not name.startswith("sheet")]
FAST = settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)

accessions = st.builds(
    make_accession, st.integers(min_value=2000, max_value=2099), st.integers(1, 9_999_999)
)
awkward_names = st.sampled_from(
    [
        "O'Brien",
        'Smith "Smitty"',
        "^XZ~JR",
        "_5E_7E",
        "Nguyễn",
        "Łukasiewicz",
        "Müller-Lüdenscheidt",
        "山田",
        "김민준",
        "Wolfeschlegelsteinhausenbergerdorff-Ñúñez de la Peña y Villalobos",
        "X",
    ]
)
names = st.one_of(awkward_names, st.text(min_size=1, max_size=60))


def _decode(image: Image.Image) -> list[str]:
    """Return the text of every bar code found; all must be Code 128."""
    found = zxingcpp.read_barcodes(image)
    assert all(b.format == zxingcpp.BarcodeFormat.Code128 for b in found)
    return [b.text for b in found]


def _pdf_pages(pdf: bytes, tmp_path: Path) -> list[Image.Image]:
    source = tmp_path / "labels.pdf"
    source.write_bytes(pdf)
    subprocess.run(
        ["pdftoppm", "-r", "300", "-png", str(source), str(tmp_path / "page")],
        check=True,
        timeout=60,
    )
    return [Image.open(p) for p in sorted(tmp_path.glob("page*.png"))]


needs_pdftoppm = pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="needs poppler")


@pytest.mark.parametrize("preset_name", LABEL_PRESETS)
@FAST
@given(accession=accessions, family=names, given_name=names, stat=st.booleans())
def test_png_preview_scans_as_the_accession(
    make_content: Factory,
    preset_name: str,
    accession: str,
    family: str,
    given_name: str,
    stat: bool,
) -> None:
    content = make_content(
        accession=accession, family_name=family, given_name=given_name, stat=stat, reprint_count=1
    )
    layout = layout_label(content, get_preset(preset_name))
    image = Image.open(io.BytesIO(render_png(layout)))
    assert image.size == (layout.width, layout.height)
    assert _decode(image) == [accession]
    # The ZPL from the same layout carries the same bare digits and no raw ^ or ~ in data.
    zpl = render_zpl(layout).decode("utf-8")
    assert f"^FD{accession}^FS" in zpl
    for field in zpl.split("^FD")[1:]:
        data = field.split("^FS")[0]
        assert "^" not in data
        assert "~" not in data


@needs_pdftoppm
@FAST
@given(accession=accessions, family=names, given_name=names)
def test_pdf_label_scans_as_the_accession(
    make_content: Factory,
    tmp_path_factory: pytest.TempPathFactory,
    accession: str,
    family: str,
    given_name: str,
) -> None:
    content = make_content(accession=accession, family_name=family, given_name=given_name)
    pdf = render_pdf([content], get_preset("2x1-203"))
    (page,) = _pdf_pages(pdf, tmp_path_factory.mktemp("pdf"))
    assert _decode(page) == [accession]


@needs_pdftoppm
def test_pdf_sheet_scans_every_label(make_content: Factory, tmp_path: Path) -> None:
    family = ["Doe", "山田", "O'Brien", "^Caret~", "Nguyễn", "Łukasiewicz"]
    contents = [
        make_content(accession=make_accession(2026, n), family_name=family[n % len(family)])
        for n in range(1, 33)
    ]
    pages = _pdf_pages(render_pdf(contents, get_preset("sheet-letter-30")), tmp_path)
    assert [page.size for page in pages] == [(2550, 3300)] * 2  # Letter at 300 dpi.
    decoded = sorted(_decode(pages[0]) + _decode(pages[1]))
    assert decoded == sorted(c.accession for c in contents)


@needs_pdftoppm
def test_label_pdf_has_one_page_per_label(make_content: Factory, tmp_path: Path) -> None:
    contents = [make_content(accession=make_accession(2026, n)) for n in (7, 8, 9)]
    pages = _pdf_pages(render_pdf(contents, get_preset("2x0.75-300")), tmp_path)
    assert [page.size for page in pages] == [(600, 225)] * 3
    assert [_decode(page) for page in pages] == [[c.accession] for c in contents]


def test_pdf_is_reproducible(make_content: Factory) -> None:
    preset = get_preset("2x1-300")
    assert render_pdf([make_content()], preset) == render_pdf([make_content()], preset)
