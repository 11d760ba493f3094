"""CUPS transport: hands raw jobs to ``lp`` and reads queue state with ``lpstat``."""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
import time
from typing import Final

from labdesk.domain.printing import CHECK_THE_TUBE
from printers.errors import (
    PrinterConfigError,
    PrinterNotReady,
    PrinterOffline,
    PrinterRejected,
    PrinterTimeout,
    PrinterUnconfirmed,
)
from printers.status import PrinterStatus, parse_lpstat

logger = logging.getLogger(__name__)

# lpstat's wording is parsed, so force untranslated messages.
_C_LOCALE = {**os.environ, "LC_ALL": "C", "LANG": "C"}
# lp's messages when the scheduler is down: nothing was queued, so the job may be retried.
_SCHEDULER_DOWN = ("unable to connect to server", "scheduler is not running")
_REQUEST_ID = re.compile(r"request id is (\S+)")
_POLL_S = 0.2


class CupsPrinter:
    """A CUPS queue that passes jobs through unfiltered (``lp -o raw``).

    Raw queues are deprecated since CUPS 2.2.7; prefer tcp://.

    Args:
        queue: CUPS queue name.
        timeout: Seconds to wait for ``lp`` / ``lpstat``.
        lp_command: ``lp`` executable (name on PATH or path).
        lpstat_command: ``lpstat`` executable (name on PATH or path).
        confirm_timeout: Seconds to wait for CUPS to report the job completed.
    """

    language: Final = "zpl"

    def __init__(
        self,
        queue: str,
        *,
        timeout: float = 30.0,
        lp_command: str = "lp",
        lpstat_command: str = "lpstat",
        confirm_timeout: float = 15.0,
    ) -> None:
        self.queue = queue
        self.timeout = timeout
        self.lp_command = lp_command
        self.lpstat_command = lpstat_command
        self.confirm_timeout = confirm_timeout

    def __repr__(self) -> str:
        return f"CupsPrinter({self.queue!r})"

    def send(self, payload: bytes, *, preview_png: bytes | None = None) -> None:
        """Queue one job and wait for CUPS to report it completed (its own confirmation).

        CUPS sees no printer status per job: *completed* means its backend delivered every
        byte. The queue is checked first, so a disabled queue gets nothing.

        Raises:
            PrinterConfigError: if ``lp`` is not installed.
            PrinterNotReady: if the queue is not ready (nothing was queued).
            PrinterOffline: if the CUPS scheduler is not running (nothing was queued).
            PrinterRejected: if CUPS refuses the job (unknown or rejecting queue).
            PrinterTimeout: if ``lp`` does not finish in time.
            PrinterUnconfirmed: if CUPS took the job but did not complete it in time.
        """
        del preview_png
        before = self.status()
        if not before.ready:
            raise PrinterNotReady(
                f"The CUPS queue '{self.queue}' is not ready ({', '.join(before.problems)}); "
                "nothing was sent.",
                hint="Enable the queue (cupsenable) and check the printer; the job is sent "
                "again automatically.",
            )
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
        found = _REQUEST_ID.search(done.stdout.decode(errors="replace"))
        if found is None or not self._completed(found.group(1)):
            job = found.group(1) if found else "(no request id)"
            raise PrinterUnconfirmed(
                f"CUPS took job {job} for '{self.queue}' but did not report it completed "
                f"within {self.confirm_timeout:g} s.",
                hint=f"{CHECK_THE_TUBE} If nothing came out, cancel it first (cancel {job}) "
                "so it cannot print later.",
            )

    def _completed(self, request_id: str) -> bool:
        """Poll ``lpstat -W completed`` until ``request_id`` is listed or time runs out."""
        deadline = time.monotonic() + self.confirm_timeout
        while True:
            try:
                command = [self._which(self.lpstat_command), "-W", "completed", "-o", self.queue]
                listed = subprocess.run(
                    command, capture_output=True, timeout=self.timeout, env=_C_LOCALE, check=False
                )
            except (PrinterConfigError, OSError, subprocess.TimeoutExpired):
                return False
            jobs = {
                line.split()[0]
                for line in listed.stdout.decode(errors="replace").splitlines()
                if line.strip()
            }
            if request_id in jobs:
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(_POLL_S)

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
