"""The command line refuses bad printer addresses with the Admin page's parser (issue 11 item 7)."""

from __future__ import annotations

import pytest
import test_print_cli as cli_world
from spool_world import World
from test_print_cli import Run

pytestmark = pytest.mark.integration

# The command-line world of test_print_cli: its own database, config and environment.
env, make_world, world, run = cli_world.env, cli_world.make_world, cli_world.world, cli_world.run
_sql = cli_world._sql

INJECTION = "tcp://;rm -rf /:99999"


def test_print_test_refuses_a_bad_host(run: Run, env: dict[str, str], world: World) -> None:
    result = run("print-test", "--printer", INJECTION)
    assert result.exit_code == 2
    assert f"Invalid printer address '{INJECTION}': ';rm -rf ' is not a valid host name" in (
        result.output
    )
    assert "e.g. tcp://192.0.2.10:9100" in result.output
    assert _sql(env, "SELECT status FROM print_jobs") == [("failed",)]


@pytest.mark.parametrize(
    ("uri", "problem"),
    [
        ("tcp://192.0.2.10:65536", "port 65536 is out of range: use 1–65535"),
        ("cups://bad name", "'bad name' is not a valid CUPS queue name"),
        ("pdf://", "the path is empty"),
    ],
    ids=["port", "cups-queue", "empty-path"],
)
def test_label_print_refuses_a_bad_address(
    run: Run, env: dict[str, str], world: World, uri: str, problem: str
) -> None:
    result = run("label", "print", "--accession", world.accessions[0], "--printer", uri)
    assert result.exit_code == 2
    assert f"Invalid printer address '{uri}': {problem}" in result.output
    assert _sql(env, "SELECT status FROM print_jobs") == [("failed",)]


def test_a_bad_printer_in_the_environment_is_refused_at_start(
    run: Run, env: dict[str, str], world: World
) -> None:
    env["LABDESK_LABEL_PRINTER"] = INJECTION
    result = run("label", "queue")
    assert result.exit_code == 2
    assert "'label_printer_uri' (LABDESK_LABEL_PRINTER" in result.output
    assert "';rm -rf ' is not a valid host name" in result.output
