"""The sandbox's gateway side: tenants, the signed token endpoint, token validity.

The signature is checked against the query as received (decoded once, as any server does):
a client that URL-encoded the Base64 itself before handing it to its HTTP library arrives
double-encoded and is refused. The request log says which it was (never the value).
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import unquote

from .._signing import token_signature

__all__ = ["AuthDesk"]

_SKEW_MS = 10 * 60 * 1000  # accepted clock skew (the real one is UNVERIFIED)


class AuthDesk:
    """Issues and checks tokens of the apps the sandbox knows."""

    def __init__(self, apps: Mapping[str, str], tenants: set[str],
                 clock: Callable[[], float]) -> None:
        self.apps = dict(apps)
        self.tenants = set(tenants)
        self.clock = clock
        self.token_ttl = 7200
        self._tokens: dict[str, float] = {}
        self._lock = threading.Lock()
        self.token_calls = 0
        self.issued: list[str] = []  # for tests proving no token leaks; never served
        self.signatures: list[str] = []  # likewise

    def issue(self, query: Mapping[str, str]) -> tuple[dict[str, Any], str]:
        """(answer, signature check) for one getAccessToken call."""
        app_key = query.get("appKey", "")
        secret = self.apps.get(app_key)
        if secret is None:
            return {"code": "10018", "message": "应用不存在或appKey已停用"}, "unknown app"
        timestamp, signature = query.get("timestamp", ""), query.get("signature", "")
        self.signatures.append(signature)
        expected = token_signature(app_key, timestamp, secret)
        if signature != expected:
            check = "double-encoded" if unquote(signature) == expected else "bad"
            return {"code": "10020", "message": "签名验证失败"}, check  # code UNVERIFIED
        if not timestamp.isdigit() or abs(int(timestamp) - self.clock() * 1000) > _SKEW_MS:
            return {"code": "10021", "message": "时间戳已过期"}, "ok"  # code UNVERIFIED
        token = "ys-" + secrets.token_urlsafe(48) + "+/="  # long, with special characters
        with self._lock:
            self._tokens[token] = self.clock() + self.token_ttl
            self.token_calls += 1
            self.issued.append(token)
        return {"code": "00000", "message": "成功！",
                "data": {"access_token": token, "expire": self.token_ttl}}, "ok"

    def valid(self, token: str) -> bool:
        with self._lock:
            expires = self._tokens.get(token)
        return expires is not None and self.clock() < expires

    def expire_all(self) -> int:
        with self._lock:
            count = len(self._tokens)
            self._tokens.clear()
            return count
