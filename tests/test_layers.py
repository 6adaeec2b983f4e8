"""Layering rules, checked by importing in a fresh interpreter and looking at sys.modules."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest


def modules_after(statement: str) -> set[str]:
    code = f"import sys, json\n{statement}\nprint(json.dumps(sorted(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    return set(json.loads(result.stdout))


def top(names: set[str]) -> set[str]:
    return {n.split(".")[0] for n in names}


@pytest.mark.parametrize(
    "package", ["connectors.sdk", "connectors.crm.connector", "connectors.rest.connector"]
)
def test_connectors__never_import_hub(package: str) -> None:
    assert "hub" not in top(modules_after(f"import {package}"))


def test_mapping__imports_no_io_library() -> None:
    loaded = top(modules_after("import hub.mapping"))
    assert not loaded & {"httpx", "sqlalchemy", "fastapi", "ruamel", "connectors", "psycopg"}


def test_cli__import_stays_light() -> None:
    loaded = top(modules_after("import cli"))
    assert not loaded & {"fastapi", "uvicorn", "openpyxl", "sqlalchemy", "httpx", "hub"}
