"""Connectors are discovered through the `hub.connectors` entry-point group."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from connectors.crm.connector import CrmConnector
from connectors.sdk import ConfigError
from connectors.sdk.registry import available_connectors, load_connector


def test_available_connectors__lists_builtin_crm_from_entry_points() -> None:
    names = {info.name: info for info in available_connectors()}
    assert names["crm"].target == "connectors.crm.connector:CrmConnector"


def test_load_connector__returns_the_registered_class() -> None:
    assert load_connector("crm") is CrmConnector


def test_load_connector__unknown_name_lists_the_known_ones() -> None:
    with pytest.raises(ConfigError, match=r"unknown connector type 'crn'; registered: .*crm"):
        load_connector("crn")


def test_load_connector__finds_a_plugin_installed_after_a_miss_and_keeps_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(ConfigError, match="unknown connector type 'late_plugin'"):
        load_connector("late_plugin")
    dist = tmp_path / "late_plugin-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: late-plugin\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(
        "[hub.connectors]\nlate_plugin = connectors.crm.connector:CrmConnector\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert load_connector("late_plugin") is CrmConnector  # a miss is looked for again
    sys.path.remove(str(tmp_path))
    assert "late_plugin" not in {info.name for info in available_connectors()}
    # Loaded once, the class is kept: the installed metadata is not read on every call.
    assert load_connector("late_plugin") is CrmConnector
