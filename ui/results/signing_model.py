"""The table of the signature dialog: every test being signed, whose it is, and its values."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QT_TRANSLATE_NOOP, QCoreApplication, QObject, Qt
from PySide6.QtGui import QFont

from labdesk.domain.result import AbnormalFlag
from labdesk.results.ack_dto import SigningLine, SigningValue
from ui.results.board_model import status_label
from ui.results.detail_models import ABNORMAL_COLOUR, CRITICAL_COLOUR
from ui.widgets.table_model import Column, ModelIndex, RowTableModel

_CONTEXT = "SigningModel"


def _tr(text: str) -> str:
    return QCoreApplication.translate(_CONTEXT, text)


def flag_label(flag: AbnormalFlag | None) -> str:
    """The abnormal flag in words with its HL7 code, e.g. ``Critical high (HH)``."""
    if flag is None:
        return ""
    labels = {
        AbnormalFlag.NORMAL: _tr("Normal"),
        AbnormalFlag.LOW: _tr("Low (L)"),
        AbnormalFlag.HIGH: _tr("High (H)"),
        AbnormalFlag.ABNORMAL: _tr("Abnormal (A)"),
        AbnormalFlag.CRITICAL_LOW: _tr("Critical low (LL)"),
        AbnormalFlag.CRITICAL_HIGH: _tr("Critical high (HH)"),
        AbnormalFlag.CRITICAL: _tr("Critical (AA)"),
    }
    return labels[flag]


@dataclass(frozen=True)
class SigningRow:
    """One row of the table: a value of a test, or the test alone when it has none."""

    line: SigningLine
    value: SigningValue | None


def signing_rows(lines: list[SigningLine]) -> list[SigningRow]:
    """One row per current value; a test without values (not performed) gets one row."""
    return [SigningRow(line, value) for line in lines for value in (line.values or (None,))]


def _value_text(row: SigningRow) -> str:
    if row.value is None:  # e.g. not performed, or a rejected specimen: nothing measured
        return status_label(row.line.status)
    return row.value.value


class SigningModel(RowTableModel[SigningRow]):
    """Patient, MRN, test and each current value with units and flag; criticals in red."""

    translation_context = _CONTEXT
    columns = (
        Column[SigningRow](QT_TRANSLATE_NOOP(_CONTEXT, "Patient"), lambda r: r.line.patient_name),
        Column[SigningRow](QT_TRANSLATE_NOOP(_CONTEXT, "MRN"), lambda r: r.line.mrn),
        Column[SigningRow](
            QT_TRANSLATE_NOOP(_CONTEXT, "Test"),
            lambda r: r.line.test_name,
            tooltip=lambda r: f"{r.line.test_name} ({r.line.test_code})",
            stretch=True,  # long catalog names elide; the flag and value stay in view
        ),
        Column[SigningRow](
            QT_TRANSLATE_NOOP(_CONTEXT, "Observation"),
            lambda r: r.value.observation_name if r.value else "—",
        ),
        Column[SigningRow](QT_TRANSLATE_NOOP(_CONTEXT, "Value"), _value_text),
        Column[SigningRow](
            QT_TRANSLATE_NOOP(_CONTEXT, "Units"), lambda r: r.value.units if r.value else ""
        ),
        Column[SigningRow](
            QT_TRANSLATE_NOOP(_CONTEXT, "Flag"),
            lambda r: flag_label(r.value.abnormal_flag) if r.value else "",
        ),
        Column[SigningRow](
            QT_TRANSLATE_NOOP(_CONTEXT, "Reference range"),
            lambda r: r.value.reference_range if r.value else "",
        ),
    )
    VALUE_COLUMNS = frozenset({4, 5, 6})
    """Value, units and flag: coloured and bolded by the flag."""

    def __init__(self, lines: list[SigningLine], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.set_rows(signing_rows(lines))

    def data(self, index: ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        """Abnormal values coloured, critical ones red and bold."""
        if (
            index.isValid()
            and 0 <= index.row() < self.rowCount()
            and index.column() in self.VALUE_COLUMNS
        ):
            value = self.row_at(index.row()).value
            if value is not None and role == Qt.ItemDataRole.ForegroundRole and value.abnormal:
                return CRITICAL_COLOUR if value.critical else ABNORMAL_COLOUR
            if value is not None and role == Qt.ItemDataRole.FontRole and value.abnormal:
                font = QFont()
                font.setBold(True)
                return font
        return super().data(index, role)
