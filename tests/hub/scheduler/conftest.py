"""A hub whose hub.yaml is a CRM connection and the jobs a test writes."""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from hub.runtime import Hub

ROOT = Path(__file__).resolve().parents[3]

CONNECTIONS = """\
version: 1
connections:
  crm:
    type: crm
    config:
      base_url: ${CRM_BASE_URL}
      api_key: ${CRM_API_KEY}
      page_size: %(page_size)d
"""


def write_config(tmp_path: Path, jobs: str, *, page_size: int = 20,
                 max_attempts: int = 4) -> Path:
    path = tmp_path / "hub.yaml"
    connections = CONNECTIONS % {"page_size": page_size}
    if max_attempts != 4:  # only then: tests quote line numbers of the jobs below
        connections += f"      max_attempts: {max_attempts}\n"
    path.write_text(connections + "jobs:\n"
                    + textwrap.indent(textwrap.dedent(jobs), "  "), encoding="utf-8")
    return path


@pytest.fixture
def jobs_hub(database_url: str, crm_sandbox: Any, monkeypatch: pytest.MonkeyPatch,
             tmp_path: Path, make_hub: Any) -> Iterator[Callable[..., Hub]]:
    """`jobs_hub(jobs_yaml, page_size=20, max_attempts=4)`: a hub on a fresh store with those
    jobs (`max_attempts`: the CRM connection's tries of one request)."""
    monkeypatch.setenv("CRM_BASE_URL", crm_sandbox.url)
    monkeypatch.setenv("CRM_API_KEY", crm_sandbox.api_key)
    made: list[Hub] = []

    def build(jobs: str, *, page_size: int = 20, max_attempts: int = 4,
              **settings: Any) -> Hub:
        config = write_config(tmp_path, jobs, page_size=page_size, max_attempts=max_attempts)
        hub = make_hub(database_url, config=config)
        for name, value in settings.items():
            setattr(hub.settings, name, value)
        made.append(hub)
        return hub

    yield build
    for hub in made:
        hub.close()
