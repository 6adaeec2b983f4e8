"""`dingtalk`: work notifications, group robots, event pushes and bot messages of an internal app.

Capabilities: `Notifier` (work notifications to user ids or mobiles, followed up with the
send result), `RobotPoster` (custom group robots by name) and `WebhookReceiver` (encrypted
event push, and the bot's messages in HTTP mode, signed in headers with the app secret). No
streams: DingTalk is a destination here, not a source of records.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar, Literal

import httpx
from pydantic import Field, SecretStr, model_validator

from connectors.sdk import (
    CheckResult,
    ConfigError,
    Connector,
    ConnectorConfig,
    ConnectorError,
    HttpClient,
    NotFoundError,
    RetryPolicy,
    Stream,
)
from connectors.sdk.auth import MemoryTokenCache, TokenAuth, TokenCache, token_cache_key
from connectors.sdk.crypto import CallbackCrypto, NonceStore
from connectors.sdk.messaging import Delivery, InboundEvent, Message, Recipient, WebhookReply
from connectors.sdk.ratelimit import RateBudget, RateCap, RateLimit

from ._bot_messages import DingTalkBotMessages
from ._callbacks import DingTalkCallbacks
from ._codes import app_error
from ._format import robot_body, work_notice_msg
from ._robots import ROBOT_PATH, RobotAuth, RobotConfig, budget_key, robot_error
from ._tokens import DingTalkTokens
from .client import MAX_USERIDS, OPERATIONS, DingTalkClient

__all__ = ["ROBOT_CHANNEL", "WORK_NOTICE_CHANNEL", "DingTalkConfig", "DingTalkConnector"]

WORK_NOTICE_CHANNEL = "dingtalk.work_notice"
DeliveryStatus = Literal["sent", "pending", "failed", "partial"]
ROBOT_CHANNEL = "dingtalk.robot"


class DingTalkConfig(ConnectorConfig):
    """A DingTalk internal app (企业内部应用) connection.

    Attributes:
        base_url: the legacy API host (``https://oapi.dingtalk.com``); gettoken, work
            notifications, the mobile lookup and robot webhooks all live there.
        app_key: the app's AppKey.
        app_secret: the app's AppSecret.
        agent_id: the app's AgentId (work notifications are sent as this app).
        robots: custom group robots by name: ``{ops: {access_token: ..., secret: SEC...}}``.
        callback_token: the event-push token (HTTP push "事件订阅").
        callback_aes_key: the event-push aes_key (43-character EncodingAESKey).
        callback_owner_key: the receive id inside pushes: the app key (default), the corp
            id for callbacks registered through the old API, or a suite key.
        callback_window: seconds a push's timestamp may be off from this server's clock.
        bot_app_secret: the AppSecret the bot's HTTP-mode messages are signed with, when the
            bot belongs to another app than this connection's (default: `app_secret`).
        bot_window: seconds a bot message's timestamp may be off (DingTalk: one hour).
        mobile_cache_ttl: seconds a mobile → user id lookup is reused.
        robot_backoff: seconds to wait after a robot throttle code: DingTalk documents a
            10-minute block (§6). A send waits at most `max_retry_after` of it in the call;
            the notify queue waits the rest before the next attempt.
        card_button: the button title of card messages (the link back to the ticket).
        token_rate_limit: how often the app token may be fetched at most.
        token_daily_cap: app token fetches allowed in any 24 hours, counted by every
            process sharing the budget store; beyond it a fetch is not sent ("gettoken is
            frequency-limited", §2, with no number: ASSUMED far above a healthy app's ~12 a
            day, far below a refetch loop's thousands).
    """

    base_url: str = "https://oapi.dingtalk.com"
    app_key: str = Field(min_length=1)
    app_secret: SecretStr
    agent_id: int = Field(ge=1)
    robots: dict[str, RobotConfig] = Field(default_factory=dict)
    callback_token: SecretStr | None = None
    callback_aes_key: SecretStr | None = None
    callback_owner_key: str | None = None
    callback_window: float = Field(default=300.0, gt=0)
    bot_app_secret: SecretStr | None = None
    bot_window: float = Field(default=3600.0, gt=0)
    mobile_cache_ttl: float = Field(default=3600.0, ge=0)
    robot_backoff: float = Field(default=600.0, ge=0)
    card_button: str = "查看工单"
    token_rate_limit: RateLimit = Field(
        default_factory=lambda: RateLimit(per_minute=20, headroom=1))
    token_daily_cap: int | None = Field(default=1000, ge=1)

    @model_validator(mode="after")
    def _callback_pair(self) -> DingTalkConfig:
        if (self.callback_token is None) != (self.callback_aes_key is None):
            raise ValueError("give both callback_token and callback_aes_key, or neither")
        return self


def _chunks(items: Sequence[str], size: int) -> list[list[str]]:
    return [list(items[i:i + size]) for i in range(0, len(items), size)]


class DingTalkConnector(Connector[DingTalkConfig]):
    """DingTalk for the hub: notify staff, post to groups, receive event pushes.

    Args:
        config: the connection's config.
        token_cache: where the app token lives; the hub passes its store-backed cache so
            every process shares one token (default: a cache of this instance).
        clock: Unix-seconds clock for tokens, robot signatures and callbacks (tests pin it).
        **kwargs: `connection`, `on_call`, `transport`, `budget_store`, as for any connector.
    """

    name = "dingtalk"
    title = "DingTalk (钉钉)"
    Config = DingTalkConfig
    streams: ClassVar[dict[str, type[Stream]]] = {}
    default_rate_limit = RateLimit(per_second=20)  # one app → one API (§7)

    def __init__(self, config: DingTalkConfig, *, token_cache: TokenCache | None = None,
                 clock: Callable[[], float] = time.time, **kwargs: Any) -> None:
        super().__init__(config, **kwargs)
        self.token_cache: TokenCache = token_cache or MemoryTokenCache()
        self.clock = clock
        self.tokens = DingTalkTokens(
            config.base_url, config.app_key, config.app_secret, clock=clock,
            budget=RateBudget(f"dingtalk:token:{config.app_key}", config.token_rate_limit,
                              self._budget_store),
            cap=None if config.token_daily_cap is None else RateCap(
                f"dingtalk:gettoken-cap:{config.app_key}", config.token_daily_cap, 86_400.0,
                self._budget_store))
        self._token_http: httpx.AsyncClient | None = None
        self._auth: TokenAuth | None = None
        self._robot_http: dict[str, HttpClient] = {}
        self._mobiles: dict[str, tuple[str, float]] = {}
        self._callbacks: DingTalkCallbacks | None = None
        self._bot_messages: DingTalkBotMessages | None = None

    # -- plumbing -------------------------------------------------------------------------

    @property
    def client(self) -> DingTalkClient:
        return DingTalkClient(self.http)

    @property
    def token_key(self) -> str:
        """One token per app *and secret*: a wrong secret never borrows a good token."""
        return token_cache_key("dingtalk", self.config.app_key, secret=self.config.app_secret)

    def _token_client(self) -> httpx.AsyncClient:
        if self._token_http is None:
            self._token_http = httpx.AsyncClient(timeout=self.config.timeout,
                                                 transport=self._transport)
        return self._token_http

    def auth(self) -> TokenAuth:
        if self._auth is None:
            self._auth = TokenAuth(self.tokens, self.token_cache, self.token_key,
                                   client=self._token_client(), connector=self.name,
                                   connection=self.connection, clock=self.clock)
        return self._auth

    def budget(self) -> RateBudget | None:
        """The app's budget: DingTalk counts per app, so every connection of it shares one."""
        limit = self.config.rate_limit or self.default_rate_limit
        return RateBudget(f"dingtalk:app:{self.config.app_key}", limit, self._budget_store)

    def _context(self, response: httpx.Response) -> dict[str, Any]:
        path = response.request.url.path
        operation = next((op for p, op in OPERATIONS.items() if path.endswith(p)), path)
        return {"connector": self.name, "connection": self.connection, "operation": operation}

    def check_response(self, response: httpx.Response) -> ConnectorError | None:
        return app_error(response, context=self._context(response), redact=self.redactor.text)

    async def check(self) -> CheckResult:
        """Fetch the app token (DingTalk hands back the live one with its life extended)."""
        async def probe() -> None:
            try:
                token = await self.tokens.fetch(self._token_client())
            except ConnectorError as exc:
                exc.connector, exc.connection = self.name, self.connection
                raise
            await self.token_cache.put(self.token_key, token)

        return await CheckResult.probe(probe)

    async def aclose(self) -> None:
        clients, self._robot_http = list(self._robot_http.values()), {}
        for client in clients:
            await client.aclose()
        if self._token_http is not None:
            await self._token_http.aclose()
            self._token_http = None
        await super().aclose()

    # -- Notifier: work notifications -------------------------------------------------------

    async def user_id_by_mobile(self, mobile: str) -> str | None:
        """The user id of a mobile (cached for `mobile_cache_ttl`), or None if unknown."""
        number = mobile.strip()
        cached = self._mobiles.get(number)
        if cached is not None and cached[1] > self.clock():
            return cached[0]
        try:
            user_id = await self.client.user_by_mobile(number)
        except NotFoundError:
            return None
        self._mobiles[number] = (user_id, self.clock() + self.config.mobile_cache_ttl)
        return user_id

    async def _resolve(self, to: Sequence[Recipient]) -> tuple[list[str], list[str]]:
        mobiles = list(dict.fromkeys(r.mobile for r in to if r.mobile))
        found = await asyncio.gather(*(self.user_id_by_mobile(m) for m in mobiles))
        by_mobile = dict(zip(mobiles, found, strict=True))
        user_ids = [r.user_id if r.user_id else by_mobile[r.mobile or ""] for r in to]
        unresolved = [m for m, user_id in by_mobile.items() if user_id is None]
        return list(dict.fromkeys(u for u in user_ids if u)), unresolved

    async def notify(self, message: Message, *, to: Sequence[Recipient]) -> Delivery:
        """Send a work notification (text, markdown, or an action card linking the ticket).

        Mobiles are resolved to user ids first; those DingTalk does not know are reported in
        `failed`. Returns a "pending" Delivery whose `message_id` is the task id (several,
        comma-separated, past 100 recipients); `follow_up` asks for the result.
        """
        user_ids, unresolved = await self._resolve(to)
        if not user_ids:
            return Delivery(WORK_NOTICE_CHANNEL, "failed", failed=tuple(unresolved),
                            detail="no recipient resolved to a DingTalk user")
        msg, shortened = work_notice_msg(message, button=self.config.card_button)
        tasks = [await self.client.send_work_notice(self.config.agent_id, chunk, msg)
                 for chunk in _chunks(user_ids, MAX_USERIDS)]
        notes = (["text shortened to DingTalk's 2048 bytes"] if shortened else []) + (
            [f"{len(unresolved)} mobile(s) not found"] if unresolved else [])
        return Delivery(WORK_NOTICE_CHANNEL, "pending", message_id=",".join(tasks),
                        failed=tuple(unresolved), detail="; ".join(notes) or None)

    async def follow_up(self, delivery: Delivery) -> Delivery:
        """For a pending work notification: still pending while DingTalk is sending, then
        "sent", "partial" or "failed" with the user ids it did not reach in `failed`."""
        if (delivery.channel != WORK_NOTICE_CHANNEL or delivery.status != "pending"
                or not delivery.message_id):
            return delivery
        tasks = delivery.message_id.split(",")
        agent_id = self.config.agent_id
        for task in tasks:
            if not (await self.client.send_progress(agent_id, task)).done:
                return delivery
        failed, delivered, duplicates = list(delivery.failed), 0, list(delivery.duplicates)
        for task in tasks:
            result = await self.client.send_result(agent_id, task)
            failed += result.undelivered
            duplicates += result.duplicates
            delivered += len(result.delivered)
        failed = list(dict.fromkeys(failed))
        status: DeliveryStatus = "sent" if not failed else "partial" if delivered else "failed"
        detail = (f"{delivered} delivered, {len(failed)} not (unknown user, daily cap, "
                  "duplicate content or failed)") if failed else None
        return Delivery(WORK_NOTICE_CHANNEL, status, message_id=delivery.message_id,
                        failed=tuple(failed), detail=detail,
                        duplicates=tuple(dict.fromkeys(duplicates)))

    def resend_deduplicated(self, robot: str | None) -> bool:
        """Whether DingTalk drops a resend of what it delivered: work notices yes (identical
        content to the same user is not delivered twice the same day, §3: 143106, so a
        notice whose answer was lost may be sent again); custom robots no."""
        return robot is None

    # -- RobotPoster: custom group robots ---------------------------------------------------

    def _robot(self, name: str) -> HttpClient:
        robot = self.config.robots.get(name)
        if robot is None:
            known = ", ".join(sorted(self.config.robots)) or "none"
            raise ConfigError(f"no robot '{name}' in this connection; it has: {known}",
                              connector=self.name, connection=self.connection)
        client = self._robot_http.get(name)
        if client is None:
            client = self._robot_http[name] = HttpClient(
                base_url=self.config.base_url, connector=self.name, connection=self.connection,
                auth=RobotAuth(robot.access_token, robot.secret, clock=self.clock),
                timeout=self.config.timeout,
                retry=RetryPolicy(attempts=self.config.max_attempts,
                                  max_retry_after=self.config.max_retry_after),
                on_call=self._on_call, redactor=self.redactor,
                check_response=functools.partial(self._robot_check, name),
                transport=self._transport, max_connections=self.config.max_connections,
                budget=RateBudget(budget_key(robot), robot.rate_limit, self._budget_store),
            )
        return client

    def _robot_check(self, name: str, response: httpx.Response) -> ConnectorError | None:
        return robot_error(response, robot=name, backoff=self.config.robot_backoff,
                           context=self._context(response), redact=self.redactor.text)

    async def post(self, robot: str, message: Message) -> Delivery:
        """Post through the robot named `robot` (text, markdown or card; @mobiles pinged).

        Waits for the robot's budget (20 a minute); a throttle code waits `robot_backoff`
        (capped by `max_retry_after`) and sends again, so a message is delayed, not dropped.
        """
        client = self._robot(robot)
        body = robot_body(message, button=self.config.card_button)
        await client.send("POST", ROBOT_PATH, operation="robot.send", json=body)
        return Delivery(ROBOT_CHANNEL, "sent", detail=f"robot '{robot}'")

    # -- WebhookReceiver: encrypted event push, bot messages in HTTP mode -------------------

    def _receiver(self) -> DingTalkCallbacks:
        if self._callbacks is None:
            token, key = self.config.callback_token, self.config.callback_aes_key
            if token is None or key is None:
                raise ConfigError("this connection has no callback_token / callback_aes_key",
                                  connector=self.name, connection=self.connection)
            try:
                crypto = CallbackCrypto(token=token, encoding_aes_key=key,
                                        receive_id=self.config.callback_owner_key
                                        or self.config.app_key)
            except ConfigError as exc:
                exc.connector, exc.connection = self.name, self.connection
                raise
            self._callbacks = DingTalkCallbacks(
                crypto, connector=self.name, connection=self.connection,
                window=self.config.callback_window, clock=self.clock)
        return self._callbacks

    def _bot_receiver(self) -> DingTalkBotMessages:
        if self._bot_messages is None:
            crypto = None
            if self.config.callback_aes_key is not None:  # for encrypted bodies
                crypto = self._receiver().crypto
            self._bot_messages = DingTalkBotMessages(
                self.config.bot_app_secret or self.config.app_secret, connector=self.name,
                connection=self.connection, window=self.config.bot_window, clock=self.clock,
                crypto=crypto)
        return self._bot_messages

    async def open_webhook(
        self, *, method: str, query: Mapping[str, str], body: bytes, nonces: NonceStore,
        now: float | None = None, headers: Mapping[str, str] | None = None,
    ) -> tuple[InboundEvent | None, WebhookReply]:
        """Open one event push (verified, fresh, first seen, decrypted) or one bot message
        in HTTP mode (its ``sign`` header verified, its ``timestamp`` header fresh).

        A POST with a ``sign`` header and no signature in the query is a bot message (its
        body plaintext JSON, or ``{"encrypt": ...}`` opened with the callback keys); any
        other request is an event push. A bot message has no nonce: a retry is the same
        ``msgId``, which the hub acknowledges without acting twice.

        Returns:
            The event (None for ``check_url``, sent when the URL is saved) and the reply:
            the encrypted "success" for a push, an empty 200 for a bot message.

        Raises:
            CallbackSignatureError: forged, or signed with another token or secret.
            StaleCallbackError: outside `callback_window` (`bot_window` for a bot message),
                or a replayed nonce (ReplayedCallbackError).
            CallbackCryptoError: not decryptable for this app's owner key; a bot message
                that is not one.
            ConfigError: a push to a connection without callback settings.
        """
        lowered = {name.lower(): value for name, value in (headers or {}).items()}
        if "sign" in lowered and not (query.get("msg_signature") or query.get("signature")):
            return self._bot_receiver().open(method=method, headers=lowered, body=body,
                                             now=now)
        return await self._receiver().open(method=method, query=query, body=body,
                                           nonces=nonces, now=now)

