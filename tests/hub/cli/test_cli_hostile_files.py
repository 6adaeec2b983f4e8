"""`hub config validate | doctor | mappings validate | serve` given hostile YAML files (an
alias bomb, a `!!python` tag, NUL bytes, random binary, 5,000-deep nesting): one readable
line naming the file, exit 2, no traceback, no memory blow-up. Run as real processes with a
2 GiB address-space limit, so a regression fails here instead of eating the machine."""

from __future__ import annotations

import os
import random
import resource
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # every test runs `hub` in a process of its own

ROOT = Path(__file__).resolve().parents[3]


def _billion_laughs() -> bytes:
    lines = ['a0: &a0 "lol"']
    for level in range(1, 10):
        lines.append(f"a{level}: &a{level} [{', '.join([f'*a{level - 1}'] * 10)}]")
    return ("\n".join(lines) + "\n").encode()


HOSTILE = {
    "alias_bomb": _billion_laughs(),
    "python_tag": b"version: 1\nx: !!python/object/apply:os.system ['echo pwned > pwned']\n",
    "nul_bytes": b"version: 1\nconnections: {}\x00\x00\x00\n",
    "random_binary": random.Random(16).randbytes(4096),
    "deep_nesting": b"version: 1\nx: " + b"[" * 5000 + b"]" * 5000 + b"\n",
}
SOME = ["alias_bomb", "python_tag", "deep_nesting"]

GOOD_CONFIG = """\
version: 1
connections:
  crm:
    type: crm
    config: {{base_url: "http://127.0.0.1:9", api_key: k-123456}}
jobs:
  import_customers:
    kind: import
    path: inbox/*.csv
    mapping: {mapping}
"""


def _limit_memory() -> None:
    two_gib = 2 << 30
    resource.setrlimit(resource.RLIMIT_AS, (two_gib, two_gib))


def hub(tmp_path: Path, *args: str, config: Path) -> tuple[int, str]:
    """Run `hub ARGS` in its own process; its exit code and everything it printed."""
    env = {**os.environ, "HUB_CONFIG": str(config), "HUB_MAPPINGS_DIR": str(tmp_path / "maps"),
           "HUB_DATABASE_URL": f"sqlite:///{tmp_path / 'hub.db'}", "COLUMNS": "400"}
    env.pop("HUB_BROKER_URL", None)
    done = subprocess.run([sys.executable, str(ROOT / "cli.py"), *args], env=env,
                          cwd=tmp_path, capture_output=True, text=True, errors="replace",
                          timeout=180, preexec_fn=_limit_memory, check=False)
    return done.returncode, done.stdout + done.stderr


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    shutil.copytree(ROOT / "mappings", tmp_path / "maps")
    return tmp_path


def _assert_one_line_about(output: str, file: Path) -> None:
    assert "Traceback" not in output, output
    about = [line for line in output.splitlines() if file.name in line]
    assert len(about) == 1, output
    assert len(about[0]) < 400 + len(str(file)), about[0]
    assert not (file.parent / "pwned").exists()


@pytest.mark.parametrize("kind", list(HOSTILE))
def test_config_validate__hostile_hub_yaml(folder: Path, kind: str) -> None:
    config = folder / "hub.yaml"
    config.write_bytes(HOSTILE[kind])

    code, output = hub(folder, "config", "validate", config=config)

    assert code == 2, output
    _assert_one_line_about(output, config)


@pytest.mark.parametrize("kind", list(HOSTILE))
def test_mappings_validate__hostile_mapping_file(folder: Path, kind: str) -> None:
    mapping = folder / "maps" / "hostile.yaml"
    mapping.write_bytes(HOSTILE[kind])

    code, output = hub(folder, "mappings", "validate", config=folder / "absent.yaml")

    assert code == 2, output
    _assert_one_line_about(output, mapping)
    assert "ok: crm_customer" in output  # the other mappings are still checked


@pytest.mark.parametrize("kind", SOME)
def test_config_validate__job_using_a_hostile_mapping(folder: Path, kind: str) -> None:
    mapping = folder / "maps" / "hostile.yaml"
    mapping.write_bytes(HOSTILE[kind])
    config = folder / "hub.yaml"
    config.write_text(GOOD_CONFIG.format(mapping="hostile"), encoding="utf-8")

    code, output = hub(folder, "config", "validate", config=config)

    assert code == 2, output
    _assert_one_line_about(output, mapping)


@pytest.mark.parametrize("kind", SOME)
def test_doctor__hostile_hub_yaml(folder: Path, kind: str) -> None:
    config = folder / "hub.yaml"
    config.write_bytes(HOSTILE[kind])

    code, output = hub(folder, "doctor", config=config)

    assert code == 2, output
    _assert_one_line_about(output, config)


@pytest.mark.parametrize("kind", SOME)
def test_serve__refuses_to_start_on_a_hostile_hub_yaml(folder: Path, kind: str) -> None:
    config = folder / "hub.yaml"
    config.write_bytes(HOSTILE[kind])

    code, output = hub(folder, "serve", "--port", "0", config=config)

    assert code == 2, output
    _assert_one_line_about(output, config)


@pytest.mark.parametrize("body", ["", "# nothing yet\n"], ids=["empty", "comment-only"])
def test_config_validate_and_serve__an_empty_hub_yaml_is_refused(folder: Path,
                                                                 body: str) -> None:
    config = folder / "hub.yaml"
    config.write_text(body, encoding="utf-8")

    for command in (["config", "validate"], ["serve", "--port", "0"]):
        code, output = hub(folder, *command, config=config)
        assert code == 2, output
        _assert_one_line_about(output, config)
        assert "the file is empty" in output


def test_serve__refuses_to_start_when_a_job_mapping_does_not_load(folder: Path) -> None:
    config = folder / "hub.yaml"
    config.write_text(GOOD_CONFIG.format(mapping="no_such_mapping"), encoding="utf-8")

    code, output = hub(folder, "serve", "--port", "0", config=config)

    assert code == 2, output
    _assert_one_line_about(output, config)
    assert "no mapping 'no_such_mapping'" in output
