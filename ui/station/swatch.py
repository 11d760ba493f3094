"""Cap colour swatches: the tube's cap drawn next to its colour name."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRect, QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QWidget,
)

from ui.station.models import CAP_ROLE

SWATCH_WIDTH = 26
SWATCH_MARGIN = 4


class CapSwatchDelegate(QStyledItemDelegate):
    """Paints a rounded cap in the colour the model gives under ``CAP_ROLE``, then the text."""

    def paint(
        self,
        painter: QPainter,
        option: QStyleOptionViewItem,
        index: QModelIndex | QPersistentModelIndex,
    ) -> None:
        """Background and selection as usual, a cap swatch, then the colour's name."""
        hex_colour = index.data(CAP_ROLE)
        if not hex_colour:
            super().paint(painter, option, index)
            return
        self.initStyleOption(option, index)
        widget: QWidget | None = option.widget  # None when painting off-screen
        style = widget.style() if widget is not None else QApplication.style()
        text = option.text
        option.text = ""
        style.drawControl(QStyle.ControlElement.CE_ItemViewItem, option, painter, widget)
        rect: QRect = option.rect
        cap = QRect(
            rect.left() + SWATCH_MARGIN,
            rect.top() + SWATCH_MARGIN + 1,
            SWATCH_WIDTH,
            max(8, rect.height() - 2 * SWATCH_MARGIN - 2),
        )
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        colour = QColor(hex_colour)
        painter.setPen(QPen(colour.darker(160), 1))
        painter.setBrush(colour)
        painter.drawRoundedRect(cap, 4, 4)
        painter.restore()
        text_rect = rect.adjusted(SWATCH_WIDTH + 2 * SWATCH_MARGIN, 0, 0, 0)
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        role = (
            option.palette.ColorRole.HighlightedText if selected else option.palette.ColorRole.Text
        )
        painter.save()
        painter.setPen(option.palette.color(role))
        painter.drawText(
            text_rect, int(Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft), text
        )
        painter.restore()

    def sizeHint(
        self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> QSize:
        """Room for the swatch in front of the text."""
        hint = super().sizeHint(option, index)
        return QSize(hint.width() + SWATCH_WIDTH + 3 * SWATCH_MARGIN, max(hint.height(), 24))


def install_swatch(view: QAbstractItemView, column: int) -> CapSwatchDelegate:
    """Use a swatch delegate for ``column`` of the table ``view``."""
    delegate = CapSwatchDelegate(view)
    view.setItemDelegateForColumn(column, delegate)
    return delegate
