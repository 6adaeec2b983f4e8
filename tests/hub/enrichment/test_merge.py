"""Histories of several systems as one: lists joined, the primary's first, items tagged."""

from __future__ import annotations

from typing import Any

import pytest

from hub.enrichment.merge import merge_histories

CRM = {"customer_id": "C000001", "orders": [{"order_no": "SO1", "total": "10.00"}],
       "interactions": [{"id": "I1"}]}
ERP = {"customer": "C001", "orders": [{"FBillNo": "XSDD1"}, {"FBillNo": "XSDD2"}],
       "deliveries": [{"FBillNo": "XSCKD1"}]}


@pytest.mark.parametrize(("parts", "merged"), [
    pytest.param([("crm", CRM), ("kingdee", ERP)], {
        "customer_id": "C000001",
        "orders": [{"order_no": "SO1", "total": "10.00", "source": "crm"},
                   {"FBillNo": "XSDD1", "source": "kingdee"},
                   {"FBillNo": "XSDD2", "source": "kingdee"}],
        "interactions": [{"id": "I1", "source": "crm"}],
        "deliveries": [{"FBillNo": "XSCKD1", "source": "kingdee"}],
    }, id="both"),
    pytest.param([("crm", None), ("kingdee", ERP)], {
        "orders": [{"FBillNo": "XSDD1", "source": "kingdee"},
                   {"FBillNo": "XSDD2", "source": "kingdee"}],
        "deliveries": [{"FBillNo": "XSCKD1", "source": "kingdee"}],
    }, id="primary-failed"),
    pytest.param([("crm", CRM), ("kingdee", None)], {
        "customer_id": "C000001", "orders": [{"order_no": "SO1", "total": "10.00",
                                              "source": "crm"}],
        "interactions": [{"id": "I1", "source": "crm"}],
    }, id="source-failed"),
    pytest.param([("crm", None), ("kingdee", None)], None, id="none"),
    pytest.param([("crm", {"orders": ["SO1", {"source": "web"}]})],
                 {"orders": ["SO1", {"source": "crm"}]}, id="only-objects-are-tagged"),
])
def test_merge_histories(parts: list[tuple[str, dict[str, Any] | None]],
                         merged: dict[str, Any] | None) -> None:
    assert merge_histories(parts) == merged


def test_merge_histories__leaves_the_inputs_alone() -> None:
    merge_histories([("crm", CRM), ("kingdee", ERP)])
    assert "source" not in CRM["orders"][0] and "source" not in ERP["orders"][0]
