"""An inline status text that wraps anywhere, for messages that quote long user input.

A word-wrapped ``QLabel`` (``ui.widgets.message_label``) breaks lines only between words: a long
printer address without spaces makes the label as wide as the address, which widens the
whole panel, or is cut off at its edge (issue 11, item 7). This read-only text view wraps
at word boundaries where it can and anywhere else where it must, and takes as much height
as its text needs at the width the layout gives it; it never asks for more width.
"""

from __future__ import annotations

import math

from PySide6.QtCore import QSizeF, Qt
from PySide6.QtGui import QPalette, QTextOption
from PySide6.QtWidgets import QFrame, QSizePolicy, QTextEdit, QWidget

from ui.widgets.message_label import ERROR_COLOUR


class MessageView(QTextEdit):
    """Selectable plain text, red while it shows an error; the API of ``MessageLabel``."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setReadOnly(True)
        self.setAcceptRichText(False)  # error text may contain user input
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setLineWrapMode(QTextEdit.LineWrapMode.WidgetWidth)
        self.setWordWrapMode(QTextOption.WrapMode.WrapAtWordBoundaryOrAnywhere)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        # Never focused: the scanner router treats a focused text edit as a field that keeps
        # what is typed, and a scan must not vanish into a status line.
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.document().setDocumentMargin(0)
        self._normal = QPalette(self.palette())
        self._normal.setColor(QPalette.ColorRole.Base, Qt.GlobalColor.transparent)  # a label
        self.setPalette(self._normal)
        self.viewport().setAutoFillBackground(False)
        # documentSizeChanged follows the width; textChanged catches a first line of text
        # after an empty text, which lays out to the same size.
        self.document().documentLayout().documentSizeChanged.connect(self._fit_height)
        self.textChanged.connect(self._fit_text)  # a bound method: no reference cycle
        self.is_error = False
        self._fit_height(self.document().size())

    def text(self) -> str:
        """The text shown (as ``QLabel.text``)."""
        return self.toPlainText()

    def setText(self, text: str) -> None:
        """Always plain text: ``QTextEdit.setText`` would render text that looks like HTML."""
        self.setPlainText(text)  # the height follows when the document is laid out

    def show_info(self, text: str) -> None:
        """Show ``text`` in the normal colour."""
        self.is_error = False
        self.setPalette(self._normal)
        self.setText(text)

    def show_error(self, text: str) -> None:
        """Show ``text`` as an error."""
        self.is_error = True
        palette = QPalette(self._normal)
        palette.setColor(QPalette.ColorRole.Text, ERROR_COLOUR)
        self.setPalette(palette)
        self.setText(text)

    def _fit_text(self) -> None:
        self._fit_height(self.document().size())

    def _fit_height(self, size: QSizeF) -> None:
        """As tall as the wrapped text (nothing when empty), like a word-wrapped label."""
        height = 0 if self.document().isEmpty() else math.ceil(size.height())
        self.setFixedHeight(height + 2 * self.frameWidth())
