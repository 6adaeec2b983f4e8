"""`yonyou`: YonBIP / YonSuite open API — customers, orders, deliveries, stock; returns and
spare-parts issues written back exactly once.

One connection is one self-built app of one tenant. The business gateway's address is found
per tenant (notes §1) before the first call, so the HttpClient is built after that lookup.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from datetime import datetime
from typing import Any, ClassVar

import httpx

from connectors.sdk import (
    CheckResult,
    ConfigError,
    Connector,
    ConnectorError,
    HttpClient,
    RetryPolicy,
    Stream,
    json_body,
)
from connectors.sdk.auth import MemoryTokenCache, TokenAuth, TokenCache, token_cache_key
from connectors.sdk.capabilities import WriteResult
from connectors.sdk.http import CallHook
from connectors.sdk.ratelimit import BudgetStore

from ._codes import classify
from ._config import YonyouConfig
from ._streams import CUSTOMERS, DELIVERIES, MATERIALS, SALES_ORDERS, STREAMS, records_of
from ._writer import ACTIONS, BillWriter
from .client import Gateway, GatewayResolver, YonyouClient, YonyouTokens

__all__ = ["YonyouConfig", "YonyouConnector"]

_HISTORY_ROWS = 100


class YonyouConnector(Connector[YonyouConfig]):
    """YonBIP streams, CustomerDirectory, ReferenceData, Writer and WrittenLister.

    Args:
        config: the connection's config.
        connection: the connection's name.
        on_call: receives a CallRecord per HTTP attempt (the audit log).
        transport: an httpx transport for every call, lookup and token included (tests).
        budget_store: where rate budgets live.
        token_cache: where the app's token lives (the hub's shared cache in production).
    """

    name = "yonyou"
    title = "Yonyou YonBIP (用友)"
    Config = YonyouConfig
    streams: ClassVar[Mapping[str, type[Stream]]] = STREAMS
    # action → (the mapping target its document is, what YonBIP makes of it): checked at load.
    write_documents: ClassVar[Mapping[str, tuple[str, str]]] = {
        "refund.create": ("yonyou.arRefund", "收款退款单 (AR collection refund, money only: "
                          "customer, amount, settle mode)"),
        "return.create": ("yonyou.vouchersalereturn", "销售退货单 (sales return: every line "
                          "names its material)"),
        "parts.consume": ("yonyou.othoutrecord", "其他出库单 (other outbound: each part's "
                          "material, qty, warehouse)"),
    }
    # No connection-wide default: the notes give a quota (60 calls/min, free tier) for the
    # order list only; the gateway's rate-limit codes are retried with backoff, and a
    # connection can set `rate_limit` to stay under its tenant's quota.

    def __init__(
        self, config: YonyouConfig, *, connection: str | None = None,
        on_call: CallHook | None = None, transport: httpx.AsyncBaseTransport | None = None,
        budget_store: BudgetStore | None = None, token_cache: TokenCache | None = None,
    ) -> None:
        super().__init__(config, connection=connection, on_call=on_call, transport=transport,
                         budget_store=budget_store)
        self.token_cache: TokenCache = token_cache or MemoryTokenCache()
        explicit = None if config.gateway_url is None or config.token_url is None else \
            Gateway(config.gateway_url.rstrip("/"), config.token_url.rstrip("/"))
        self.resolver = GatewayResolver(config.lookup_url, config.tenant_id, explicit=explicit)
        self._token_auth: TokenAuth | None = None
        self._plain: httpx.AsyncClient | None = None
        self.writer = BillWriter(self)

    # -- plumbing -------------------------------------------------------------------------

    @property
    def token_key(self) -> str:
        """One token per app *and secret*: a wrong secret never borrows a good token."""
        return token_cache_key("yonyou", self.config.tenant_id, self.config.app_key,
                               secret=self.config.app_secret)

    def _plain_client(self) -> httpx.AsyncClient:
        """For the lookup and the token: no auth, no audit of the signed URL's secrets."""
        if self._plain is None:
            self._plain = httpx.AsyncClient(timeout=self.config.timeout,
                                            transport=self._transport)
        return self._plain

    def auth(self) -> TokenAuth:
        if self._token_auth is None:
            provider = YonyouTokens(self.resolver, self.config.app_key, self.config.app_secret)
            self._token_auth = TokenAuth(provider, self.token_cache, self.token_key,
                                         client=self._plain_client(), connector=self.name,
                                         connection=self.connection)
        return self._token_auth

    @property
    def http(self) -> HttpClient:
        gateway = self.resolver.known
        if gateway is None:
            raise RuntimeError("await api() first: the gateway is not resolved yet")
        if self._http is None:
            config = self.config
            self._http = HttpClient(
                base_url=gateway.gateway_url, connector=self.name, connection=self.connection,
                auth=self.auth(), timeout=config.timeout,
                retry=RetryPolicy(attempts=config.max_attempts,
                                  max_retry_after=config.max_retry_after),
                on_call=self._on_call, redactor=self.redactor,
                check_response=self.check_response, transport=self._transport,
                max_connections=config.max_connections, budget=self.budget())
        return self._http

    async def api(self) -> YonyouClient:
        """The business client, after the (cached) data-centre lookup."""
        try:
            await self.resolver.resolve(self._plain_client())
        except ConnectorError as exc:
            exc.connector, exc.connection = self.name, self.connection
            raise
        return YonyouClient(self.http, self.redactor.text)

    def check_response(self, response: httpx.Response) -> ConnectorError | None:
        return classify(json_body(response), text=response.text, redact=self.redactor.text)

    async def aclose(self) -> None:
        await super().aclose()
        if self._plain is not None:
            await self._plain.aclose()
            self._plain = None
        self._token_auth = None

    async def check(self) -> CheckResult:
        """One small customer page: lookup, token and an authorised API."""
        async def probe() -> None:
            client = await self.api()
            await client.read(CUSTOMERS, {"pageIndex": 1, "pageSize": 1},
                              operation="customers.list")
        return await CheckResult.probe(probe)

    # -- CustomerDirectory ----------------------------------------------------------------

    async def find_customer(self, *, mobile: str | None = None,
                            email: str | None = None) -> dict[str, Any] | None:
        """The first customer whose mobile or email matches; None when none does.

        The list's filters on contact fields are UNVERIFIED: the filter is sent as a hint
        and every row is checked here, so a gateway that ignores it still answers right.
        """
        wanted = [(f, v) for f, v in (("mobile", mobile), ("email", email)) if v]
        if not wanted:
            return None
        client = await self.api()
        for field, value in wanted:
            try:
                data = await client.read(CUSTOMERS, {
                    "pageIndex": 1, "pageSize": self.config.page_size,
                    "simpleVOs": [{"field": field, "op": "eq", "value1": value}]},
                    operation="customers.find")
            except ConnectorError:
                return None  # tolerant: the directory is a hint, not a requirement
            for row in records_of(data):
                if str(row.get(field) or "").lower() == value.lower():
                    return row
        return None

    async def customer_history(self, external_id: str) -> dict[str, Any]:
        """Orders and deliveries of the customer with code `external_id`, newest first.

        The order and delivery lists filter a reference field by its id only (销售订单列表查询:
        "参照类型只能传id"), so the customer's id is looked up by its code first (the
        customer list's `code` filter); an unknown code has no history.
        """
        client = await self.api()
        history: dict[str, Any] = {"customer": external_id, "orders": [], "deliveries": []}
        found = await client.read(CUSTOMERS, {"pageIndex": 1, "pageSize": 10,
                                              "code": external_id},
                                  operation="history.customer")
        ids = [str(r["id"]) for r in records_of(found)
               if str(r.get("code")) == external_id and r.get("id") is not None]
        if not ids:
            return history
        for name, path in (("orders", SALES_ORDERS), ("deliveries", DELIVERIES)):
            data = await client.read(path, {
                "pageIndex": 1, "pageSize": _HISTORY_ROWS, "isSum": True,
                "simpleVOs": [{"field": "agentId", "op": "eq", "value1": ids[0]}],
                "queryOrders": [{"field": "vouchdate", "order": "desc"}]},
                operation=f"history.{name}")
            rows = [r for r in records_of(data) if str(r.get("agentId")) == ids[0]]
            history[name] = sorted(rows, key=lambda r: str(r.get("vouchdate") or ""),
                                   reverse=True)
        return history

    # -- ReferenceData --------------------------------------------------------------------

    def reference_names(self) -> list[str]:
        return ["customer", "material"]

    async def reference(self, name: str, keys: Collection[str]) -> Mapping[str, Any]:
        """The records of exactly the codes asked for, one documented code filter each
        (the material list takes `productCode`, the customer list `code`; neither lists an
        `in` condition), so none is missed whatever the page size."""
        lookups: dict[str, tuple[str, str]] = {
            "customer": (CUSTOMERS, "code"), "material": (MATERIALS, "productCode")}
        if name not in lookups:
            raise ConfigError(f"no reference '{name}'; this connector has: customer, material",
                              connector=self.name, connection=self.connection)
        path, shortcut = lookups[name]
        wanted = sorted({str(k) for k in keys if k})
        if not wanted:
            return {}
        client = await self.api()
        found: dict[str, Any] = {}
        for code in wanted:
            data = await client.read(path, {"pageIndex": 1, "pageSize": 10, shortcut: code},
                                     operation=f"reference.{name}")
            for row in records_of(data):
                if str(row.get("code")) == code:
                    found[code] = row
                    break
        return found

    # -- Writer / WrittenLister -----------------------------------------------------------

    def write_actions(self) -> list[str]:
        return sorted(ACTIONS)

    async def find_written(self, action: str, key: str) -> WriteResult | None:
        return await self.writer.find_written(action, key)

    async def write(self, action: str, key: str, document: Mapping[str, Any], *,
                    check_first: bool = True,
                    on_step: Callable[[WriteResult], None] | None = None) -> WriteResult:
        return await self.writer.write(action, key, document, check_first=check_first,
                                       on_step=on_step)

    async def list_written(self, action: str, *, since: datetime) -> list[WriteResult]:
        return await self.writer.list_written(action, since=since)
