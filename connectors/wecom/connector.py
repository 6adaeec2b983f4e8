"""`wecom`: WeCom (企业微信) — app messages to staff, group robots and inbound callbacks.

One connection is one internal app of one enterprise: its corp id, app secret and agent id,
the group robots it may post to (by name), and optionally the callback Token and
EncodingAESKey of the app's callback URL. It offers three capabilities of the SDK —
`Notifier`, `RobotPoster`, `WebhookReceiver` — and no streams, plus `KfChannel` (微信客服,
`kf.py`): kf accounts, `sync_msg`, `send_msg` and customer names, through the same token
cache, rate budgets and call audit.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Mapping, Sequence
from typing import ClassVar

import httpx

from connectors.sdk import (
    CheckResult,
    ConfigError,
    Connector,
    ConnectorError,
    HttpClient,
    RateLimitedError,
    RejectedError,
    RetryPolicy,
    Stream,
    TransientError,
    json_body,
)
from connectors.sdk.auth import MemoryTokenCache, TokenAuth, TokenCache, token_cache_key
from connectors.sdk.crypto import NonceStore
from connectors.sdk.http import CallHook
from connectors.sdk.messaging import Delivery, InboundEvent, Message, Recipient, WebhookReply
from connectors.sdk.ratelimit import BudgetStore, RateBudget, RateCap, RateLimit

from ._callbacks import WeComCallbacks
from ._config import WeComConfig, WeComRobot
from ._payloads import (
    APP_CHANNEL,
    ROBOT_CHANNEL,
    app_delivery,
    app_message_body,
    normalize_mobile,
    robot_body,
)
from .client import GETTOKEN, OPERATIONS, WeComClient, WeComTokens, classify
from .kf import KfAccount, KfClient, KfCustomer, KfPage

__all__ = ["WeComConfig", "WeComConnector", "WeComRobot"]

_ALL_INVALID = "81013"  # every recipient invalid: nothing was sent
_BAD_MOBILE = "60103"
_FREQUENCY = "45009"
_MISS_TTL = 300.0  # seconds an unknown mobile is remembered (not to hammer getuserid)


def _robot_budget_key(robot: WeComRobot) -> str:
    """One budget per webhook key (WeCom counts 20 a minute per key), whichever connection
    or process posts through it; the key shows a digest, never the webhook key."""
    digest = hashlib.sha256(robot.key.get_secret_value().encode()).hexdigest()[:16]
    return f"wecom:robot:{digest}"


class WeComConnector(Connector[WeComConfig]):
    """WeCom app messages (Notifier), group robots (RobotPoster), callbacks (WebhookReceiver).

    Args:
        config: the connection's config.
        connection: the connection's name.
        on_call: receives a CallRecord per HTTP attempt (the audit log).
        transport: an httpx transport for every call, token calls included (tests).
        budget_store: where rate budgets live (the hub's shared store in production).
        token_cache: where the app's access token lives (the hub's shared cache in
            production; a cache of this instance by default).
        clock: monotonic seconds, for the mobile cache (tests inject one).
    """

    name = "wecom"
    title = "WeCom (企业微信)"
    Config = WeComConfig
    streams: ClassVar[dict[str, type[Stream]]] = {}
    # One corp calling one API: 10 000 a minute, 150 000 an hour (45009 beyond).
    default_rate_limit = RateLimit(per_minute=10_000, per_hour=150_000)

    def __init__(
        self,
        config: WeComConfig,
        *,
        connection: str | None = None,
        on_call: CallHook | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        budget_store: BudgetStore | None = None,
        token_cache: TokenCache | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(config, connection=connection, on_call=on_call, transport=transport,
                         budget_store=budget_store)
        self.token_cache: TokenCache = token_cache or MemoryTokenCache()
        self._clock = clock
        self._token_auth: TokenAuth | None = None
        self._token_http: httpx.AsyncClient | None = None
        self._robot_clients: dict[str, HttpClient] = {}
        self._mobiles: dict[str, tuple[float, str | None]] = {}
        self._callbacks: WeComCallbacks | None = None

    # -- plumbing -------------------------------------------------------------------------

    @property
    def token_key(self) -> str:
        """The token's cache key: one token per app *and secret* (a digest of it), so a
        wrong secret never borrows the token a right one bought."""
        return token_cache_key("wecom", self.config.corp_id, str(self.config.agent_id),
                               secret=self.config.corp_secret)

    @property
    def _base_path(self) -> str:
        return httpx.URL(self.config.base_url).path.rstrip("/")

    @property
    def client(self) -> WeComClient:
        return WeComClient(self.http)

    def auth(self) -> TokenAuth:
        if self._token_auth is None:
            config = self.config
            budget = None if config.token_rate_limit is None else RateBudget(
                f"wecom:gettoken:{config.corp_id}:{config.agent_id}", config.token_rate_limit,
                self._budget_store)
            provider = WeComTokens(
                config.base_url + GETTOKEN, config.corp_id, config.corp_secret,
                refusals=self.token_cache, refusal_key=f"{self.token_key}:refused",
                budget=budget, refusal_backoff=config.token_refusal_backoff,
                cap=None if config.token_daily_cap is None else RateCap(
                    f"wecom:gettoken-cap:{config.corp_id}:{config.agent_id}",
                    config.token_daily_cap, 86_400.0, self._budget_store))
            self._token_auth = TokenAuth(
                provider, self.token_cache, self.token_key, client=self._token_client(),
                connector=self.name, connection=self.connection)
        return self._token_auth

    def budget(self) -> RateBudget | None:
        """The corp's budget: WeCom counts calls per corp (10 000 a minute an API, §6),
        so every connection and process of the corp shares one."""
        limit = self.config.rate_limit or self.default_rate_limit
        return RateBudget(f"wecom:corp:{self.config.corp_id}", limit, self._budget_store)

    def _token_client(self) -> httpx.AsyncClient:
        if self._token_http is None:
            self._token_http = httpx.AsyncClient(timeout=self.config.timeout,
                                                 transport=self._transport)
        return self._token_http

    def check_response(  # a method where the base declares an attribute
        self, response: httpx.Response
    ) -> ConnectorError | None:
        """WeCom answers HTTP 200 with `errcode`: a non-zero code is a typed error, with the
        context the send function adds to the errors it builds itself."""
        error = classify(json_body(response), redact=self.redactor.text)
        if isinstance(error, RateLimitedError) and error.vendor_code == _FREQUENCY:
            error.retry_after = self.config.frequency_wait
        if error is not None:
            error.connector, error.connection = self.name, self.connection
            error.operation = OPERATIONS.get(response.request.url.path.removeprefix(
                self._base_path), error.operation)
        return error

    def _robot_client(self, name: str) -> HttpClient:
        robot = self._robot(name)
        if name not in self._robot_clients:
            config = self.config
            self._robot_clients[name] = HttpClient(
                base_url=config.base_url, connector=self.name, connection=self.connection,
                timeout=config.timeout,
                retry=RetryPolicy(attempts=config.max_attempts,
                                  max_retry_after=config.max_retry_after),
                on_call=self._on_call, redactor=self.redactor,
                check_response=self.check_response, transport=self._transport,
                max_connections=4,
                budget=RateBudget(_robot_budget_key(robot), robot.rate_limit,
                                  self._budget_store),
            )
        return self._robot_clients[name]

    def _robot(self, name: str) -> WeComRobot:
        robot = self.config.robots.get(name)
        if robot is None:
            known = ", ".join(sorted(self.config.robots)) or "none"
            raise ConfigError(f"no robot '{name}'; this connection has: {known}",
                              connector=self.name, connection=self.connection)
        return robot

    async def aclose(self) -> None:
        clients, self._robot_clients = list(self._robot_clients.values()), {}
        for client in clients:
            await client.aclose()
        if self._token_http is not None:
            await self._token_http.aclose()
            self._token_http = None
        self._token_auth = None
        await super().aclose()

    # -- check ----------------------------------------------------------------------------

    async def check(self) -> CheckResult:
        """Fetch a fresh token: reachable, and the corp id and secret accepted."""
        return await CheckResult.probe(self._fresh_token)

    async def _fresh_token(self) -> None:
        auth = self.auth()
        try:
            token = await auth.provider.fetch(self._token_client())
        except ConnectorError as exc:
            exc.connector, exc.connection = self.name, self.connection
            raise
        except httpx.TransportError as exc:
            raise TransientError(f"token endpoint unreachable ({type(exc).__name__})",
                                 operation="token", connector=self.name,
                                 connection=self.connection) from None
        await self.token_cache.put(self.token_key, token)

    # -- Notifier -------------------------------------------------------------------------

    async def notify(self, message: Message, *, to: Sequence[Recipient]) -> Delivery:
        """Send an app message (text, markdown, or a textcard linking to `message.url`).

        Mobiles are resolved to user ids first (cached for `mobile_cache_ttl`); those that
        do not resolve, and the users WeCom reports invalid, are in `Delivery.failed` with
        status "partial" (or "failed" when nobody was reached). Each recipient's budget is
        waited for first, so WeCom's silent per-member limit never drops a message.

        Raises:
            ConnectorError: the typed error of a send WeCom refused as a whole.
        """
        user_ids, unresolved = await self._resolve(to)
        if not user_ids:
            return Delivery(channel=APP_CHANNEL, status="failed", failed=tuple(unresolved),
                            detail="no recipient resolved to a WeCom user")
        interval = self.config.duplicate_check_interval
        body = app_message_body(message, user_ids=user_ids, agent_id=self.config.agent_id,
                                duplicate_check_interval=interval)
        await self._member_budgets(user_ids)
        try:
            answer = await self.client.send_app_message(body, retry_safe=interval is not None)
        except RejectedError as exc:
            if exc.vendor_code != _ALL_INVALID:
                raise
            return Delivery(channel=APP_CHANNEL, status="failed",
                            failed=tuple(dict.fromkeys([*unresolved, *user_ids])),
                            detail=f"every recipient is invalid: {exc.message}")
        return app_delivery(answer, user_ids=user_ids, unresolved=unresolved)

    async def follow_up(self, delivery: Delivery) -> Delivery:
        """WeCom sends synchronously: the delivery is final as returned by `notify`."""
        return delivery

    def resend_deduplicated(self, robot: str | None) -> bool:
        """Whether WeCom drops a resend of what it delivered: app messages while
        `duplicate_check_interval` is on (`enable_duplicate_check`, §3); robots never."""
        return robot is None and self.config.duplicate_check_interval is not None

    async def _resolve(self, to: Sequence[Recipient]) -> tuple[list[str], list[str]]:
        user_ids: list[str] = []
        unresolved: list[str] = []
        for recipient in to:
            if recipient.user_id is not None:
                user_ids.append(recipient.user_id.strip())
                continue
            assert recipient.mobile is not None
            found = await self.user_id_for_mobile(recipient.mobile)
            (user_ids if found else unresolved).append(found or recipient.mobile)
        return list(dict.fromkeys(user_ids)), list(dict.fromkeys(unresolved))

    async def user_id_for_mobile(self, mobile: str) -> str | None:
        """The userid of the member with `mobile` (``user/getuserid``), or None.

        Hits are cached for `mobile_cache_ttl` seconds and misses for at most 5 minutes,
        per connector instance: WeCom blocks the API for a day when too many wrong numbers
        are looked up.
        """
        number = normalize_mobile(mobile)
        cached = self._mobiles.get(number)
        if cached is not None and cached[0] > self._clock():
            return cached[1]
        try:
            user_id = await self.client.get_user_id(number)
        except RejectedError as exc:
            if exc.vendor_code != _BAD_MOBILE:
                raise
            user_id = None
        ttl = self.config.mobile_cache_ttl
        self._mobiles[number] = (self._clock() + (ttl if user_id else min(ttl, _MISS_TTL)),
                                 user_id)
        return user_id

    async def _member_budgets(self, user_ids: Sequence[str]) -> None:
        limit = self.config.member_rate_limit
        if limit is None:
            return
        prefix = f"wecom:{self.config.corp_id}:{self.config.agent_id}:member:"
        for user_id in user_ids:
            await RateBudget(prefix + user_id.lower(), limit, self._budget_store).acquire()

    # -- RobotPoster ----------------------------------------------------------------------

    async def post(self, robot: str, message: Message) -> Delivery:
        """Post to the group robot named `robot` (text or markdown; cards as markdown).

        Text mentions `message.at_mobiles` (and everyone with `at_all`). Markdown mentions
        by user id, so its mobiles are resolved first; those that do not resolve are in
        `Delivery.failed` (status "partial"). The robot's budget (20 a minute) spaces the
        posts; a 45009 from WeCom is retried after a wait.

        Raises:
            ConfigError: no such robot, or WeCom says its key is invalid or disabled.
            ConnectorError: the typed error of any other refusal.
        """
        key = self._robot(robot).key
        mention_ids: list[str] = []
        missing: list[str] = []
        if message.kind != "text":
            for mobile in message.at_mobiles:
                found = await self.user_id_for_mobile(mobile)
                (mention_ids if found else missing).append(found or mobile)
        body = robot_body(message, mention_user_ids=mention_ids)
        await WeComClient(self._robot_client(robot)).post_robot(key, body)
        if missing:
            return Delivery(channel=ROBOT_CHANNEL, status="partial", failed=tuple(missing),
                            detail=f"{len(missing)} mobile(s) to mention did not resolve")
        return Delivery(channel=ROBOT_CHANNEL, status="sent")

    # -- WebhookReceiver ------------------------------------------------------------------

    def callbacks(self) -> WeComCallbacks:
        """The app's callback opener (ConfigError if no callback Token / AES key is set)."""
        if self._callbacks is None:
            config = self.config
            if config.callback_token is None or config.callback_aes_key is None:
                raise ConfigError("callbacks need callback_token and callback_aes_key",
                                  connector=self.name, connection=self.connection)
            self._callbacks = WeComCallbacks(
                connector=self.name, connection=self.connection, corp_id=config.corp_id,
                token=config.callback_token, aes_key=config.callback_aes_key,
                window=config.callback_window)
        return self._callbacks

    async def open_webhook(
        self, *, method: str, query: Mapping[str, str], body: bytes, nonces: NonceStore,
        now: float | None = None,
    ) -> tuple[InboundEvent | None, WebhookReply]:
        """Open one callback: GET URL verification or an encrypted POST.

        Returns:
            (None, the decrypted echostr as the raw body) for a GET; (the event, an empty
            200) for a POST. See `WeComCallbacks.open` for what is checked and raised.
        """
        return await self.callbacks().open(method=method, query=query, body=body,
                                           nonces=nonces, now=now)

    def passive_reply(self, message: str, *, timestamp: str | None = None,
                      nonce: str | None = None) -> WebhookReply:
        """An encrypted passive reply to a callback, carrying `message` (plain reply XML)."""
        return self.callbacks().passive_reply(message, timestamp=timestamp, nonce=nonce)

    # -- KfChannel (微信客服) ---------------------------------------------------------------

    @property
    def kf(self) -> KfClient:
        return KfClient(self.http, sync_limit=self.config.kf_sync_limit,
                        voice_format=self.config.kf_voice_format)

    async def kf_accounts(self) -> list[KfAccount]:
        """Every kf account (``kf/account/list``, paged by 100)."""
        return await self.kf.accounts()

    async def kf_sync(self, open_kfid: str, *, cursor: str | None,
                      token: str | None = None) -> KfPage:
        """One ``kf/sync_msg`` page of `open_kfid` after `cursor` (see `KfClient.sync`)."""
        return await self.kf.sync(open_kfid, cursor=cursor, token=token)

    async def kf_send_text(self, open_kfid: str, *, to: str, text: str, msgid: str) -> str:
        """``kf/send_msg`` of a text to customer `to` (see `KfClient.send_text`)."""
        return await self.kf.send_text(open_kfid, to=to, text=text, msgid=msgid)

    async def kf_customers(self, external_userids: Sequence[str]) -> list[KfCustomer]:
        """Nicknames by ``kf/customer/batchget`` (100 a call)."""
        return await self.kf.customers(external_userids)
