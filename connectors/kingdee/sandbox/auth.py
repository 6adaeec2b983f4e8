"""The sandbox's authentication: three logins, sessions, and the signed-header scheme.

Sessions time out when idle, and `expire_every` seconds all of them are invalidated at once
(a server recycling its app pool) — a client must log in again on the "session lost" reply.
A signed request is checked on both layers (X-Kd-Signature against the app secret, and
X-Api-Signature against the client secret hidden in the AppID); timestamps in seconds or
milliseconds are accepted within `clock_skew`.
"""

from __future__ import annotations

import base64
import hmac
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .._signing import client_secret, kdsig, login_sign, string_to_sign

__all__ = ["Credentials", "Sessions", "login", "verify_signed"]

SESSION_LOST = "会话信息已丢失，请重新登录"


@dataclass(frozen=True)
class Credentials:
    """What the sandbox's one integration user and its app authorisation accept."""

    acct_id: str = "65f1a2b3c4d5e6"
    username: str = "webapi"
    password: str = "Kd-sandbox-2026!"
    app_id: str = "300123_VlFeUUtQVV4GWEYeR1ZUSgdEFFJTBFAG"
    app_secret: str = "0123456789abcdef0123456789abcdef"
    lcid: int = 2052


@dataclass
class Sessions:
    """Issued session ids with their last use and the expiry epoch they were born in."""

    idle_ttl: float = 1200.0
    expire_every: float | None = None
    clock: Callable[[], float] = time.monotonic
    issued: dict[str, tuple[float, int]] = field(default_factory=dict)
    logins: dict[str, int] = field(default_factory=dict)
    ever_issued: list[str] = field(default_factory=list)  # for tests proving none leaks
    _started: float = field(default_factory=time.monotonic)
    _flushes: int = 0

    def _epoch(self) -> int:
        if not self.expire_every:
            return self._flushes
        return self._flushes + int((self.clock() - self._started) // self.expire_every)

    def create(self) -> str:
        sid = secrets.token_hex(16)
        self.ever_issued.append(sid)
        self.issued[sid] = (self.clock(), self._epoch())
        return sid

    def valid(self, sid: str | None) -> bool:
        entry = self.issued.get(sid or "")
        if entry is None:
            return False
        last, epoch = entry
        now = self.clock()
        if epoch != self._epoch() or now - last > self.idle_ttl:
            self.issued.pop(sid or "", None)
            return False
        self.issued[sid or ""] = (now, epoch)
        return True

    def expire_all(self) -> None:
        self._flushes += 1
        self.issued.clear()


def _ok_login(creds: Credentials, sid: str) -> dict[str, Any]:
    return {
        "Message": None, "MessageCode": "CheckPasswordPolicy", "LoginResultType": 1,
        "Context": {"UserId": 100008, "UserName": creds.username, "DBid": creds.acct_id,
                    "SessionId": sid, "UserToken": secrets.token_hex(8),
                    "CurrentOrganizationInfo": {"ID": 1, "Name": "总部"},
                    "DataCenterName": "演示账套", "UserLocale": "zh-CN"},
        "KDSVCSessionId": sid, "FormId": None, "RedirectFormParam": None,
        "FormInputObject": None, "ErrorStackTrace": None, "Lcid": creds.lcid,
        "AccessToken": None, "CustomParam": {}, "KdAccessResult": None, "IsSuccessByAPI": True,
    }


def _refused(message: str) -> dict[str, Any]:
    # Every non-1 LoginResultType is a failure; 0 is what the Go port checks for.
    return {"Message": message, "MessageCode": None, "LoginResultType": 0, "Context": None,
            "KDSVCSessionId": None, "IsSuccessByAPI": False}


def _same(a: Any, b: str) -> bool:
    return hmac.compare_digest(str(a or "").encode(), b.encode())


def _fresh(stamp: Any, skew: float) -> bool:
    try:
        value = float(stamp)
    except (TypeError, ValueError):
        return False
    if value > 1e11:  # milliseconds (the Java SDK)
        value /= 1000
    return abs(time.time() - value) <= skew


def login(method: str, args: Mapping[str, Any], creds: Credentials, sessions: Sessions,
          *, skew: float = 900.0) -> tuple[dict[str, Any], str | None]:
    """(LoginResult, new session id or None) for ValidateUser / LoginByAppSecret / LoginBySign."""
    if str(args.get("acctid") or "") != creds.acct_id:
        return _refused("数据中心不存在或已禁用"), None
    if str(args.get("username") or "") != creds.username:
        return _refused("用户名或密码错误！"), None
    if method == "validateuser":
        ok = _same(args.get("password"), creds.password)
    elif method == "loginbyappsecret":
        ok = _same(args.get("appid"), creds.app_id) and _same(args.get("appsecret"),
                                                              creds.app_secret)
    else:
        stamp = args.get("timestamp")
        expected = login_sign(creds.acct_id, creds.username, creds.app_id, creds.app_secret,
                              int(str(stamp))) if str(stamp or "").isdigit() else ""
        ok = (_same(args.get("appid"), creds.app_id) and _fresh(stamp, skew)
              and bool(expected) and _same(args.get("sign"), expected))
    if not ok:
        return _refused("用户名或密码错误！" if method == "validateuser"
                        else "第三方系统登录授权验证失败"), None
    sid = sessions.create()
    sessions.logins[method] = sessions.logins.get(method, 0) + 1
    return _ok_login(creds, sid), sid


def verify_signed(headers: Mapping[str, str], path: str, creds: Credentials,
                  *, skew: float = 900.0) -> bool:
    """Both signature layers of §3.2, the app data naming our data centre and user."""
    h = {k.lower(): v for k, v in headers.items()}
    if not _same(h.get("x-kd-appkey"), creds.app_id):
        return False
    try:
        text = base64.b64decode(h.get("x-kd-appdata", ""), validate=True).decode()
    except (ValueError, UnicodeDecodeError):
        return False
    acct, user, *_rest = (text.split(",") + ["", ""])[:4]
    if acct != creds.acct_id or user != creds.username:
        return False
    if not _same(h.get("x-kd-signature"), kdsig(creds.app_secret, creds.app_id + text)):
        return False
    stamp, nonce = h.get("x-api-timestamp", ""), h.get("x-api-nonce", "")
    if not _fresh(stamp, skew):
        return False
    expected = kdsig(client_secret(creds.app_id), string_to_sign(path, nonce, stamp))
    return _same(h.get("x-api-signature"), expected)
