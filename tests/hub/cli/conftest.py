"""Shared fixtures of the CLI's tests: a store of its own on the shipped config and mappings
(`env`, `crm_env` with the CRM sandbox), and `run`, which runs `hub ARGS` in this process
through the entry point and returns its exit code, stdout and stderr."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import cli

ROOT = Path(__file__).resolve().parents[3]

Run = Callable[..., tuple[int, str, str]]


@dataclass(frozen=True)
class CliEnv:
    """Where a test's `hub` keeps its files, and its store."""

    dir: Path
    database_url: str


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, _sqlite_template: Path) -> CliEnv:
    """`hub` on the shipped configs/hub.yaml and mappings/, a SQLite store in tmp_path (a copy
    of the worker's migrated template: the commands find it at head), and a terminal wide
    enough that no table wraps."""
    store = tmp_path / "cli.db"
    shutil.copyfile(_sqlite_template, store)
    url = f"sqlite:///{store}"
    monkeypatch.setenv("HUB_DATABASE_URL", url)
    monkeypatch.setenv("HUB_CONFIG", str(ROOT / "configs/hub.yaml"))
    monkeypatch.setenv("HUB_MAPPINGS_DIR", str(ROOT / "mappings"))
    monkeypatch.setenv("HUB_IMPORTS_DIR", str(tmp_path / "imports"))
    monkeypatch.setenv("COLUMNS", "300")
    return CliEnv(tmp_path, url)


@pytest.fixture
def crm_env(env: CliEnv, crm_sandbox: Any, monkeypatch: pytest.MonkeyPatch) -> CliEnv:
    """`env`, with the config's CRM connection pointing at the CRM sandbox."""
    monkeypatch.setenv("CRM_BASE_URL", crm_sandbox.url)
    monkeypatch.setenv("CRM_API_KEY", crm_sandbox.api_key)
    return env


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str]) -> Run:
    """`run("tickets", "show", "1")` -> (exit code, stdout, stderr), through `cli.main`."""
    def invoke(*args: str) -> tuple[int, str, str]:
        code = cli.main(list(args))
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return invoke


def workbook_behind_instructions(path: Path, note: str, rows: list[list[Any]],
                                 sheet: str = "客户") -> Path:
    """An .xlsx whose first sheet is an instructions sheet (说明, one line: `note`) and whose
    data is on `sheet` after it, as exported workbooks often are."""
    from openpyxl import Workbook

    workbook = Workbook()
    notes = workbook.active
    assert notes is not None
    notes.title = "说明"
    notes.append([note])
    data = workbook.create_sheet(sheet)
    for row in rows:
        data.append(row)
    workbook.save(path)
    return path
