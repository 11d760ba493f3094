"""CUPS transport: hands raw jobs to ``lp`` and reads queue state with ``lpstat``."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
from typing import Final

from printers.errors import PrinterConfigError, PrinterOffline, PrinterRejected, PrinterTimeout
from printers.status import PrinterStatus, parse_lpstat

logger = logging.getLogger(__name__)

# lpstat's wording is parsed, so force untranslated messages.
_C_LOCALE = {**os.environ, "LC_ALL": "C", "LANG": "C"}
# lp's messages when the scheduler is down: nothing was queued, so the job may be retried.
_SCHEDULER_DOWN = ("unable to connect to server", "scheduler is not running")


class CupsPrinter:
    """A CUPS queue that passes jobs through unfiltered (``lp -o raw``).

    Raw queues are deprecated since CUPS 2.2.7 (standards.md section 2.4); prefer tcp://.

    Args:
        queue: CUPS queue name.
        timeout: Seconds to wait for ``lp`` / ``lpstat``.
        lp_command: ``lp`` executable (name on PATH or path).
        lpstat_command: ``lpstat`` executable (name on PATH or path).
    """

    language: Final = "zpl"

    def __init__(
        self,
        queue: str,
        *,
        timeout: float = 30.0,
        lp_command: str = "lp",
        lpstat_command: str = "lpstat",
    ) -> None:
        self.queue = queue
        self.timeout = timeout
        self.lp_command = lp_command
        self.lpstat_command = lpstat_command

    def __repr__(self) -> str:
        return f"CupsPrinter({self.queue!r})"

    def send(self, payload: bytes, *, preview_png: bytes | None = None) -> None:
        """Queue one job.

        Raises:
            PrinterConfigError: if ``lp`` is not installed.
            PrinterOffline: if the CUPS scheduler is not running (nothing was queued).
            PrinterRejected: if CUPS refuses the job (unknown or rejecting queue).
            PrinterTimeout: if ``lp`` does not finish in time.
        """
        del preview_png
        command = [self._which(self.lp_command), "-d", self.queue, "-o", "raw", "-t", "LabDesk"]
        try:
            done = subprocess.run(
                command,
                input=payload,
                capture_output=True,
                timeout=self.timeout,
                env=_C_LOCALE,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise PrinterTimeout(
                f"CUPS did not accept the job for '{self.queue}' within {self.timeout:g} s.",
                hint="Check that the CUPS service is running.",
            ) from exc
        except OSError as exc:
            raise PrinterConfigError(f"Cannot run {command[0]}: {exc}.") from exc
        if done.returncode != 0:
            detail = done.stderr.decode(errors="replace").strip() or f"exit {done.returncode}"
            if any(sign in detail.lower() for sign in _SCHEDULER_DOWN):
                raise PrinterOffline(
                    f"CUPS is not running, so the job for '{self.queue}' was not queued: {detail}",
                    hint="Start the CUPS service; the job is retried automatically.",
                )
            raise PrinterRejected(
                f"CUPS refused the job for queue '{self.queue}': {detail}",
                hint="Check the queue name and that the queue accepts jobs (cupsaccept).",
            )
        logger.info("Queued %d bytes on CUPS queue %s", len(payload), self.queue)

    def status(self) -> PrinterStatus:
        """Return the queue state from ``lpstat -p``; never raises for printer problems."""
        try:
            command = [self._which(self.lpstat_command), "-p", self.queue]
            done = subprocess.run(
                command, capture_output=True, timeout=self.timeout, env=_C_LOCALE, check=False
            )
        except PrinterConfigError as exc:
            return PrinterStatus.failed(exc.message)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return PrinterStatus.failed(f"cannot query CUPS: {exc}")
        output = (done.stdout + done.stderr).decode(errors="replace")
        return parse_lpstat(output, done.returncode)

    def _which(self, command: str) -> str:
        found = shutil.which(command)
        if found is None:
            raise PrinterConfigError(
                f"The CUPS command '{command}' is not installed.",
                hint="Install the CUPS client tools (cups-client) or use a tcp:// printer.",
            )
        return found
