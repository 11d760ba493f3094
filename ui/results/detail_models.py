"""Table models of the result drill-down: values, custody events and signatures."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QT_TRANSLATE_NOOP, QCoreApplication, QModelIndex, QObject, Qt
from PySide6.QtGui import QColor, QFont

from labdesk.domain.result import AbnormalFlag, AckMeaning, ResultStatus
from labdesk.domain.timefmt import format_local
from labdesk.results.board_dto import CustodyLine, ResultLine, Signature
from ui.widgets.table_model import Column, ModelIndex, RowTableModel

_CONTEXT = "DetailModels"
ABNORMAL_COLOUR = QColor("#b26a00")
CRITICAL_COLOUR = QColor("#b00020")


def meaning_label(meaning: AckMeaning) -> str:
    """Translated signature meaning."""
    labels = {
        AckMeaning.REVIEWED: QCoreApplication.translate(_CONTEXT, "Reviewed"),
        AckMeaning.PATIENT_NOTIFIED: QCoreApplication.translate(_CONTEXT, "Patient notified"),
        AckMeaning.ACTION_TAKEN: QCoreApplication.translate(_CONTEXT, "Action taken"),
    }
    return labels[meaning]


def result_status_label(status: ResultStatus) -> str:
    """Translated observation status (HL7 OBX-11)."""
    labels = {
        ResultStatus.PRELIMINARY: QCoreApplication.translate(_CONTEXT, "Preliminary"),
        ResultStatus.FINAL: QCoreApplication.translate(_CONTEXT, "Final"),
        ResultStatus.CORRECTED: QCoreApplication.translate(_CONTEXT, "Corrected"),
        ResultStatus.WRONG: QCoreApplication.translate(_CONTEXT, "Retracted (wrong patient)"),
        ResultStatus.NOT_OBTAINED: QCoreApplication.translate(_CONTEXT, "Not performed"),
    }
    return labels.get(status, str(status))


def flag_text(flag: AbnormalFlag | None) -> str:
    """The HL7 abnormal flag as shown next to a value (empty for normal)."""
    if flag is None or flag is AbnormalFlag.NORMAL:
        return ""
    return flag.value


class ResultLineModel(RowTableModel[ResultLine]):
    """Every observation of the test; superseded values stay, struck through."""

    translation_context = _CONTEXT

    def __init__(self, timezone: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.timezone = timezone
        tz = timezone
        # Per instance: the times are shown in the clinic's zone.
        self.columns = (  # type: ignore[misc]
            Column[ResultLine](
                QT_TRANSLATE_NOOP(_CONTEXT, "Observation"),
                lambda r: r.observation_name,
                stretch=True,
            ),
            Column[ResultLine](QT_TRANSLATE_NOOP(_CONTEXT, "Value"), lambda r: r.value),
            Column[ResultLine](QT_TRANSLATE_NOOP(_CONTEXT, "Units"), lambda r: r.units),
            Column[ResultLine](
                QT_TRANSLATE_NOOP(_CONTEXT, "Reference range"), lambda r: r.reference_range
            ),
            Column[ResultLine](
                QT_TRANSLATE_NOOP(_CONTEXT, "Flag"), lambda r: flag_text(r.abnormal_flag)
            ),
            Column[ResultLine](
                QT_TRANSLATE_NOOP(_CONTEXT, "Status"), lambda r: result_status_label(r.status)
            ),
            Column[ResultLine](
                QT_TRANSLATE_NOOP(_CONTEXT, "Received"),
                lambda r: format_local(r.received_at, tz),
                sort_key=lambda r: r.received_at.timestamp(),
            ),
            Column[ResultLine](
                QT_TRANSLATE_NOOP(_CONTEXT, "History"),
                lambda r: (
                    QCoreApplication.translate(_CONTEXT, "replaced by a correction")
                    if r.superseded
                    else (
                        QCoreApplication.translate(_CONTEXT, "correction")
                        if r.supersedes_id
                        else ""
                    )
                ),
            ),
        )

    def data(self, index: ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        """Abnormal values coloured, critical ones bold, superseded ones struck through."""
        if index.isValid() and 0 <= index.row() < self.rowCount():
            line = self.row_at(index.row())
            if role == Qt.ItemDataRole.ForegroundRole and line.abnormal_flag is not None:
                if line.abnormal_flag.is_critical:
                    return CRITICAL_COLOUR
                if line.abnormal_flag is not AbnormalFlag.NORMAL:
                    return ABNORMAL_COLOUR
            if role == Qt.ItemDataRole.FontRole:
                font = QFont()
                font.setStrikeOut(line.superseded)
                font.setBold(line.abnormal_flag is not None and line.abnormal_flag.is_critical)
                return font
        return super().data(index, role)


class CustodyLineModel(RowTableModel[CustodyLine]):
    """The specimen's chain of custody, in order."""

    translation_context = _CONTEXT

    def __init__(self, timezone: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.timezone = timezone
        tz = timezone
        # Per instance: the times are shown in the clinic's zone.
        self.columns = (  # type: ignore[misc]
            Column[CustodyLine](
                QT_TRANSLATE_NOOP(_CONTEXT, "#"), lambda c: str(c.seq), sort_key=lambda c: c.seq
            ),
            Column[CustodyLine](
                QT_TRANSLATE_NOOP(_CONTEXT, "Event"), lambda c: c.kind.replace("_", " ")
            ),
            Column[CustodyLine](
                QT_TRANSLATE_NOOP(_CONTEXT, "When"),
                lambda c: format_local(c.occurred_at, tz),
                sort_key=lambda c: c.occurred_at.timestamp(),
            ),
            Column[CustodyLine](QT_TRANSLATE_NOOP(_CONTEXT, "Where"), lambda c: c.location),
            Column[CustodyLine](QT_TRANSLATE_NOOP(_CONTEXT, "Who"), lambda c: c.actor),
            Column[CustodyLine](
                QT_TRANSLATE_NOOP(_CONTEXT, "Reason / note"),
                lambda c: " — ".join(t for t in (c.reason, c.note) if t),
                stretch=True,
            ),
        )


class SignatureModel(RowTableModel[Signature]):
    """Acknowledgements as 21 CFR 11.50 shows a signature: printed name, date/time, meaning."""

    translation_context = _CONTEXT

    def __init__(self, timezone: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.timezone = timezone
        tz = timezone
        # Per instance: the times are shown in the clinic's zone.
        self.columns = (  # type: ignore[misc]
            Column[Signature](QT_TRANSLATE_NOOP(_CONTEXT, "Signed by"), lambda s: s.printed_name),
            Column[Signature](
                QT_TRANSLATE_NOOP(_CONTEXT, "Date and time"),
                lambda s: format_local(s.signed_at, tz, "%Y-%m-%d %H:%M %Z"),
                sort_key=lambda s: s.signed_at.timestamp(),
            ),
            Column[Signature](
                QT_TRANSLATE_NOOP(_CONTEXT, "Meaning"), lambda s: meaning_label(s.meaning)
            ),
            Column[Signature](QT_TRANSLATE_NOOP(_CONTEXT, "Note"), lambda s: s.note, stretch=True),
        )


__all__ = ["CustodyLineModel", "QModelIndex", "ResultLineModel", "SignatureModel"]
