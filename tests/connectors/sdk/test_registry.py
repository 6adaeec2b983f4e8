"""Connectors are discovered through the `hub.connectors` entry-point group."""

from __future__ import annotations

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
