"""The envelope's codes, table-driven: which typed error each one becomes."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from connectors.sdk import (
    AuthError,
    ConnectorError,
    RateLimitedError,
    RejectedError,
    TransientError,
)
from connectors.yonyou._codes import (
    DuplicateSubmitError,
    batch_failure,
    classify,
    is_token_invalid,
)


@pytest.mark.parametrize(("body", "kind", "code"), [
    ({"code": "200", "data": {}}, None, None),
    ({"code": 200, "data": {}}, None, None),
    ({"code": "310001", "message": "access_token不能为空。"}, AuthError, "310001"),
    ({"code": "310036", "message": "非法token"}, AuthError, "310036"),
    ({"code": "310039", "message": "app 限流"}, RateLimitedError, "310039"),
    ({"code": "310046", "message": "API 限流"}, RateLimitedError, "310046"),
    ({"code": "310504", "message": "timeout"}, TransientError, "310504"),
    ({"code": "310043", "message": "熔断"}, TransientError, "310043"),
    ({"code": "202", "message": "处理中"}, TransientError, "202"),
    ({"code": "999", "message": "服务端逻辑异常"}, RejectedError, "999"),
    ({"code": "100004", "message": "重复", "data": {"id": "1"}}, DuplicateSubmitError, "100004"),
    ({"code": "10004", "message": "重复"}, DuplicateSubmitError, "10004"),
    ({"code": "0", "message": "失败"}, RejectedError, "0"),
])
def test_classify__codes(body: dict[str, Any], kind: type[ConnectorError] | None,
                         code: str | None) -> None:
    error = classify(body)
    if kind is None:
        assert error is None
    else:
        assert type(error) is kind and error is not None and error.vendor_code == code


def test_classify__202_may_be_resent_and_display_code_is_kept() -> None:
    processing = classify({"code": "202", "message": "处理中"})
    assert isinstance(processing, TransientError) and processing.never_sent
    refused = classify({"code": "999", "message": "客户不存在", "displayCode": "SD-1001"})
    assert refused is not None and "SD-1001" in refused.message


def test_classify__text_bodies() -> None:
    assert isinstance(classify(None, text="非法token"), AuthError)
    assert isinstance(classify(None, text="<html>"), RejectedError)
    response = httpx.Response(200, text="非法token", headers={"content-type": "text/plain"})
    assert is_token_invalid(response)
    assert not is_token_invalid(httpx.Response(200, json={"code": "200"}))


def test_batch_failure__lists_item_messages() -> None:
    error = batch_failure({"count": 2, "sucessCount": 1, "failCount": 1,
                           "messages": [{"id": "7", "message": "单据状态不对"}]})
    assert error is not None and "1 of 2 failed: 单据状态不对" in error.message
    assert batch_failure({"count": 1, "sucessCount": 1, "failCount": 0}) is None
    assert batch_failure([{"id": 1}]) is None


def test_classify__duplicate_code_carries_the_bill_id() -> None:
    error = classify({"code": "100004", "message": "重复提交", "data": {"id": 9000001}})
    assert isinstance(error, DuplicateSubmitError) and isinstance(error, RejectedError)
    assert error.bill_id == "9000001"
    assert DuplicateSubmitError("x").bill_id is None
