"""Where the store is: resolved once, named by `hub doctor`, and never made by a command that
only reads (issue 22: `hub jobs list` in another directory built a database there)."""

from __future__ import annotations

from pathlib import Path

import pytest

from hub.core.settings import Settings
from hub.runtime import Hub
from hub.store.engine import store_location

from .conftest import CliEnv, Run

READ_ONLY = [
    ("jobs", "list"), ("runs", "list"), ("runs", "show", "1"), ("tickets", "list"),
    ("tickets", "show", "1"), ("outbox", "list"), ("dlq", "list"), ("import", "list"),
    ("import", "show", "1"), ("apikeys", "list"), ("audit", "tail"), ("audit", "verify"),
    ("reconcile", "erp", "--since", "2026-11-01"),
]


@pytest.fixture
def elsewhere(env: CliEnv, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A directory with no store, the default (relative) store URL, and the working
    directory there."""
    where = tmp_path / "elsewhere"
    where.mkdir()
    monkeypatch.delenv("HUB_DATABASE_URL")
    monkeypatch.chdir(where)
    return where


@pytest.mark.parametrize("args", READ_ONLY, ids=" ".join)
def test_read_only_command__says_there_is_no_store_and_makes_none(
    elsewhere: Path, run: Run, args: tuple[str, ...],
) -> None:
    code, out, err = run(*args)
    assert code == 3, (out, err)
    assert f"no store yet at sqlite:///{elsewhere / '.hub' / 'hub.db'}" in err
    assert "hub db upgrade" in err
    assert list(elsewhere.iterdir()) == []  # not even .hub/


def test_doctor__names_the_store_it_looked_at_and_makes_none(elsewhere: Path,
                                                              run: Run) -> None:
    code, out, _ = run("doctor")
    assert code == 1
    assert f"no store yet at sqlite:///{elsewhere / '.hub' / 'hub.db'}" in " ".join(
        out.split())
    assert not (elsewhere / ".hub").exists()
    assert run("db", "upgrade")[0] == 0
    code, out, _ = run("doctor")
    assert f"sqlite:///{elsewhere / '.hub' / 'hub.db'}, schema at revision" in " ".join(
        out.split())


def test_store_location__resolved_once_against_the_directory_of_the_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    hub = Hub(Settings(database_url="sqlite:///.hub/hub.db"))
    monkeypatch.chdir("/")
    assert hub.store.file == tmp_path / ".hub" / "hub.db"
    assert str(hub.engine.url) == f"sqlite:///{tmp_path / '.hub' / 'hub.db'}"
    located = store_location("postgresql+psycopg://hub:pw-123@db.example/hub")
    assert located.file is None and located.exists()
    assert "pw-123" not in located.shown and "db.example/hub" in located.shown


@pytest.mark.parametrize("args", [("config", "validate"), ("mappings", "validate"),
                                  ("mappings", "explain", "crm_customer", "tier")], ids=" ".join)
def test_commands_that_need_no_store__open_none(elsewhere: Path, run: Run,
                                                args: tuple[str, ...]) -> None:
    code, out, err = run(*args)
    assert code == 0, (out, err)
    assert list(elsewhere.iterdir()) == []
