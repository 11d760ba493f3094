"""Spooler rules without a database: snapshots, back-off, label counts, config."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from labdesk.config import ConfigError, load_config
from labdesk.domain.accession import validate_accession
from labdesk.domain.errors import ValidationError
from labdesk.domain.label_snapshot import LabelSnapshot
from labdesk.domain.printing import Delivery, LabelContent
from labdesk.printing.dto import LabelSettings
from labdesk.printing.label_content import TEST_ACCESSION, with_aliquots
from labdesk.printing.spooler import BACKOFF_MAX, backoff
from printers.errors import (
    LabelDoesNotFit,
    PresetError,
    PrinterConfigError,
    PrinterOffline,
    PrinterRejected,
    PrinterTimeout,
    PrinterUnreachable,
)
from printers.spool_adapter import LabelRendererAdapter

CONTENT = LabelContent(
    accession="2600012346",
    family_name="Nguyễn",
    given_name="Thị ^XZ ~JR",
    birth_date="1984-03-05",
    mrn="M0000042",
    collected_at="2026-03-02 07:50",
    collector_initials="MA",
    container="SST 5 mL",
    cap_colour="gold",
    tests=("CMP", "LIPID"),
    specimen_type="serum",
    stat=True,
)

texts = st.text(min_size=0, max_size=40)


@given(family=texts, given_name=texts, tests=st.lists(texts, max_size=5))
def test_snapshot_round_trips_any_label(family: str, given_name: str, tests: list[str]) -> None:
    label = replace(CONTENT, family_name=family, given_name=given_name, tests=tuple(tests))
    snapshot = LabelSnapshot(labels=(label, label), preset="2x1-300", copies=2)
    assert LabelSnapshot.from_json(snapshot.to_json()) == snapshot


def test_reprint_snapshot_keeps_everything_but_the_mark() -> None:
    snapshot = LabelSnapshot(labels=tuple(with_aliquots(CONTENT, 2)), preset="2x1-203")
    again = snapshot.as_reprint(3)
    assert [label.reprint_count for label in again.labels] == [3, 3]
    assert [label.aliquot for label in again.labels] == ["", "1"]
    assert again.as_reprint(0) == snapshot


@pytest.mark.parametrize(
    "stored",
    ["", "{}", '{"version": 99, "preset": "x", "copies": 1, "labels": []}', '{"version": 1}'],
    ids=["empty", "no-fields", "future-version", "no-labels"],
)
def test_an_unreadable_snapshot_says_what_to_do(stored: str) -> None:
    with pytest.raises(ValidationError, match="cannot be read") as caught:
        LabelSnapshot.from_json(stored)
    assert "Print a new label" in caught.value.hint


def test_snapshot_from_a_newer_labdesk_ignores_unknown_fields() -> None:
    data = json.loads(LabelSnapshot(labels=(CONTENT,), preset="2x1-203").to_json())
    data["labels"][0]["colour_band"] = "red"
    assert LabelSnapshot.from_json(json.dumps(data)).labels == (CONTENT,)


def test_backoff_doubles_up_to_five_minutes() -> None:
    waits = [backoff(n) for n in range(1, 10)]
    assert waits[:4] == [timedelta(seconds=s) for s in (5, 10, 20, 40)]
    assert waits[-1] == BACKOFF_MAX == timedelta(minutes=5)
    assert backoff(10_000) == BACKOFF_MAX


def test_label_count_per_container() -> None:
    settings = LabelSettings(copies=1, copies_by_container={"SST": 3})
    assert (settings.copies_for("SST"), settings.copies_for("LAV")) == (3, 1)
    assert [c.aliquot for c in with_aliquots(CONTENT, 3)] == ["", "1", "2"]


def test_label_settings_come_from_the_config_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LABDESK_LABEL_PRESET", raising=False)
    file = tmp_path / "config.toml"
    file.write_text(
        '[labdesk]\nlabel_preset = "2x1-300"\nlabel_copies = 2\n'
        "[labdesk.label_copies_by_container]\nSST = 3\nURCUP = 1\n"
    )
    settings = LabelSettings.from_config(load_config(file))
    assert settings == LabelSettings(
        preset="2x1-300", copies=2, copies_by_container={"SST": 3, "URCUP": 1}
    )
    monkeypatch.setenv("LABDESK_LABEL_PRESET", "2x0.75-203")
    assert load_config(file).label_preset == "2x0.75-203"


@pytest.mark.parametrize(
    "toml",
    [
        "label_copies = 0",
        "label_copies = 50",
        "label_copies = true",
        '[labdesk.label_copies_by_container]\nSST = "two"',
    ],
)
def test_bad_label_counts_are_refused(tmp_path: Path, toml: str) -> None:
    file = tmp_path / "config.toml"
    file.write_text("[labdesk]\n" + toml + "\n")
    with pytest.raises(ConfigError, match="label_copies"):
        load_config(file)


@pytest.mark.parametrize(
    ("error", "delivery"),
    [
        (PrinterOffline, Delivery.RETRY),
        (PrinterUnreachable, Delivery.UNCERTAIN),
        (PrinterTimeout, Delivery.UNCERTAIN),
        (PrinterRejected, Delivery.FAILED),
        (PrinterConfigError, Delivery.FAILED),
        (PresetError, Delivery.FAILED),
        (LabelDoesNotFit, Delivery.FAILED),
    ],
)
def test_printer_errors_tell_the_spooler_what_to_do(error: type, delivery: Delivery) -> None:
    assert error("x").delivery is delivery


def test_renderer_adapter_renders_zpl_and_pdf_and_refuses_other_languages() -> None:
    renderer = LabelRendererAdapter()
    zpl = renderer.render([CONTENT], "2x1-203", copies=2)
    assert zpl.payload.startswith(b"^XA")
    assert b"^PQ2,0,1,Y" in zpl.payload
    assert zpl.preview_png is not None
    assert renderer.render([CONTENT], "sheet-letter-30", language="pdf").payload.startswith(b"%PDF")
    with pytest.raises(PrinterConfigError, match="'epl'"):
        renderer.render([CONTENT], "2x1-203", language="epl")
    with pytest.raises(PresetError, match="Unknown label preset"):
        renderer.render([CONTENT], "nope")


def test_the_test_label_accession_is_valid_and_from_before_labdesk() -> None:
    assert validate_accession(TEST_ACCESSION) == TEST_ACCESSION
    assert TEST_ACCESSION.startswith("00")
