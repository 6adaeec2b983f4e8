"""The answer envelope → typed errors, table-driven (no network)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from connectors.kingdee._envelope import KingdeeRejectedError, SessionLostError, check_envelope
from connectors.sdk import AuthError, RateLimitedError, TransientError


def _status(code: int, *errors: tuple[str | None, str]) -> dict[str, Any]:
    return {"Result": {"ResponseStatus": {
        "ErrorCode": 500, "IsSuccess": False, "MsgCode": code,
        "Errors": [{"FieldName": f, "Message": m, "DIndex": 0} for f, m in errors]}}}


@pytest.mark.parametrize(("body", "kind"), [
    (_status(1, (None, "会话信息已丢失，请重新登录")), SessionLostError),
    ([[_status(1, (None, "会话信息已丢失，请重新登录"))]], SessionLostError),
    (_status(2, (None, "您没有该功能的操作权限")), AuthError),
    (_status(14, (None, "调用次数超限")), RateLimitedError),
    (_status(13, (None, "网控冲突")), TransientError),
    (_status(11, ("FMaterialId", "物料编码 P-404 不存在")), KingdeeRejectedError),
    ([[_status(9, ("FNope", "元数据中标识为FNope的字段不存在"))]], KingdeeRejectedError),
    ({"LoginResultType": 0, "Message": "用户名或密码错误！"}, AuthError),
    ({"LoginResultType": -5, "Message": "密码已过期", "KDSVCSessionId": "x"}, AuthError),
])
def test_check_envelope__maps_msg_codes(body: Any, kind: type[Exception]) -> None:
    error = check_envelope(httpx.Response(200, json=body))
    assert type(error) is kind


def test_check_envelope__rejection_names_field_and_message() -> None:
    error = check_envelope(httpx.Response(200, json=_status(
        11, ("FMaterialId", "物料编码 P-404 不存在"), ("FDATE", "已结账"))))
    assert isinstance(error, KingdeeRejectedError)
    assert str(error) == "FMaterialId: 物料编码 P-404 不存在; FDATE: 已结账 (MsgCode 11)"


@pytest.mark.parametrize("body", [
    [["C001", "客户1"]], [], {"Result": {"ResponseStatus": {"IsSuccess": True}}},
    {"LoginResultType": 1, "KDSVCSessionId": "abc"},
])
def test_check_envelope__successes_pass(body: Any) -> None:
    assert check_envelope(httpx.Response(200, json=body)) is None


def test_check_envelope__response_error_text_is_transient() -> None:
    error = check_envelope(httpx.Response(
        200, text='response_error:{"Message":"对象引用未设置到对象的实例","InnerExWrapper":null}'))
    assert isinstance(error, TransientError) and "对象引用" in str(error)
