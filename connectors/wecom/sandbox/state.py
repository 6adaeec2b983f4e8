"""The WeCom sandbox's state and rules, written from the protocol notes (not from the client).

Everything answers like WeCom: an errcode envelope with HTTP 200, English `errmsg` with a
``hint`` suffix. What the notes leave open is marked ASSUMED below.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["SandboxLimits", "WeComSandbox", "errcode"]

_MSGTYPES = ("text", "markdown", "textcard")  # ASSUMED: the others answer 40008 here
_ROBOT_MSGTYPES = ("text", "markdown", "markdown_v2")
_MOBILE_CHARS = frozenset("+0123456789")
_ERRMSG = {
    -1: "system busy", 40001: "invalid credential", 40008: "invalid message type",
    40013: "invalid corpid", 40014: "invalid access_token", 40056: "invalid agentid",
    40058: "invalid parameter", 41001: "access_token missing", 41002: "corpid missing",
    41004: "corpsecret missing", 41011: "agentid missing", 42001: "access_token expired",
    44004: "empty content", 45002: "content size out of limit",
    45009: "reach max api daily quota limit", 45033: "api concurrent out of limit",
    46004: "user no exist", 60103: "mobile invalid", 81013: "user & party & tag all invalid",
    82001: "all touser & toparty & totag invalid", 93000: "invalid webhook url",
    93004: "webhook disabled", 93017: "empty request content",
}


def errcode(code: int, *, text: str | None = None) -> dict[str, Any]:
    """WeCom's error envelope, with the variable suffix real answers carry."""
    hint = f"{int(time.time())}_{secrets.randbelow(100)}_{secrets.token_hex(8)}"
    message = (f"{text or _ERRMSG.get(code, 'error')}, hint: [{hint}], from ip: 127.0.0.1, "
               f"more info at https://open.work.weixin.qq.com/devtool/query?e={code}")
    return {"errcode": code, "errmsg": message}


def _ok(**fields: Any) -> dict[str, Any]:
    return {"errcode": 0, "errmsg": "ok", **fields}


@dataclass
class SandboxLimits:
    """The rate limits the sandbox enforces; windows are shortened in tests.

    Attributes:
        api: calls per `api_window` to one API by the corp (45009 beyond).
        robot: messages per `robot_window` to one robot key (45009 beyond).
        member: app messages per `member_window` to one member; beyond, WeCom answers 0
            and drops the message silently.
        concurrency: calls of one API in flight at once (45033 beyond); None: unlimited.
        wrong_secrets: wrong-secret gettoken calls after which the caller is blocked for
            `block_seconds` (45009). ASSUMED: the notes give no number.
    """

    api: int = 10_000
    api_window: float = 60.0
    robot: int = 20
    robot_window: float = 60.0
    member: int = 30
    member_window: float = 60.0
    concurrency: int | None = None
    wrong_secrets: int = 10
    block_seconds: float = 3600.0


class _Window:
    """A sliding-window counter per key."""

    def __init__(self, limit: int, window: float) -> None:
        self.limit, self.window = limit, window
        self._hits: dict[str, deque[float]] = {}

    def take(self, key: str, now: float) -> bool:
        hits = self._hits.setdefault(key, deque())
        while hits and hits[0] <= now - self.window:
            hits.popleft()
        if len(hits) >= self.limit:
            return False
        hits.append(now)
        return True


@dataclass
class SentMessage:
    """An app message as WeCom accepted it."""

    msgid: str
    msgtype: str
    content: dict[str, Any]
    delivered: list[str]
    dropped: list[str]
    invaliduser: list[str]
    at: float = field(default_factory=time.time)


class WeComSandbox:
    """Tokens, members, robots, limits and what was delivered. Thread-safe."""

    def __init__(
        self, *, corp_id: str, corp_secret: str, agent_id: int, users: Mapping[str, str],
        robots: Mapping[str, str], token_lifetime: int, limits: SandboxLimits,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.corp_id, self.corp_secret, self.agent_id = corp_id, corp_secret, agent_id
        self.users = dict(users)  # userid -> mobile
        self.robot_keys = dict(robots)  # name -> key
        self.token_lifetime = token_lifetime
        self.limits = limits
        self.clock = clock
        self.tokens: dict[str, float] = {}  # token -> expires_at
        self.revoked: set[str] = set()
        self.disabled_robots: set[str] = set()
        self.messages: list[SentMessage] = []
        self.robot_messages: dict[str, list[dict[str, Any]]] = {n: [] for n in robots}
        self.requests: list[dict[str, Any]] = []
        self.counters: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._api = _Window(limits.api, limits.api_window)
        self._robots = _Window(limits.robot, limits.robot_window)
        self._members = _Window(limits.member, limits.member_window)
        self._in_flight: Counter[str] = Counter()
        self._wrong_secrets = 0
        self._blocked_until = 0.0
        self._sent_bodies: dict[str, tuple[float, dict[str, Any]]] = {}

    # -- controls ---------------------------------------------------------------------------

    def issued_tokens(self) -> list[str]:
        with self._lock:
            return list(self.tokens)

    def expire_tokens(self) -> None:
        """Every issued token expires now (calls answer 42001)."""
        with self._lock:
            now = self.clock()
            self.tokens = {t: min(exp, now) for t, exp in self.tokens.items()}

    def revoke_tokens(self) -> None:
        """WeCom revokes every issued token early (calls answer 40014)."""
        with self._lock:
            self.revoked |= set(self.tokens)

    def inbox(self, user_id: str) -> list[SentMessage]:
        with self._lock:
            return [m for m in self.messages if user_id in m.delivered]

    # -- gates ------------------------------------------------------------------------------

    def token_error(self, token: str | None) -> int:
        """0 if `token` may call, else 41001 (missing), 40014 (invalid) or 42001 (expired)."""
        if not token:
            return 41001
        with self._lock:
            expires_at = self.tokens.get(token)
            if expires_at is None or token in self.revoked:
                return 40014
            return 0 if self.clock() < expires_at else 42001

    def take_api(self, api: str) -> bool:
        with self._lock:
            return self._api.take(api, self.clock())

    def enter(self, api: str) -> bool:
        """Count a call in flight; False (45033) when the API's concurrency is exhausted."""
        with self._lock:
            limit = self.limits.concurrency
            if limit is not None and self._in_flight[api] >= limit:
                return False
            self._in_flight[api] += 1
            return True

    def leave(self, api: str) -> None:
        with self._lock:
            self._in_flight[api] -= 1

    # -- APIs -------------------------------------------------------------------------------

    def gettoken(self, corpid: str | None, corpsecret: str | None) -> dict[str, Any]:
        with self._lock:
            now = self.clock()
            self.counters["gettoken"] += 1
            if now < self._blocked_until:
                return errcode(45009, text="ip blocked after repeated invalid credentials")
            if not corpid:
                return errcode(41002)
            if not corpsecret:
                return errcode(41004)
            if corpid != self.corp_id:
                return errcode(40013)
            if not secrets.compare_digest(corpsecret.encode(), self.corp_secret.encode()):
                self.counters["gettoken_refused"] += 1
                self._wrong_secrets += 1
                if self._wrong_secrets >= self.limits.wrong_secrets:
                    self._blocked_until = now + self.limits.block_seconds
                return errcode(40001)
            # ASSUMED: each call issues a new token; earlier ones stay valid until they expire.
            token = secrets.token_urlsafe(48)
            self.tokens[token] = now + self.token_lifetime
            self.counters["tokens_issued"] += 1
            return _ok(access_token=token, expires_in=self.token_lifetime)

    def send_message(self, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict):
            return errcode(40058, text="request body is not a json object")
        agentid = body.get("agentid")
        if agentid in (None, ""):
            return errcode(41011)
        if str(agentid) != str(self.agent_id):
            return errcode(40056)
        msgtype = body.get("msgtype")
        if msgtype not in _MSGTYPES:
            return errcode(40008)
        touser = [u for u in str(body.get("touser") or "").split("|") if u]
        parties = [p for p in str(body.get("toparty") or "").split("|") if p]
        tags = [t for t in str(body.get("totag") or "").split("|") if t]
        if not (touser or parties or tags):
            return errcode(82001)
        if len(touser) > 1000 or len(parties) > 100 or len(tags) > 100:
            return errcode(40058, text="too many recipients")
        content = body.get(msgtype)
        refused = _content_error(msgtype, content)
        if refused is not None:
            return refused
        assert isinstance(content, dict)
        with self._lock:
            now = self.clock()
            duplicate = self._duplicate(body, now)
            if duplicate is not None:
                self.counters["duplicates_dropped"] += 1
                return duplicate
            if touser == ["@all"]:
                valid, invalid = list(self.users), []
            else:
                valid = [u for u in touser if u in self.users]
                invalid = [u.lower() for u in touser if u not in self.users]
            # The sandbox has no departments or tags: every party and tag is invalid.
            if not valid:
                return errcode(81013)
            delivered = [u for u in valid if self._members.take(u, now)]
            dropped = [u for u in valid if u not in delivered]
            msgid = secrets.token_urlsafe(24)
            if msgtype == "text":  # longer text is truncated, not refused
                content = {"content": _cut(str(content["content"]), 2048)}
            self.messages.append(SentMessage(msgid, msgtype, dict(content), delivered, dropped,
                                             invalid, now))
            self.counters["messages_sent"] += 1
            self.counters["deliveries"] += len(delivered)
            self.counters["silently_dropped"] += len(dropped)
            answer = _ok(invaliduser="|".join(invalid), invalidparty="|".join(parties),
                         invalidtag="|".join(tags), unlicenseduser="", msgid=msgid)
            if body.get("enable_duplicate_check"):
                interval = float(body.get("duplicate_check_interval") or 1800)
                self._sent_bodies[_canonical(body)] = (now + min(interval, 4 * 3600), answer)
            return answer

    def _duplicate(self, body: dict[str, Any], now: float) -> dict[str, Any] | None:
        """ASSUMED: a duplicate is answered like the original, and not delivered again."""
        if not body.get("enable_duplicate_check"):
            return None
        seen = self._sent_bodies.get(_canonical(body))
        return seen[1] if seen is not None and seen[0] > now else None

    def get_user_id(self, body: Any) -> dict[str, Any]:
        mobile = body.get("mobile") if isinstance(body, dict) else None
        if (not isinstance(mobile, str) or not 5 <= len(mobile.encode()) <= 32
                or not set(mobile) <= _MOBILE_CHARS):
            return errcode(60103)
        with self._lock:
            self.counters["getuserid"] += 1
            found = next((u for u, m in self.users.items() if m == mobile), None)
        if found is None:  # ASSUMED (UNVERIFIED in the notes): 46004
            return errcode(46004)
        return _ok(userid=found)

    def robot_send(self, key: str | None, body: Any) -> dict[str, Any]:
        name = next((n for n, k in self.robot_keys.items()
                     if key and secrets.compare_digest(k.encode(), key.encode())), None)
        if name is None:
            return errcode(93000)
        if name in self.disabled_robots:
            return errcode(93004)
        with self._lock:
            if not self._robots.take(name, self.clock()):
                self.counters["robot_limited"] += 1
                return errcode(45009, text="api freq out of limit")
        if body is None or body == {}:
            return errcode(93017)
        if not isinstance(body, dict):
            return errcode(40058, text="request body is not a json object")
        msgtype = body.get("msgtype")
        if msgtype not in _ROBOT_MSGTYPES:
            return errcode(40008)
        content = body.get(msgtype)
        if not isinstance(content, dict) or not str(content.get("content") or "").strip():
            return errcode(44004)
        limit = 2048 if msgtype == "text" else 4096
        if len(str(content["content"]).encode()) > limit:
            return errcode(45002)
        for list_name in ("mentioned_list", "mentioned_mobile_list"):
            mentioned = content.get(list_name, [])
            if not isinstance(mentioned, list) or not all(isinstance(m, str) for m in mentioned):
                return errcode(40058, text=f"{list_name} must be a list of strings")
        with self._lock:
            self.robot_messages[name].append({"msgtype": msgtype, **content,
                                              "at": self.clock()})
            self.counters["robot_messages"] += 1
        return _ok()


def _content_error(msgtype: str, content: Any) -> dict[str, Any] | None:
    if not isinstance(content, dict):
        return errcode(40058, text=f"{msgtype} is missing")
    if msgtype in ("text", "markdown"):
        text = str(content.get("content") or "")
        if not text.strip():
            return errcode(44004)
        if msgtype == "markdown" and len(text.encode()) > 2048:
            return errcode(45002)  # ASSUMED: markdown over 2048 bytes is refused
        return None
    title, description, url = (content.get(k) for k in ("title", "description", "url"))
    if not title or not description or not url:
        return errcode(40058, text="textcard needs title, description and url")
    button = str(content.get("btntxt") or "")
    if (len(str(title)) > 128 or len(str(description)) > 512 or len(button) > 4
            or len(str(url).encode()) > 2048):
        return errcode(45002, text="a textcard field is too long")
    if not str(url).startswith(("http://", "https://")):
        return errcode(40058, text="textcard url needs a scheme")
    return None


def _cut(text: str, limit: int) -> str:
    return text.encode()[:limit].decode(errors="ignore")


def _canonical(body: Mapping[str, Any]) -> str:
    return json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
