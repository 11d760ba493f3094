"""Courier page: start a pickup at a site, scan specimens and bags, finish with a PIN, print.

Scanner-first: the scan field keeps focus; every scan is answered at once with a colour and
a sound (ok, already there, warning, refused). Minimum necessary: the page shows specimen
ID, container, temperature class and site, never a patient name or date of birth.

Live updates (``ui/live.py``): the open manifest and the list still waiting at the site
reload when manifests, custody or specimens change at any station (a tube collected at
the site, a scan from a second courier device, the lab's receipt).
"""

from __future__ import annotations

import logging

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from labdesk.custody.commands import FinishPickup, PrintManifest, ScanPickup, StartPickup
from labdesk.custody.dto import ManifestView, PickupSite, ScanFeedback
from labdesk.custody.pickup import open_manifests, pickup_manifest, pickup_sites
from labdesk.domain.catalog import TemperatureClass
from labdesk.domain.errors import LabdeskError, StorageError
from labdesk.domain.manifest import BagId, ManifestStatus
from labdesk.domain.scan_rules import Severity
from labdesk.kernel.changes import Topic
from labdesk.kernel.dto import SignedInUser
from ui.catalog_labels import temperature_label
from ui.context import AppContext
from ui.custody.models import ManifestRowModel, ReadyModel
from ui.custody.widgets import ScanBanner, ScanQueue, TransitPanel, ask_secret
from ui.scanner import ScanRouter
from ui.tasks import CommandOp, QueryOp, run_in_background
from ui.widgets.page import Page
from ui.widgets.specimen_timeline import open_specimen_timeline
from ui.widgets.table_view import sorting_table_view

logger = logging.getLogger(__name__)

RETRY_HINT = "Nothing was recorded for this scan: scan it again when the connection is back."
BAG_EXAMPLE = "BAGR0042"
HINT_COLOUR = "#555555"
LIVE_TOPICS = (Topic.MANIFESTS, Topic.CUSTODY, Topic.SPECIMENS)
"""What the manifest and the waiting list show."""


class CourierPage(Page):
    """What a courier sees after signing in."""

    scan_handled = Signal(object)
    """A scan's ScanFeedback, its error, or None when the page refused it (no open pickup)."""
    manifest_loaded = Signal(object)
    finished = Signal(object)
    printed = Signal(str)

    def __init__(
        self, context: AppContext, user: SignedInUser, parent: QWidget | None = None
    ) -> None:
        super().__init__(context, user, parent)
        self.manifest: ManifestView | None = None
        self.bag: BagId | None = None
        self._queue = ScanQueue(self._scan)
        tz = context.config.clinic_timezone
        self.site_box = QComboBox(self)
        self.route_box = QComboBox(self)
        self.start_button = QPushButton(self.tr("Start pickup"), self)
        self.start_button.clicked.connect(self.start)
        self.site_box.currentIndexChanged.connect(self._fill_routes)
        self.manifest_label = QLabel(self.tr("No pickup open: choose the site and start."), self)
        self.manifest_label.setWordWrap(True)
        self.scan_edit = QLineEdit(self)
        self.scan_edit.setPlaceholderText(self.tr("Scan a specimen label or a bag barcode"))
        self.scan_edit.setAccessibleName(self.tr("Courier scan"))
        self.scan_edit.returnPressed.connect(self._scanned)
        self.bag_label = QLabel(self.tr("No bag open: specimens travel loose."), self)
        # The format parse_bag_id accepts (labdesk.domain.manifest), told where bags are.
        self.bag_hint = QLabel(
            self.tr(
                "Bag labels read BAG, then A (ambient), R (refrigerated) or F (frozen), then "
                "the bag's number, e.g. {example}: scan the bag, then the tubes in it."
            ).format(example=BAG_EXAMPLE),
            self,
        )
        self.bag_hint.setWordWrap(True)
        self.bag_hint.setStyleSheet(f"color: {HINT_COLOUR};")  # a hint, not a status
        self.banner = ScanBanner(self)
        self.model = ManifestRowModel(tz, self)
        self.table: QTableView = sorting_table_view(self.model, self)
        self.table.setColumnHidden(5, True)  # the lab's outcome: not the courier's concern
        self.ready_model = ReadyModel(tz, self)
        self.ready_table: QTableView = sorting_table_view(self.ready_model, self)
        self.ready_label = QLabel(self)
        self.transit = TransitPanel(context, self, user=user)
        self.timeline_button = QPushButton(self.tr("Timeline…"), self)
        self.timeline_button.clicked.connect(self.show_timeline)
        self.finish_button = QPushButton(self.tr("Finish pickup…"), self)
        self.finish_button.clicked.connect(self.finish)
        self.finish_button.setEnabled(False)
        self.print_button = QPushButton(self.tr("Print manifest again"), self)
        self.print_button.clicked.connect(self.print_again)
        self.print_button.setEnabled(False)
        self._build_layout()
        self.setFocusProxy(self.scan_edit)
        self.live_view = self.watch_changes(
            LIVE_TOPICS, self._reload_live, finished=self.manifest_loaded
        )
        run_in_background(self._load, self._loaded, self.banner.show_error, owner=self)

    def _build_layout(self) -> None:
        start = QHBoxLayout()
        start.addWidget(QLabel(self.tr("Site"), self))
        start.addWidget(self.site_box, 1)
        start.addWidget(QLabel(self.tr("Route"), self))
        start.addWidget(self.route_box, 1)
        start.addWidget(self.start_button)
        lists = QSplitter(self)
        left, right = QWidget(lists), QWidget(lists)
        left_layout, right_layout = QVBoxLayout(left), QVBoxLayout(right)
        left_layout.addWidget(QLabel(self.tr("On this manifest"), left))
        left_layout.addWidget(self.table)
        right_layout.addWidget(self.ready_label)
        right_layout.addWidget(self.ready_table)
        lists.addWidget(left)
        lists.addWidget(right)
        lists.setSizes([700, 400])
        buttons = QHBoxLayout()
        buttons.addWidget(self.timeline_button)
        buttons.addStretch(1)
        buttons.addWidget(self.print_button)
        buttons.addWidget(self.finish_button)
        layout = self.page_layout(
            self.tr("Courier pickup"),
            self.tr(
                "Start a pickup at your site, scan every specimen (or its bag), then finish "
                "with your PIN: the manifest prints for the lab."
            ),
        )
        layout.addLayout(start)
        layout.addWidget(self.manifest_label)
        layout.addWidget(self.scan_edit)
        layout.addWidget(self.bag_label)
        layout.addWidget(self.bag_hint)
        layout.addWidget(self.banner)
        layout.addWidget(lists, 3)
        layout.addWidget(self.transit, 1)
        layout.addLayout(buttons)

    # ------------------------------------------------------------ loading and starting

    def _load(self) -> tuple[list[PickupSite], list[ManifestView]]:
        user = self._user
        return self._context.bus.query(
            lambda uow: (pickup_sites(uow, user), open_manifests(uow, user))
        )

    def _loaded(self, found: tuple[list[PickupSite], list[ManifestView]]) -> None:
        sites, manifests = found
        self.site_box.clear()
        for site in sites:
            self.site_box.addItem(f"{site.code} — {site.name}", site)
        still_open = [m for m in manifests if m.status is ManifestStatus.OPEN]
        if still_open:
            self._reload(still_open[0].number)

    def _fill_routes(self) -> None:
        self.route_box.clear()
        site = self.site_box.currentData()
        if isinstance(site, PickupSite):
            for route in site.routes:
                self.route_box.addItem(
                    self.tr("{code} to {to} ({m} min)").format(
                        code=route.code, to=route.to_site, m=route.transit_minutes
                    ),
                    route.code,
                )

    def start(self) -> None:
        """Open (or resume) the pickup at the chosen site."""
        site = self.site_box.currentData()
        if not isinstance(site, PickupSite):
            return
        route = self.route_box.currentData()
        station = self._context.config.station_code

        command = StartPickup(site_code=site.code, route_code=route, station_code=station)
        CommandOp(self._context.bus, command, self._user).run(
            self._show_manifest, self.banner.show_error, owner=self
        )

    def _reload(self, number: str) -> None:
        QueryOp(self._context.bus, pickup_manifest, self._user, number).run(
            self._show_manifest, self.banner.show_error, owner=self
        )

    def _reload_live(self) -> None:
        """Re-read the open manifest after a change elsewhere (nothing open: nothing to do)."""
        if self.manifest is None:
            self._live_finished()
            return

        def failed(error: Exception) -> None:
            # The banner answers scans: a background re-read that failed (the server is
            # away; the strip says so) keeps what it shows, and the next change retries.
            logger.warning("manifest not re-read after a change: %s", error)
            if self.live_view is not None:
                self.live_view.load_failed()

        QueryOp(self._context.bus, pickup_manifest, self._user, self.manifest.number).run(
            self._show_manifest, failed, owner=self
        )

    def _live_finished(self) -> None:
        if self.live_view is not None:
            self.live_view.load_finished()

    def _show_manifest(self, view: ManifestView) -> None:
        self.manifest = view
        self.model.set_rows(view.rows)
        self.ready_model.set_rows(view.not_scanned)
        self._describe()
        is_open = view.status is ManifestStatus.OPEN
        self.scan_edit.setEnabled(is_open)  # a finished manifest takes no more scans
        self.finish_button.setEnabled(is_open)
        self.print_button.setEnabled(view.status is ManifestStatus.IN_TRANSIT)
        if is_open:
            self.scan_edit.setFocus()
        self.manifest_loaded.emit(view)

    def _describe(self) -> None:
        view = self.manifest
        if view is None:
            return
        per_class: dict[TemperatureClass, int] = {}
        for n in range(self.model.rowCount()):
            temperature = self.model.row_at(n).temperature_class
            per_class[temperature] = per_class.get(temperature, 0) + 1
        counts = ", ".join(
            f"{temperature_label(t)} {per_class[t]}" for t in TemperatureClass if t in per_class
        )
        route = f"{view.route.code} ({view.route.transit_minutes} min)" if view.route else "—"
        self.manifest_label.setText(
            self.tr("Manifest {n} at {site} · route {r} · {count} specimen(s) {c}").format(
                n=view.number,
                site=view.site_code,
                r=route,
                count=self.model.rowCount(),
                c=f"({counts})" if counts else "",
            )
        )
        waiting = self.ready_model.rowCount()
        self.ready_label.setText(
            self.tr("Still waiting at the site: %n", "", waiting)
            if waiting
            else self.tr("Nothing else is waiting at the site.")
        )

    # ------------------------------------------------------------ scanning

    def attach_scanner(self, router: ScanRouter) -> None:
        """Take tube scans read outside the scan field while this page is shown."""
        router.specimen_scanned.connect(self._routed_scan)

    def _routed_scan(self, text: str) -> None:
        if self.isVisible():
            self.handle_scan(text)

    def _scanned(self) -> None:
        text = self.scan_edit.text()
        self.scan_edit.clear()
        self.handle_scan(text)

    def handle_scan(self, text: str) -> None:
        """Queue one scan; without an open pickup, say so (error sound) and record nothing."""
        if not text.strip():
            return
        if self.manifest is None or self.manifest.status is not ManifestStatus.OPEN:
            self.banner.show_text(
                self.tr(
                    "Start the pickup first: choose your site and route, then press Start "
                    "pickup. Nothing was recorded; scan the tube again after that."
                ),
                Severity.ERROR,
            )
            self.scan_handled.emit(None)
            return
        self._queue.push(text)

    def _scan(self, text: str) -> None:
        assert self.manifest is not None
        number, bag = self.manifest.number, self.bag

        command = ScanPickup(manifest_number=number, scanned=text, bag=bag)
        CommandOp(self._context.bus, command, self._user).run(
            self._scan_done, self._scan_failed, owner=self
        )

    def _scan_done(self, feedback: ScanFeedback) -> None:
        if feedback.bag is not None:
            self.bag = feedback.bag
            self.bag_label.setText(
                self.tr("Open bag: {bag} ({t}). Scan another bag to change.").format(
                    bag=feedback.bag.code, t=temperature_label(feedback.bag.temperature_class)
                )
            )
        if feedback.rows:
            self.model.replace_or_add(feedback.rows, "specimen_id")
            self.ready_model.remove_where("specimen_id", {r.specimen_id for r in feedback.rows})
            self._describe()
        self.banner.show_feedback(feedback)
        self.scan_handled.emit(feedback)
        self._queue.next()

    def _scan_failed(self, error: Exception) -> None:
        extra = RETRY_HINT if isinstance(error, StorageError) else ""
        self.banner.show_error(error, extra)
        self.scan_handled.emit(error)
        self._queue.next()

    # ------------------------------------------------------------ finishing and printing

    def _confirm_leave_behind(self, count: int, listed: str) -> bool:
        answer = QMessageBox.question(
            self,
            self.tr("Specimens left behind"),
            self.tr(
                "{n} specimen(s) waiting at the site were not scanned:\n{list}\n\n"
                "Leave them behind and finish the pickup?"
            ).format(n=count, list=listed),
        )
        return answer == QMessageBox.StandardButton.Yes

    def finish(self) -> None:
        """Check what is left behind, ask for the PIN, finish, then print the manifest."""
        view = self.manifest
        if view is None or view.status is not ManifestStatus.OPEN:
            return
        waiting = [self.ready_model.row_at(n).accession for n in range(self.ready_model.rowCount())]
        leave = bool(waiting)
        if waiting and not self._confirm_leave_behind(len(waiting), ", ".join(waiting[:20])):
            return
        secret = ask_secret(self, self.tr("Finish pickup"), self.tr("Your PIN or password"))
        if secret is None:
            return
        number = view.number

        command = FinishPickup(manifest_number=number, secret=secret, leave_behind=leave)
        CommandOp(self._context.bus, command, self._user).run(
            self._finished, self.banner.show_error, owner=self
        )

    def _finished(self, view: ManifestView) -> None:
        self._show_manifest(view)
        self.bag = None
        self.bag_label.setText(self.tr("No bag open: specimens travel loose."))
        self.banner.show_text(
            self.tr("Manifest {n} finished: {c} specimen(s). Printing…").format(
                n=view.number, c=len(view.rows)
            ),
            Severity.OK,
        )
        self.finished.emit(view)
        self.print_again()

    def print_again(self) -> None:
        """Print the finished manifest on the station's document printer."""
        view = self.manifest
        printer = self._context.manifest_printer
        if view is None:
            return
        if printer is None:
            self.banner.show_text(
                self.tr("No document printer is set up: the manifest was not printed."),
                Severity.WARNING,
            )
            return
        number, station = view.number, self._context.config.station_code

        command = PrintManifest(manifest_number=number, printer=printer, station_code=station)
        CommandOp(self._context.bus, command, self._user).run(
            self._printed, self._print_failed, owner=self
        )

    def _printed(self, where: str) -> None:
        self.banner.show_text(
            self.tr("Manifest printed ({where}). Hand it over with the specimens.").format(
                where=where
            ),
            Severity.OK,
            sound=False,
        )
        self.printed.emit(where)

    def _print_failed(self, error: Exception) -> None:
        hint = self.tr("The pickup is finished; use 'Print manifest again'.")
        self.banner.show_error(error, hint if isinstance(error, LabdeskError) else "")

    # ------------------------------------------------------------ timeline

    def show_timeline(self) -> None:
        """Open the timeline of the selected specimen (manifest or waiting list)."""
        for table, model in ((self.table, self.model), (self.ready_table, self.ready_model)):
            rows = table.selectionModel().selectedRows()
            if rows:
                source = table.model().mapToSource(rows[0])  # type: ignore[attr-defined]
                specimen_id = model.row_at(source.row()).specimen_id
                open_specimen_timeline(self, self._context, specimen_id, self._user)
                return
        self.banner.show_text(self.tr("Select a specimen first."), Severity.INFO, sound=False)
