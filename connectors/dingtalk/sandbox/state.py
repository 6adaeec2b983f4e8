"""The DingTalk sandbox's state: one internal app, its tokens, staff, work-notification tasks,
custom robots and rate limits — the facts of the protocol notes, kept independently of the
connector. Every method is thread-safe (the server runs in its own thread)."""

from __future__ import annotations

import hashlib
import itertools
import json
import secrets
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .crypto import robot_sign

__all__ = ["DingTalkSandbox", "SandboxRobot", "Task", "VendorError"]

DAY = 86400.0
DAILY_CAP = 500  # §3: internal app, messages per user per day
ROBOT_SKEW = 3600.0  # §6: the robot timestamp must be within one hour


class VendorError(Exception):
    """A legacy error answer: HTTP 200 (or `status`) with this body."""

    def __init__(self, errcode: int, errmsg: str, *, sub_code: str | None = None,
                 status: int = 200) -> None:
        super().__init__(errmsg)
        self.status = status
        self.body: dict[str, Any] = {"errcode": errcode, "errmsg": errmsg}
        if sub_code is not None:  # §1: /topapi wraps auth failures in errcode 88
            self.body = {"errcode": 88, "sub_code": sub_code, "sub_msg": errmsg,
                         "errmsg": f"ding talk error[subcode={sub_code},submsg={errmsg}]"}
        self.body["request_id"] = secrets.token_hex(6)


@dataclass
class Task:
    """One accepted work notification: its recipients' fates are settled when sent."""

    task_id: int
    msg: dict[str, Any]
    unread: list[str]
    invalid: list[str]
    forbidden: list[dict[str, Any]]
    polls_left: int


@dataclass
class SandboxRobot:
    """A custom robot of a group: its webhook token, security settings and what it posted."""

    access_token: str
    secret: str | None = None
    keywords: tuple[str, ...] = ()
    enabled: bool = True
    posted: list[dict[str, Any]] = field(default_factory=list)
    accepted_at: deque[float] = field(default_factory=deque)
    throttled_until: float = 0.0
    refusals: int = 0


class DingTalkSandbox:
    """The state behind the sandbox app; tests reach it as ``app.state.sandbox``.

    Args:
        app_key, app_secret, agent_id: the internal app's credentials.
        users: user id → mobile of the organisation's staff.
        token_lifetime: seconds a token lives (DingTalk: 7200).
        app_qps: requests per second per API before errcode 90018 (None: no limit).
        robot_limit, robot_window: messages per window per robot (DingTalk: 20 per 60 s).
        robot_penalty: seconds a robot stays throttled after exceeding it (DingTalk: 600).
        robot_throttle_code: which of the documented throttle codes to answer.
        task_polls: getsendprogress calls before a task reports done (0: done at once).
        clock: Unix-seconds clock (tests pin it to expire tokens without waiting).
    """

    def __init__(
        self, *, app_key: str, app_secret: str, agent_id: int, users: Mapping[str, str],
        token_lifetime: float = 7200.0, app_qps: int | None = 20, robot_limit: int = 20,
        robot_window: float = 60.0, robot_penalty: float = 600.0,
        robot_throttle_code: int = 660026, task_polls: int = 0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.app_key, self.app_secret, self.agent_id = app_key, app_secret, agent_id
        self.users = dict(users)
        self.token_lifetime, self.app_qps = token_lifetime, app_qps
        self.robot_limit, self.robot_window = robot_limit, robot_window
        self.robot_penalty, self.robot_throttle_code = robot_penalty, robot_throttle_code
        self.task_polls, self.clock = task_polls, clock
        self.tokens: dict[str, float] = {}  # token -> expires_at
        self.current: str | None = None
        self.issued: list[str] = []
        self.tasks: dict[int, Task] = {}
        self.robots: dict[str, SandboxRobot] = {}
        self.requests: list[dict[str, Any]] = []
        self._task_ids = itertools.count(256271667526)
        self._calls: dict[str, deque[float]] = defaultdict(deque)
        self._sent_today: dict[tuple[str, int], int] = defaultdict(int)
        self._contents: set[tuple[str, int, str]] = set()
        self._lock = threading.RLock()

    # -- tokens (§2) ------------------------------------------------------------------------

    def issue_token(self, app_key: str | None, app_secret: str | None) -> tuple[str, int]:
        """A live token is handed out again with its life extended; else a new one."""
        with self._lock:
            if not app_key or not app_secret:
                raise VendorError(40035, "缺少参数 corpid or appkey")
            if app_key != self.app_key or app_secret != self.app_secret:
                raise VendorError(40096, "不合法的appKey或appSecret")
            now = self.clock()
            if self.current is None or self.tokens[self.current] <= now:
                self.current = secrets.token_hex(16)
                self.issued.append(self.current)
            self.tokens[self.current] = now + self.token_lifetime
            return self.current, int(self.token_lifetime)

    def expire_tokens(self) -> None:
        """Every issued token expires now (the next gettoken issues a new one)."""
        with self._lock:
            now = self.clock()
            self.tokens = {t: min(at, now) for t, at in self.tokens.items()}

    def authorise(self, token: str | None, *, wrapped: bool = True) -> None:
        """§1/§2: blank → 88/40000, unknown → 88/40014, expired → 88/42001 (unwrapped on
        non-topapi paths)."""
        with self._lock:
            if not token:
                raise VendorError(88, "access_token is blank", sub_code="40000")
            expires = self.tokens.get(token)
            if expires is None:
                code, text = 40014, "不合法的access_token"
            elif expires <= self.clock():
                code, text = 42001, "access_token超时"
            else:
                return
            raise VendorError(88, text, sub_code=str(code)) if wrapped else VendorError(code,
                                                                                       text)

    def throttle_app(self, api: str) -> None:
        """§7: more than `app_qps` calls of one API within a second → 90018."""
        with self._lock:
            if self.app_qps is None:
                return
            now, calls = self.clock(), self._calls[api]
            while calls and calls[0] <= now - 1.0:
                calls.popleft()
            if len(calls) >= self.app_qps:
                raise VendorError(90018, "当前应用调用该接口超过每秒调用次数限制")
            calls.append(now)

    # -- staff and work notifications (§3, §5) ----------------------------------------------

    def user_by_mobile(self, mobile: str) -> str:
        with self._lock:
            found = next((u for u, m in self.users.items() if m == mobile), None)
            if found is None:
                raise VendorError(60121, "找不到该用户")
            return found

    def send(self, user_ids: list[str], msg: dict[str, Any]) -> int:
        """Accept a task; each recipient is delivered, invalid, or forbidden (143105 over the
        daily cap, 143106 identical content the same day) — accepted all the same."""
        with self._lock:
            day = int(self.clock() // DAY)
            content = hashlib.sha256(json.dumps(msg, sort_keys=True).encode()).hexdigest()
            task = Task(next(self._task_ids), msg, [], [], [], self.task_polls)
            for user in dict.fromkeys(user_ids):
                if user not in self.users:
                    task.invalid.append(user)
                elif self._sent_today[(user, day)] >= DAILY_CAP:
                    task.forbidden.append({"code": 143105, "count": 1, "userid": user})
                elif (user, day, content) in self._contents:
                    task.forbidden.append({"code": 143106, "count": 1, "userid": user})
                else:
                    self._sent_today[(user, day)] += 1
                    self._contents.add((user, day, content))
                    task.unread.append(user)
            self.tasks[task.task_id] = task
            return task.task_id

    def task(self, task_id: Any) -> Task:
        with self._lock:
            try:
                return self.tasks[int(task_id)]
            except (KeyError, TypeError, ValueError):
                raise VendorError(400002, "task_id 不存在") from None  # code: not in the notes

    def progress(self, task_id: Any) -> dict[str, int]:
        """getsendprogress (not in the notes: the shape of DingTalk's public docs)."""
        with self._lock:
            task = self.task(task_id)
            if task.polls_left > 0:
                task.polls_left -= 1
                return {"progress_in_percent": 50, "status": 1}
            return {"progress_in_percent": 100, "status": 2}

    def messages_to(self, user_id: str) -> list[dict[str, Any]]:
        """Every work-notification `msg` delivered to `user_id`."""
        with self._lock:
            return [t.msg for t in self.tasks.values() if user_id in t.unread]

    # -- custom robots (§6) -------------------------------------------------------------------

    def add_robot(self, access_token: str, *, secret: str | None = None,
                  keywords: tuple[str, ...] = ()) -> SandboxRobot:
        with self._lock:
            robot = self.robots[access_token] = SandboxRobot(access_token, secret, keywords)
            return robot

    def robot_post(self, token: str | None, timestamp: str | None, sign: str | None,
                   body: dict[str, Any]) -> None:
        with self._lock:
            robot = self.robots.get(token or "")
            if robot is None:
                raise VendorError(300005, "token is not exist")
            if not robot.enabled:
                raise VendorError(400102, "robot disabled")
            try:
                self._robot_security(robot, timestamp, sign, body)
                self._robot_throttle(robot)
            except VendorError:
                robot.refusals += 1
                raise
            if body.get("msgtype") not in ("text", "markdown", "actionCard", "link", "feedCard"):
                raise VendorError(400105, "不支持的消息类型")
            robot.posted.append(body)

    def _robot_security(self, robot: SandboxRobot, timestamp: str | None, sign: str | None,
                        body: dict[str, Any]) -> None:
        if robot.secret is not None:
            try:
                skew = abs(self.clock() * 1000 - int(timestamp or ""))
            except ValueError:
                skew = float("inf")
            if skew > ROBOT_SKEW * 1000:
                raise VendorError(310000, "invalid timestamp")
            if not secrets.compare_digest(robot_sign(robot.secret, str(timestamp)),
                                          sign or ""):
                raise VendorError(310000, "sign not match")
        if robot.keywords:
            text = json.dumps(body, ensure_ascii=False)
            if not any(k in text for k in robot.keywords):
                raise VendorError(310000, "keywords not in content")

    def _robot_throttle(self, robot: SandboxRobot) -> None:
        now = self.clock()
        if now < robot.throttled_until:
            raise VendorError(self.robot_throttle_code, "sending too many messages per minute")
        while robot.accepted_at and robot.accepted_at[0] <= now - self.robot_window:
            robot.accepted_at.popleft()
        if len(robot.accepted_at) >= self.robot_limit:
            robot.throttled_until = now + self.robot_penalty
            raise VendorError(self.robot_throttle_code, "sending too many messages per minute")
        robot.accepted_at.append(now)
