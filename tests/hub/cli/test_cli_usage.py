"""Usage errors (an unknown command or option, a missing argument, a bad value or choice):
one line on stderr, exit 2, no traceback, nothing run. Through the real entry point, in a
process of its own, as an admin would meet them."""

from __future__ import annotations

import os
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # every test runs `hub` in a process of its own

ENTRY_POINT = "import sys, cli; sys.exit(cli.main())"


def hub(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run `hub ARGS` in its own process, in an empty folder with a store of its own."""
    env = {**os.environ, "HUB_DATABASE_URL": f"sqlite:///{tmp_path / 'hub.db'}",
           "HUB_CONFIG": str(tmp_path / "hub.yaml"), "COLUMNS": "80"}
    return subprocess.run([sys.executable, "-c", ENTRY_POINT, *args], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=120, check=False)


USAGE_ERRORS = {
    "unknown_command": (["frobnicate"], "No such command 'frobnicate'"),
    "unknown_option": (["tickets", "list", "--frob"], "No such option: --frob"),
    "missing_option": (["tickets", "create"], "Missing option '--subject'"),
    "missing_argument": (["tickets", "show"], "Missing argument 'ticket_id'"),
    "bad_value": (["serve", "--port", "x"], "Invalid value for '--port'"),
    "value_missing": (["tickets", "create", "--subject"], "'--subject' requires an argument"),
    "out_of_range": (["runs", "list", "--limit", "0"], "greater than or equal to 1"),
    "bad_choice": (["outbox", "dispatch", "--mode", "nope"], "--mode nope: choose drain"),
}


@pytest.mark.parametrize("case", list(USAGE_ERRORS))
def test_main__usage_error_is_one_line_and_exit_2(tmp_path: Path, case: str) -> None:
    args, says = USAGE_ERRORS[case]

    done = hub(tmp_path, *args)

    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("error: ") and says in lines[0], lines[0]
    assert list(tmp_path.iterdir()) == []  # nothing ran: no store was created


def test_main__usage_error_names_the_help_of_its_command(tmp_path: Path) -> None:
    done = hub(tmp_path, "tickets", "create", "--mobile", "13800000000")

    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        "error: Missing option '--subject'. (see `hub tickets create --help`)"]


def test_main__no_command_shows_the_help(tmp_path: Path) -> None:
    done = hub(tmp_path, "tickets")

    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert "Usage: hub tickets" in done.stdout + done.stderr
    assert "create" in done.stdout + done.stderr


def test_main__version_comes_from_the_package(tmp_path: Path) -> None:
    done = hub(tmp_path, "--version")

    assert done.returncode == 0, done.stderr
    assert done.stdout == f"hub {version('cs-integration-hub')}\n"
