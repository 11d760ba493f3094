"""Words for catalog values shared by several screens (admin catalog, custody, timeline)."""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication

from labdesk.domain.catalog import TemperatureClass

_CONTEXT = "CatalogTableModel"  # the translation context these words were first given


def temperature_label(temperature: TemperatureClass) -> str:
    """Translated transport temperature."""
    labels = {
        TemperatureClass.AMBIENT: QCoreApplication.translate(_CONTEXT, "Ambient"),
        TemperatureClass.REFRIGERATED: QCoreApplication.translate(_CONTEXT, "Refrigerated"),
        TemperatureClass.FROZEN: QCoreApplication.translate(_CONTEXT, "Frozen"),
    }
    return labels[temperature]
