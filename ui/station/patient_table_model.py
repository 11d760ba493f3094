"""Patient search results as a table: MRN, name, date of birth, sex."""

from __future__ import annotations

from PySide6.QtCore import QT_TRANSLATE_NOOP, QCoreApplication

from labdesk.domain.patient import Sex
from labdesk.kernel.dto import PatientSummary
from ui.widgets.table_model import Column, RowTableModel

_CONTEXT = "PatientTableModel"


def sex_label(sex: Sex) -> str:
    """Translated administrative sex."""
    labels = {
        Sex.FEMALE: QCoreApplication.translate(_CONTEXT, "Female"),
        Sex.MALE: QCoreApplication.translate(_CONTEXT, "Male"),
        Sex.OTHER: QCoreApplication.translate(_CONTEXT, "Other"),
        Sex.UNKNOWN: QCoreApplication.translate(_CONTEXT, "Unknown"),
    }
    return labels[sex]


class PatientTableModel(RowTableModel[PatientSummary]):
    """Rows of ``PatientSummary`` as ``search_patients`` returns them."""

    translation_context = _CONTEXT
    columns = (
        Column[PatientSummary](QT_TRANSLATE_NOOP(_CONTEXT, "MRN"), lambda p: p.mrn),
        Column[PatientSummary](
            QT_TRANSLATE_NOOP(_CONTEXT, "Name"),
            lambda p: p.display_name,
            sort_key=lambda p: f"{p.family_name.casefold()}|{p.given_name.casefold()}",
        ),
        # ISO dates: unambiguous when two identifiers are checked against a wristband.
        Column[PatientSummary](
            QT_TRANSLATE_NOOP(_CONTEXT, "DOB"), lambda p: p.birth_date.isoformat()
        ),
        Column[PatientSummary](QT_TRANSLATE_NOOP(_CONTEXT, "Sex"), lambda p: sex_label(p.sex)),
    )
