"""``labdesk hl7``: the MLLP listener, message import, the outbound queue and the worklists."""

from __future__ import annotations

import os
import time
from pathlib import Path

import click

from labdesk.access.commands import SignIn
from labdesk.bootstrap import Core
from labdesk.cli.common import open_core
from labdesk.domain.errors import ValidationError
from labdesk.domain.hl7 import AckCode
from labdesk.domain.permissions import Permission, allows
from labdesk.domain.timefmt import format_local
from labdesk.hl7.message_files import read_frames
from labdesk.hl7.mllp_client import MllpTransport
from labdesk.interface.commands import MatchUnmatched
from labdesk.interface.ingest import Ingestor
from labdesk.interface.listener import MAX_GROUP, Hl7Listener
from labdesk.interface.outbound import send_due_messages
from labdesk.interface.worklist import list_dead_letters, list_unmatched
from labdesk.kernel.dto import SignedInUser, authorize

PASSWORD_ENV = "LABDESK_PASSWORD"
_user_option = click.option(
    "--user",
    "username",
    required=True,
    help=f"Your user name (password: prompt or ${PASSWORD_ENV}).",
)


def sign_in(core: Core, username: str) -> SignedInUser:
    """Sign a command-line user in (password from the environment or a hidden prompt)."""
    password = os.environ.get(PASSWORD_ENV) or click.prompt("Password", hide_input=True)
    return core.bus.handle(SignIn(username=username, password=password))


def make_ingestor(core: Core, actor: SignedInUser | None = None) -> Ingestor:
    """The ingestor for this core's database and clinic time zone.

    Args:
        core: the open core.
        actor: who imports (their id goes on every audit entry); None for the listener.
    """
    return Ingestor(
        core.uow,
        core.clock,
        timezone=core.config.clinic_timezone,
        actor_id=actor.id if actor is not None else None,
        max_frame_bytes=core.config.hl7_max_frame_bytes,
        max_segments=core.config.hl7_max_segments,
    )


@click.group()
def hl7() -> None:
    """HL7 v2 interface: receive results and orders, send collections to the lab."""


@hl7.command()
@click.option(
    "--host",
    default=None,
    help="Address to listen on (default: hl7_host in the config, 127.0.0.1: this computer "
    "only). Another address needs hl7_allowed_peers.",
)
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=None,
    help="TCP port (default: hl7_port in the config, 2575).",
)
@click.option(
    "--timeout",
    "timeout_s",
    type=float,
    default=300.0,
    show_default=True,
    help="Seconds of silence before a connection is closed.",
)
def serve(host: str | None, port: int | None, timeout_s: float) -> None:
    """Listen for ORU^R01, ORM^O01 and OML^O21 over MLLP until stopped (Ctrl+C).

    Only loopback and hl7_allowed_peers may connect; MLLP is plain text, so reach it from
    other computers through a TLS tunnel (README, "HL7 listener").
    """
    core = open_core()
    host = host or core.config.hl7_host
    listener = Hl7Listener(
        make_ingestor(core),
        host=host,
        port=core.config.hl7_port if port is None else port,
        read_timeout_s=timeout_s,
        allowed_peers=core.config.hl7_allowed_peers or None,
    )
    try:
        listener.start()
        click.echo(f"Listening for HL7 on {host}:{listener.port} ({core.database_description}).")
        listener.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        listener.stop()
        core.close()
        stats = listener.stats()
        click.echo(
            f"Stopped: {stats.frames} frame(s), {stats.accepted} accepted, "
            f"{stats.errors} AE, {stats.rejected} AR, {stats.broken_frames} broken, "
            f"{stats.refused_peers} connection(s) from peers not allowed."
        )


@hl7.command("import")
@click.argument(
    "files", nargs=-1, required=True, type=click.Path(path_type=Path, dir_okay=False, exists=True)
)
@_user_option
def import_(files: tuple[Path, ...], username: str) -> None:
    """Load message files (plain, FHS/BHS batches or MLLP-framed) with the listener's rules."""
    core = open_core()
    try:
        actor = sign_in(core, username)
        authorize(actor, Permission.IMPORT_MESSAGES)
        ingestor = make_ingestor(core, actor)
        frames = [(frame, f"file:{path.name}") for path in files for frame in read_frames(path)]
        counts = dict.fromkeys(("accepted", "duplicates", "refused", "unmatched", "results"), 0)
        with click.progressbar(length=len(frames), label="Importing", show_pos=True) as bar:
            for start in range(0, len(frames), MAX_GROUP):  # group commit, as the listener
                group = frames[start : start + MAX_GROUP]
                replies = ingestor.handle_frames(group)
                bar.update(len(group))
                for o in (o for reply in replies for o in reply.outcomes):
                    counts["results"] += o.results
                    counts["unmatched"] += o.unmatched
                    if o.ack_code is not AckCode.ACCEPT:
                        counts["refused"] += 1
                    elif o.status is not None and o.status.value == "duplicate":
                        counts["duplicates"] += 1
                    else:
                        counts["accepted"] += 1
    finally:
        core.close()
    click.echo(
        f"{counts['accepted']} message(s) applied ({counts['results']} result(s), "
        f"{counts['unmatched']} unmatched group(s)), {counts['duplicates']} duplicate(s), "
        f"{counts['refused']} refused (see 'labdesk hl7 worklist')."
    )


@hl7.command("send-queued")
@click.option("--host", default=None, help="Lab interface host (default: hl7_lab_address).")
@click.option("--port", type=click.IntRange(1, 65535), default=None, help="Lab interface port.")
@click.option(
    "--watch", type=float, default=0.0, help="Keep sending every this many seconds (0: one pass)."
)
def send_queued(host: str | None, port: int | None, watch: float) -> None:
    """Send queued collection messages to the lab; failures stay queued with back-off."""
    core = open_core()
    try:
        host, port = _lab_address(core, host, port)
        while True:
            with MllpTransport(host, port) as transport:
                report = send_due_messages(core.uow, core.clock, transport)
            click.echo(
                f"Sent {report.sent}, rejected {report.rejected}, retrying "
                f"{report.retrying}, gave up {report.failed}."
            )
            for problem in report.problems:
                click.echo(f"  {problem}", err=True)
            if watch <= 0:
                break
            time.sleep(watch)
    except KeyboardInterrupt:
        pass
    finally:
        core.close()


def _lab_address(core: Core, host: str | None, port: int | None) -> tuple[str, int]:
    configured = core.config.hl7_lab_address
    if configured and ":" in configured:
        conf_host, _, conf_port = configured.rpartition(":")
        host = host or conf_host
        port = port or int(conf_port) if conf_port.isdigit() else port
    if not host or not port:
        raise ValidationError(
            "No lab address to send to.",
            hint='Give --host and --port, or set hl7_lab_address = "host:port" in the config.',
        )
    return host, port


@hl7.command()
@_user_option
def worklist(username: str) -> None:
    """Show refused messages (dead letters) and unmatched results, with their reasons."""
    core = open_core(create=False)
    try:
        actor = sign_in(core, username)
        if not allows(actor.role, Permission.IMPORT_MESSAGES):
            authorize(actor, Permission.MATCH_RESULTS)  # neither list: refuse clearly
        dead = (
            core.bus.query(list_dead_letters, actor)
            if allows(actor.role, Permission.IMPORT_MESSAGES)
            else None
        )
        unmatched = (
            core.bus.query(list_unmatched, core.clock, actor)
            if allows(actor.role, Permission.MATCH_RESULTS)
            else []
        )
    finally:
        core.close()
    tz = core.config.clinic_timezone
    if dead is not None:
        click.echo(f"Dead letters: {len(dead)}")
    for d in dead or []:
        click.echo(
            f"  #{d.id} {format_local(d.received_at, tz)} {d.ack_code} "
            f"{d.message_type or '-'} {d.control_id or '-'} {d.source}: {d.error}"
        )
    click.echo(f"Unmatched results: {len(unmatched)}")
    for u in unmatched:
        click.echo(
            f"  #{u.id} {format_local(u.received_at, tz)} MRN {u.patient_mrn} "
            f"test {u.test_code} accession {u.accession or '-'}: {u.reason}"
        )


@hl7.command()
@click.argument("unmatched_id", type=int)
@click.argument("ordered_test_id", type=int)
@_user_option
def match(unmatched_id: int, ordered_test_id: int, username: str) -> None:
    """Attach unmatched result UNMATCHED_ID to ordered test ORDERED_TEST_ID."""
    core = open_core(create=False)
    try:
        actor = sign_in(core, username)
        command = MatchUnmatched(
            unmatched_id=unmatched_id,
            ordered_test_id=ordered_test_id,
            timezone=core.config.clinic_timezone,
        )
        added = core.bus.handle(command, actor)
    finally:
        core.close()
    click.echo(f"Matched: {added} result(s) stored on ordered test {ordered_test_id}.")
