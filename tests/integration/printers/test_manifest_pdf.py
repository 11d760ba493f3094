"""The courier manifest PDF: its barcode decodes, its text lists specimens and no patient."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import zxingcpp
from PIL import Image

from bench.harness.runner import Plan, execute
from bench.printing.manifest import manifest_scenario
from bench.scenarios import extra_scenarios
from labdesk.domain.catalog import TemperatureClass as T
from labdesk.domain.manifest import ManifestDocument, ManifestLine, make_manifest_number
from printers.errors import PrinterConfigError
from printers.manifest_pdf import PdfManifestPrinter, render_manifest_pdf

pytestmark = pytest.mark.integration
needs_poppler = pytest.mark.skipif(
    shutil.which("pdftoppm") is None or shutil.which("pdftotext") is None,
    reason="needs poppler-utils (pdftoppm, pdftotext)",
)


def _document(count: int) -> ManifestDocument:
    temperatures = (T.REFRIGERATED, T.AMBIENT, T.FROZEN)
    return ManifestDocument(
        number=make_manifest_number(2026, 1234),
        site_code="CLINIC",
        site_name="Riverside Family Clinic",
        destination="LAB",
        route="CLINIC-LAB (90 min)",
        courier="Chris Okafor",
        station_code="VAN-1",
        started_at="2026-03-02 09:00",
        finished_at="2026-03-02 09:12",
        printed_at="2026-03-02 09:12",
        lines=tuple(
            ManifestLine(
                accession=f"26{n:07d}{n % 10}",
                container="LAV",
                temperature_class=temperatures[n % 3],
                site_code="CLINIC",
                bag_id="BAGR0001" if n % 3 == 0 else "",
            )
            for n in range(1, count + 1)
        ),
    )


@needs_poppler
def test_manifest_barcode_decodes_at_300_dpi(tmp_path: Path) -> None:
    document = _document(7)
    pdf = tmp_path / "manifest.pdf"
    pdf.write_bytes(render_manifest_pdf(document))

    subprocess.run(
        ["pdftoppm", "-r", "300", "-png", "-f", "1", "-l", "1", str(pdf), str(tmp_path / "p")],
        check=True,
    )
    (page,) = tmp_path.glob("p-*.png")
    found = zxingcpp.read_barcodes(Image.open(page))

    assert [(b.format, b.text) for b in found] == [
        (zxingcpp.BarcodeFormat.Code128, document.number)
    ]


@needs_poppler
def test_manifest_text_lists_counts_and_specimens_without_patients(tmp_path: Path) -> None:
    document = _document(100)
    pdf = tmp_path / "manifest.pdf"
    pdf.write_bytes(render_manifest_pdf(document))

    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True, text=True
    ).stdout

    assert "Specimens: 100" in text
    assert "(ambient 34, refrigerated 33, frozen 33)" in text
    assert "Bags: BAGR0001" in text
    assert all(line.accession in text for line in document.lines)
    assert "Page 3 of 3" in text
    for forbidden in ("DOB", "Birth", "Patient", "MRN"):
        assert forbidden not in text


def test_same_manifest_same_bytes() -> None:
    assert render_manifest_pdf(_document(3)) == render_manifest_pdf(_document(3))


def test_pdf_printer_writes_the_document(tmp_path: Path) -> None:
    target = tmp_path / "manifests"
    where = PdfManifestPrinter(f"pdf://{target.as_posix()}").print_manifest(_document(2))
    (written,) = target.glob("*.pdf")
    assert written.read_bytes().startswith(b"%PDF-")
    assert where.startswith("pdf://")


@pytest.mark.parametrize("uri", ["", "tcp://127.0.0.1:9100"], ids=["unset", "label-printer"])
def test_manifests_need_a_document_printer(uri: str) -> None:
    with pytest.raises(PrinterConfigError, match="printer"):
        PdfManifestPrinter(uri).print_manifest(_document(1))


def test_manifest_bench_scenario_runs(tmp_path: Path) -> None:
    plan = Plan(sizes=(300,), iterations=1, warmup=0, process_runs=2, cache_dir=tmp_path)
    results = execute(plan, [manifest_scenario(12)])
    assert results.errors == []
    assert "manifest-pdf-500" in [s.name for s in extra_scenarios()]
