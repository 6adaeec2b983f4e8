"""The shipped YonBIP customer pull: `hub sync run yonyou_customers` (HUB_YONYOU=on) against
the YonBIP sandbox over loopback lands every customer, names and codes included."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from connectors.sdk.sandbox import serve
from connectors.yonyou.sandbox import create_app

from .conftest import CliEnv, Run


@pytest.fixture
def yonyou(env: CliEnv, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    app = create_app(latency_ms=0)
    with serve(app) as url:
        monkeypatch.setenv("HUB_YONYOU", "on")
        monkeypatch.setenv("YONYOU_GATEWAY_LOOKUP_URL", url)
        monkeypatch.setenv("CRM_API_KEY", "unused")
        yield app.state.sandbox


def test_sync_run__yonyou_customers_land_with_code_and_name(yonyou: Any, run: Run) -> None:
    assert run("db", "upgrade")[0] == 0
    code, out, err = run("sync", "run", "yonyou_customers")
    assert code == 0, out + err
    assert "succeeded" in out and "12" in out
    code, out, err = run("sync", "run", "yonyou_customers")  # incremental: nothing new
    assert code == 0, out + err


def test_yonyou_customer_mapping__plain_or_object_names() -> None:
    from pathlib import Path

    from ruamel.yaml import YAML

    from hub.mapping import compile_mapping, parse_spec

    root = Path(__file__).resolve().parents[3]
    spec = YAML(typ="safe").load((root / "mappings/yonyou_customer.yaml").read_text("utf-8"))
    mapping = compile_mapping(parse_spec(spec), name="yonyou_customer")
    row = {"code": "C001", "name": {"simplifiedName": "华东电子1号"}, "mobile": "0755-88886666",
           "email": "Buyer@Example.cn", "pubts": "2026-01-05 10:00:00"}
    customer = mapping(row)
    assert customer is not None
    kept = customer["attributes"]
    assert (customer["external_id"], kept["erp_number"], customer["name"]) == (
        "C001", "C001", "华东电子1号")
    assert kept["phone"] == "0755-88886666" and customer["mobile"] is None
    plain = mapping({**row, "name": "北方机械", "mobile": "13800000002"})
    assert plain is not None and plain["name"] == "北方机械" and plain["mobile"] == "13800000002"
