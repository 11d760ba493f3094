"""The add-on dialog: add a test to a specimen already drawn, or order a new collection.

Scan or type the tube's accession, pick the test from the catalog, say who asked; *Check*
asks the catalog (:func:`labdesk.station.add_on.preview_add_on`) and shows allowed or the
reasons it is refused. *Add test* sends :class:`~labdesk.station.commands.AddTestToSpecimen`
and, when ticked and printing is set up, prints the tube's label again (the added test is
marked ``ADD-ON``). When refused, *Order a new collection instead* enters a pending order
of the test for the patient (:class:`~labdesk.station.commands.PlaceOrder`), to be drawn at
the station.

Shared by the station page and the results board (both open it), so it lives in
``ui.widgets`` rather than in one screen family.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from labdesk.catalog.compendium import list_catalog
from labdesk.domain.permissions import Permission, allows
from labdesk.domain.timefmt import format_local
from labdesk.kernel.dto import CatalogRow, SignedInUser
from labdesk.printing.commands import PrintSpecimenLabels
from labdesk.printing.dto import PrintJobRow
from labdesk.station.add_on import AddOnPreview, AddOnResult, preview_add_on
from labdesk.station.commands import AddTestToSpecimen, PlaceOrder
from ui.context import AppContext
from ui.tasks import CommandOp, QueryOp
from ui.widgets.errors import error_text

ALLOWED_STYLE = "color: #1b5e20; font-weight: bold;"
REFUSED_STYLE = "color: #b71c1c; font-weight: bold;"


class AddOnDialog(QDialog):
    """Check, then add a test to a drawn specimen (or order a new collection)."""

    added = Signal(object)
    """:class:`AddOnResult` once the test joined the specimen."""
    printed = Signal(object)
    """The label jobs of the ADD-ON label (a list of :class:`PrintJobRow`)."""
    ordered = Signal(int)
    """The id of the order entered instead."""

    def __init__(
        self,
        context: AppContext,
        user: SignedInUser,
        *,
        accession: str = "",
        station_code: str = "",
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.tr("Add a test to a drawn specimen"))
        self.setMinimumWidth(560)
        self._context = context
        self._user = user
        self._station = station_code
        self.preview: AddOnPreview | None = None
        self.added_result: AddOnResult | None = None
        self.accession_edit = QLineEdit(accession, self)
        self.accession_edit.setPlaceholderText(self.tr("Scan the tube's label or type its ID"))
        self.test_combo = QComboBox(self)
        self.test_combo.setEditable(False)
        self.requester_edit = QLineEdit(self)
        self.requester_edit.setPlaceholderText(self.tr("Clinician or lab contact who asked"))
        self.reprint_check = QCheckBox(self.tr("Print the label again, marked ADD-ON"), self)
        # A clinician may add a test from the results board but not print labels: offering
        # the reprint would turn a successful add-on into a permission error.
        can_print = allows(user.role, Permission.PRINT_LABELS)
        self.reprint_check.setChecked(context.print_setup is not None and can_print)
        self.reprint_check.setEnabled(context.print_setup is not None and can_print)
        if not can_print:
            self.reprint_check.setToolTip(
                self.tr("Your role may not print labels: reprint the tube's label at the station.")
            )
        self.verdict = QLabel(self)
        self.verdict.setWordWrap(True)
        self.verdict.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.check_button = QPushButton(self.tr("&Check"), self)
        self.add_button = QPushButton(self.tr("&Add test"), self)
        self.order_button = QPushButton(self.tr("&Order a new collection instead"), self)
        self.close_button = QPushButton(self.tr("Close"), self)
        self.add_button.setEnabled(False)
        self.order_button.setVisible(False)
        form = QFormLayout()
        form.addRow(self.tr("Specimen (accession)"), self.accession_edit)
        form.addRow(self.tr("Test"), self.test_combo)
        form.addRow(self.tr("Requested by"), self.requester_edit)
        buttons = QHBoxLayout()
        for button in (self.check_button, self.add_button, self.order_button, self.close_button):
            buttons.addWidget(button)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.reprint_check)
        layout.addWidget(self.verdict)
        layout.addLayout(buttons)
        self.check_button.clicked.connect(self.check)
        self.add_button.clicked.connect(self.add)
        self.order_button.clicked.connect(self.order_instead)
        self.close_button.clicked.connect(self.accept)
        self.accession_edit.returnPressed.connect(self.check)
        self.accession_edit.textEdited.connect(self._changed)
        self.test_combo.currentIndexChanged.connect(self._changed)
        QueryOp(context.bus, list_catalog).run(self._show_catalog, self._failed, owner=self)

    # ---------------------------------------------------------------- input

    def _show_catalog(self, catalog: list[CatalogRow]) -> None:
        for row in catalog:
            self.test_combo.addItem(
                f"{row.code} — {row.name} ({row.specimen_type}, {row.container_code})", row.code
            )

    def select_test(self, code: str) -> None:
        """Pick ``code`` in the test list (a scanner or a test drives the dialog with it)."""
        index = self.test_combo.findData(code)
        if index >= 0:
            self.test_combo.setCurrentIndex(index)

    def _code(self) -> str:
        return str(self.test_combo.currentData() or "")

    def _changed(self, *_: object) -> None:
        self.preview = None
        self.add_button.setEnabled(False)
        self.order_button.setVisible(False)

    # ---------------------------------------------------------------- actions

    def check(self) -> None:
        """Ask the catalog whether the add-on is allowed (nothing is saved)."""
        accession, code = self.accession_edit.text().strip(), self._code()
        if not accession or not code:
            self._say(self.tr("Scan the tube and pick a test first."), REFUSED_STYLE)
            return
        clock = self._context.clock
        QueryOp(self._context.bus, preview_add_on, clock, self._user, accession, code).run(
            self._show_preview, self._failed, owner=self
        )

    def _show_preview(self, preview: AddOnPreview) -> None:
        self.preview = preview
        tz = self._context.config.clinic_timezone
        collected = format_local(preview.collected_at, tz)
        if preview.allowed:
            self._say(
                self.tr(
                    "Allowed: {summary} Collected {collected}; its turnaround counts from then."
                )
                .replace("{summary}", preview.summary)
                .replace("{collected}", collected),
                ALLOWED_STYLE,
            )
        else:
            reasons = "\n".join(f"• {r}" for r in preview.reasons)
            self._say(
                self.tr("Refused — {test} cannot be added to {accession}:\n{reasons}")
                .replace("{test}", preview.test_code)
                .replace("{accession}", preview.accession)
                .replace("{reasons}", reasons),
                REFUSED_STYLE,
            )
        self.add_button.setEnabled(preview.allowed)
        self.order_button.setVisible(not preview.allowed)

    def add(self) -> None:
        """Add the checked test to the specimen (the service checks again, locked)."""
        preview = self.preview
        if preview is None or not preview.allowed:
            return
        command = AddTestToSpecimen(
            accession=preview.accession,
            test_code=preview.test_code,
            requested_by=self.requester_edit.text(),
            station_code=self._station,
        )
        self.add_button.setEnabled(False)
        CommandOp(self._context.bus, command, self._user).run(self._added, self._failed, owner=self)

    def _added(self, result: AddOnResult) -> None:
        self.added_result = result
        where = self.tr("on a new order") if result.new_order else self.tr("from its pending order")
        self._say(
            self.tr("{test} added to {accession} ({where}); the lab was sent the add-on.")
            .replace("{test}", result.test_code)
            .replace("{accession}", result.accession)
            .replace("{where}", where),
            ALLOWED_STYLE,
        )
        self.added.emit(result)
        setup = self._context.print_setup
        if self.reprint_check.isChecked() and setup is not None:
            command = PrintSpecimenLabels(setup=setup, accessions=(result.accession,))
            CommandOp(self._context.bus, command, self._user).run(
                self._printed, self._print_failed, owner=self
            )

    def _print_failed(self, error: BaseException) -> None:
        # The test was added: say so still, and why the label did not print.
        self.verdict.setText(
            self.verdict.text()
            + "\n"
            + self.tr("The ADD-ON label did not print: {error}").replace(
                "{error}", error_text(error)
            )
        )

    def _printed(self, rows: list[PrintJobRow]) -> None:
        self.verdict.setText(self.verdict.text() + "\n" + self.tr("ADD-ON label printed."))
        self.printed.emit(rows)

    def order_instead(self) -> None:
        """Enter a pending order of the test for the patient: a new tube will be drawn."""
        preview = self.preview
        if preview is None:
            return
        command = PlaceOrder(
            patient_id=preview.patient_id,
            test_codes=(preview.test_code,),
            ordering_provider=self.requester_edit.text(),
            station_code=self._station,
        )
        CommandOp(self._context.bus, command, self._user).run(
            self._ordered, self._failed, owner=self
        )

    def _ordered(self, order_id: int) -> None:
        self.order_button.setVisible(False)
        self._say(
            self.tr("Order entered: {test} waits to be collected at the station.").replace(
                "{test}", self.preview.test_code if self.preview else ""
            ),
            ALLOWED_STYLE,
        )
        self.ordered.emit(order_id)

    def _failed(self, error: BaseException | str) -> None:
        text = error if isinstance(error, str) else error_text(error)
        self._say(text, REFUSED_STYLE)

    def _say(self, text: str, style: str) -> None:
        self.verdict.setStyleSheet(style)
        self.verdict.setText(text)
        self.adjustSize()  # the wrapped reasons need their lines
