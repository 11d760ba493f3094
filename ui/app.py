"""Composition root of the desktop app: config -> core -> sign-in -> main window.

Start-up order matters for the cold start: the sign-in window is shown and painted before
any database work, and even before SQLAlchemy is imported (about half a second); the core
is then bootstrapped on a pool thread while the user types. Once the core is ready the
app's one change feed starts (``ui/live.py``: changes made at other stations reach the open
screens); it stops at exit, before the database is released.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from PySide6.QtCore import QCoreApplication, QEvent, QObject, QSize, QTimer, Signal
from PySide6.QtWidgets import QApplication

import labdesk
from labdesk.config import Config, ConfigError, default_data_dir, load_config
from labdesk.kernel.dto import SignedInUser
from labdesk.log_setup import setup_logging
from ui import gc_guard
from ui.context import AppContext
from ui.crash_handler import CrashHandler
from ui.session.sign_in import Authenticator, SignInWidget
from ui.tasks import run_in_background, wait_for_background_jobs
from ui.widgets.errors import error_text, install_denial_recorder

if TYPE_CHECKING:
    from labdesk.bootstrap import Core
    from labdesk.downtime.heartbeat import StationDowntime
    from labdesk.downtime.mode import StationMode
    from labdesk.kernel.messagebus import MessageBus
    from ui.live import LiveUpdates
    from ui.main_window import MainWindow
    from ui.printing.printer_monitor import BackgroundSpooler
    from ui.session.session_guard import SessionGuard

logger = logging.getLogger(__name__)

#: The smallest screen stations run on; geometry persistence comes with UI settings.
DEFAULT_WINDOW_SIZE = QSize(1280, 800)


def connect_core(config: Config) -> Core:
    """Bootstrap the core (blocking: run it in the background).

    Raises:
        StorageError: when the database cannot be used.
    """
    # Imported here, on the pool thread, to keep SQLAlchemy and Alembic imports off the
    # path to the first painted window.
    from labdesk.bootstrap import bootstrap

    return bootstrap(config, interactive=True)


def context_of(
    core: Core, live: LiveUpdates | None = None, mode: StationMode | None = None
) -> AppContext:
    """The part of the core that screens may use (``live``: the app's change feed;
    ``mode``: a PostgreSQL station's downtime switch, through which ``uow`` then routes)."""
    from labdesk.downtime.mode import RoutedUowFactory
    from labdesk.printing.dto import PrintSetup
    from printers.manifest_pdf import PdfManifestPrinter
    from printers.spool_adapter import LabelRendererAdapter, open_spool_printer

    return AppContext(
        config=core.config,
        uow=core.uow if mode is None else RoutedUowFactory(mode),
        clock=core.clock,
        database_description=core.database_description,
        print_setup=PrintSetup.from_config(core.config, open_spool_printer, LabelRendererAdapter()),
        manifest_printer=PdfManifestPrinter(core.config.document_printer_uri),
        live=live,
        mode=mode,
    )


def _with_downtime(core: Core) -> tuple[Core, StationDowntime | None]:
    """Add the station's downtime mode (PostgreSQL only; on the pool thread).

    A station file that cannot be opened must not keep the station from working online:
    the failure is logged and the app runs as before, without downtime mode.
    """
    from labdesk.domain.errors import LabdeskError
    from labdesk.downtime.heartbeat import build_station_downtime

    try:
        downtime = build_station_downtime(
            core.config, core.uow, core.clock, backend=core.engine.dialect.name
        )
        return core, downtime
    except LabdeskError:
        logger.exception("downtime mode not available")
        return core, None


def start_live_updates(
    core: Core, parent: QObject, downtime: StationDowntime | None = None
) -> LiveUpdates | None:
    """Open and start the change feed of ``core``'s database (None: it cannot be opened,
    the screens poll as before; the reason is logged). With ``downtime`` the feed follows
    the station's mode: offline, the screens hear the changes made to the station file."""
    from labdesk.domain.errors import LabdeskError
    from labdesk.live_feed import open_feed
    from ui.live import LiveUpdates

    try:
        live = LiveUpdates(open_feed(core.config, downtime), parent)
        live.start()
    except (LabdeskError, ImportError) as exc:
        logger.warning("live updates unavailable, screens poll instead: %s", exc)
        return None
    return live


def authenticator_for(core: Core, bus: MessageBus | None = None) -> Authenticator:
    """A credentials check bound to ``core``: each call sends a ``SignIn`` command.

    ``bus``: the station mode's bus (PostgreSQL), so a user seen at this station can sign
    in from the replica while the server is away; None: the core's own bus.
    """
    from labdesk.access.commands import SignIn

    station = core.config.station_code
    send = bus or core.bus

    def check(username: str, password: str) -> SignedInUser:
        return send.handle(SignIn(username=username, password=password, station=station))

    return check


def badge_authenticator_for(core: Core, bus: MessageBus | None = None) -> Authenticator:
    """A badge + PIN check bound to ``core`` (``bus`` as for :func:`authenticator_for`)."""
    from labdesk.access.commands import SignInWithBadge

    station = core.config.station_code
    send = bus or core.bus

    def check(badge: str, pin: str) -> SignedInUser:
        return send.handle(SignInWithBadge(badge_id=badge, pin=pin, station=station))

    return check


def record_sign_out(core: Core, user: SignedInUser, *, reason: str = "signed out") -> None:
    """Audit the end of ``user``'s session (blocking: run it in the background)."""
    from labdesk.access.commands import SignOut

    core.bus.handle(SignOut(reason=reason), user)


class AppController(QObject):
    """Owns the core and switches between the sign-in window and the main window."""

    first_painted = Signal()
    core_ready = Signal()

    def __init__(self, config: Config, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.config = config
        self.core: Core | None = None
        self.main_window: MainWindow | None = None
        self.session_guard: SessionGuard | None = None
        self.spooler: BackgroundSpooler | None = None
        self.live: LiveUpdates | None = None
        self.downtime: StationDowntime | None = None
        self.sign_in = SignInWidget(config.station_code)
        self.sign_in.signed_in.connect(self._open_main_window)
        self.sign_in.retry_requested.connect(self.connect_database)
        self.sign_in.installEventFilter(self)

    def start(self) -> None:
        """Show the sign-in window; the database connects once it has painted."""
        self.sign_in.set_connecting()
        self.sign_in.show()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Notice the sign-in window's first paint."""
        if watched is self.sign_in and event.type() == QEvent.Type.Paint:
            self.sign_in.removeEventFilter(self)
            # Signal once this paint has been flushed to the screen, not before it.
            QTimer.singleShot(0, self, self.first_painted.emit)
        return False

    def connect_database(self) -> None:
        """Bootstrap the core in the background."""
        self.sign_in.set_connecting()
        run_in_background(
            lambda: _with_downtime(connect_core(self.config)),
            self._connected_with_downtime,
            self.sign_in.set_connection_failed,
            owner=self,
        )

    def _connected_with_downtime(self, ready: tuple[Core, StationDowntime | None]) -> None:
        core, downtime = ready
        if self.downtime is not None:  # a retry after a failed start
            self.downtime.stop()
        self.downtime = downtime
        if downtime is not None:
            downtime.start()  # the heartbeat watches the server from its own thread
        self._connected(core)

    def _connected(self, core: Core) -> None:
        from labdesk.kernel.audit import record_if_denied

        self.core = core
        install_denial_recorder(lambda error: record_if_denied(core.uow, core.clock, error))
        if self.config.demo:
            # Imported now that SQLAlchemy is loaded anyway: the demo module pulls it in.
            from labdesk.seed.demo import DEMO_PASSWORD, DEMO_USERS

            self.sign_in.show_demo_accounts([name for name, _, _ in DEMO_USERS], DEMO_PASSWORD)
        bus = self.downtime.mode.bus if self.downtime is not None else None
        self.sign_in.set_ready(authenticator_for(core, bus))
        self.sign_in.set_badge_ready(badge_authenticator_for(core, bus))
        # Changes made at other stations reach the screens from now on.
        self.live = start_live_updates(core, self, self.downtime)
        # Queued labels print when their printer answers, whoever is signed in (or nobody).
        from ui.printing.printer_monitor import start_spooler

        self.spooler = start_spooler(context_of(core, self.live), self)
        self.core_ready.emit()

    def _open_main_window(self, user: SignedInUser) -> None:
        from ui.main_window import MainWindow  # pulls in the services: after bootstrap
        from ui.session.session_guard import SessionGuard

        assert self.core is not None, "signed in without a core"
        mode = self.downtime.mode if self.downtime is not None else None
        context = context_of(self.core, self.live, mode)
        window = MainWindow(context, user)
        window.sign_out_requested.connect(self.sign_out)
        if self.live is not None:
            self.live.state_changed.connect(window.status_bar.set_feed_state)
            window.status_bar.set_feed_state(self.live.state)
        # Auto-lock, lock/switch user, emergency access, required password change.
        self.session_guard = SessionGuard(window, context, user)
        self.session_guard.switched.connect(self._switch_user)
        self.main_window = window
        available = window.screen().availableGeometry().size()
        window.resize(DEFAULT_WINDOW_SIZE.boundedTo(available))
        window.show()
        self.sign_in.hide()

    def _switch_user(self, user: SignedInUser) -> None:
        """Another user unlocked (or a break-glass session began or ended): fresh window."""
        old, self.main_window = self.main_window, None
        if self.session_guard is not None:
            self.session_guard.stop()
        self._open_main_window(user)  # first: closing the last window would quit the app
        if old is None:
            return
        core, previous = self.core, old.user
        old.close()
        old.deleteLater()
        if core is not None and previous.id != user.id:
            run_in_background(
                lambda: record_sign_out(core, previous, reason="switched user"),
                lambda _: None,
                self._sign_out_not_recorded,
                owner=self,
            )

    def sign_out(self) -> None:
        """Close the main window, audit the sign-out and show the sign-in window again."""
        window, self.main_window = self.main_window, None
        guard, self.session_guard = self.session_guard, None
        if guard is not None:
            guard.stop()
        # Show first: closing the last visible window would quit the application.
        self.sign_in.reset(self.tr("Signed out."))
        self.sign_in.show()
        if window is None:
            return
        core, user = self.core, window.user
        window.close()
        window.deleteLater()
        if core is not None:
            run_in_background(
                lambda: record_sign_out(core, user),
                lambda _: None,
                self._sign_out_not_recorded,
                owner=self,
            )

    def _sign_out_not_recorded(self, error: Exception) -> None:
        self.sign_in.message_label.show_error(
            self.tr("Signed out, but the sign-out was not recorded: {error}").format(
                error=error_text(error)
            )
        )

    def shutdown(self) -> None:
        """Wait for background jobs, then release the database."""
        if self.spooler is not None:
            self.spooler.stop()
        if self.live is not None:
            self.live.stop()  # before the database goes: the feed holds a connection
        if self.downtime is not None:
            self.downtime.stop()  # before the database goes
            self.downtime = None
        wait_for_background_jobs()
        install_denial_recorder(None)
        if self.core is not None:
            self.core.close()
            self.core = None


def _application(qt_args: Sequence[str]) -> QApplication:
    existing = QCoreApplication.instance()
    if isinstance(existing, QApplication):
        return existing
    if existing is not None:
        raise RuntimeError("a non-GUI QCoreApplication already exists")
    return QApplication([sys.argv[0] if sys.argv else "labdesk", *qt_args])


def run_app(config: Config, *, exit_after_shown: bool = False, qt_args: Sequence[str] = ()) -> int:
    """Run the desktop app until its last window closes.

    Args:
        config: the workstation's configuration.
        exit_after_shown: quit as soon as the sign-in window has painted and takes input,
            without connecting to the database (the cold-start benchmark).
        qt_args: command-line options for Qt itself (``-platform offscreen``, ``-style``).

    Returns:
        The process exit code.
    """
    app = _application(qt_args)
    app.setApplicationName("LabDesk")
    app.setOrganizationName("LabDesk")
    app.setApplicationVersion(labdesk.__version__)
    CrashHandler().install()
    gc_guard.install(app)  # cycles are freed on this thread, never on a pool thread
    controller = AppController(config)
    if exit_after_shown:
        controller.first_painted.connect(app.quit)
    else:
        controller.first_painted.connect(controller.connect_database)
    controller.start()
    try:
        return app.exec()
    finally:
        controller.shutdown()


def _parse_args(argv: Sequence[str] | None) -> tuple[argparse.Namespace, list[str]]:
    parser = argparse.ArgumentParser(prog="labdesk-app", description="LabDesk desktop app.")
    parser.add_argument("--demo", action="store_true", help="show the demo sign-in hints")
    parser.add_argument("--database-url", help="override the configured database URL")
    parser.add_argument(
        "--exit-after-shown",
        action="store_true",
        help="exit once the sign-in window has painted (cold-start benchmark)",
    )
    return parser.parse_known_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point (``ui.app:main``); unknown arguments go to Qt (e.g. ``-platform``)."""
    args, qt_args = _parse_args(sys.argv[1:] if argv is None else argv)
    setup_logging(default_data_dir())  # as every ``labdesk`` command: owner-only, redacted
    try:
        config = load_config()
    except ConfigError as exc:
        sys.stderr.write(error_text(exc) + "\n")
        return 2
    if args.database_url:
        config = config.with_overrides(database_url=args.database_url)
    if args.demo:
        config = config.with_overrides(demo=True)
    return run_app(config, exit_after_shown=args.exit_after_shown, qt_args=qt_args)
