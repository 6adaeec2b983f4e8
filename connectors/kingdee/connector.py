"""`kingdee`: Kingdee K/3 Cloud WebAPI — streams, customer directory, reference data, writes."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from datetime import datetime
from typing import Any, ClassVar, Literal

import httpx
from pydantic import Field, SecretStr, model_validator

from connectors.sdk import (
    CheckResult,
    ConfigError,
    Connector,
    ConnectorConfig,
    ConnectorError,
    Stream,
)
from connectors.sdk.capabilities import WriteResult

from ._envelope import check_envelope
from ._streams import STREAMS, group_rows
from ._writer import ACTIONS, BillWriter
from .client import MAX_LIMIT, KingdeeAuth, KingdeeClient, SessionState, make_signer, quote

__all__ = ["KingdeeConfig", "KingdeeConnector"]

AuthScheme = Literal["password", "app_secret", "sign", "signed_headers"]
_NEEDS: dict[str, tuple[str, ...]] = {
    "password": ("password",),
    "app_secret": ("app_id", "app_secret"),
    "sign": ("app_id", "app_secret"),
    "signed_headers": ("app_id", "app_secret"),
}


class KingdeeConfig(ConnectorConfig):
    """A K/3 Cloud connection.

    Attributes:
        base_url: the site root, e.g. `http://erp.example/k3cloud/`.
        acct_id: the data centre (账套) id.
        username: the integration user.
        auth: `password` (ValidateUser), `app_secret` (LoginByAppSecret), `sign`
            (LoginBySign) or `signed_headers` (every request signed, no login: the 8.x SDK).
        password / app_id / app_secret: what the chosen scheme needs.
        lcid: UI language (2052 = Simplified Chinese). org_num: organisation number signed
            into `signed_headers`.
        page_size: rows per ExecuteBillQuery page (at most 2000).
        max_relogins: re-logins one call may make after "session lost" before AuthError.
        reference_field: the bills' field carrying the ticket reference (None: none).
    """

    acct_id: str = Field(min_length=1)
    username: str = Field(min_length=1)
    auth: AuthScheme = "password"
    password: SecretStr | None = None
    app_id: str | None = None
    app_secret: SecretStr | None = None
    lcid: int = 2052
    org_num: int = 0
    page_size: int = Field(default=500, ge=1, le=MAX_LIMIT)
    max_relogins: int = Field(default=2, ge=0, le=10)
    reference_field: str | None = "F_EXT_TicketNo"

    @model_validator(mode="after")
    def _scheme_fields(self) -> KingdeeConfig:
        missing = [f for f in _NEEDS[self.auth] if not getattr(self, f)]
        if missing:
            raise ValueError(f"auth '{self.auth}' needs {' and '.join(missing)}")
        return self


class KingdeeConnector(Connector[KingdeeConfig]):
    """K/3 Cloud over its WebAPI: sessions or signed requests, array queries, bill writes."""

    name = "kingdee"
    title = "Kingdee K/3 Cloud"
    Config = KingdeeConfig
    streams: ClassVar[Mapping[str, type[Stream]]] = STREAMS
    keeps_cookies = False  # KingdeeAuth puts the session on every request (cookie and header)
    # action → (the mapping target its document is, what the ERP makes of it): checked at load.
    write_documents: ClassVar[Mapping[str, tuple[str, str]]] = {
        "refund.create": ("kingdee.AR_REFUNDBILL", "收款退款单 AR_REFUNDBILL"),
        "parts.consume": ("kingdee.STK_MisDelivery", "其他出库单 STK_MisDelivery"),
    }

    def __init__(self, config: KingdeeConfig, **kwargs: Any) -> None:
        super().__init__(config, **kwargs)
        self._session = SessionState()

    def auth(self) -> httpx.Auth:
        signer = make_signer(self.config) if self.config.auth == "signed_headers" else None
        return KingdeeAuth(self._session, signer)

    def check_response(self, response: httpx.Response) -> ConnectorError | None:
        error = check_envelope(response)
        if error is not None:
            error.message = self.redactor.text(error.message)
        return error

    @property
    def client(self) -> KingdeeClient:
        return KingdeeClient(self.http, self.config, self._session, self.redactor)

    @property
    def writer(self) -> BillWriter:
        return BillWriter(self.client, reference_field=self.config.reference_field,
                          max_relogins=self.config.max_relogins,
                          page_size=self.config.page_size)

    async def check(self) -> CheckResult:
        async def probe() -> None:
            await self.client.query("BD_Customer", ["FNumber"], limit=1, operation="check")
        return await CheckResult.probe(probe)

    # -- CustomerDirectory -------------------------------------------------------------

    async def find_customer(
        self, *, mobile: str | None = None, email: str | None = None
    ) -> dict[str, Any] | None:
        """By phone (`FTEL`); BD_Customer has no e-mail field, so `email` finds nothing.

        Tolerant: a tenant without the field answers a refusal, which reads as "not found".
        """
        del email
        if not mobile:
            return None
        keys = ["FNumber", "FName", "FShortName", "FTEL", "FForbidStatus"]
        try:
            rows = await self.client.query("BD_Customer", keys,
                                           filter=f"FTEL = {quote(mobile)}", order="FNumber",
                                           limit=1, operation="customers.find")
        except ConnectorError as exc:
            if exc.kind == "rejected":
                return None
            raise
        return rows[0] if rows else None

    async def customer_history(self, external_id: str) -> dict[str, Any]:
        """The customer's sales orders and deliveries, newest first."""
        number = quote(external_id)
        history: dict[str, Any] = {"customer": external_id}
        for label, stream, field in (("orders", "sales_orders", "FCustId"),
                                     ("deliveries", "deliveries", "FCustomerID")):
            cls = STREAMS[stream]
            rows = await self.client.query(
                cls.form, cls.keys + cls.entry_keys, filter=f"{field}.FNumber = {number}",
                order=f"FDate DESC,FID DESC,{cls.entry_keys[0]}",
                operation=f"{stream}.history",
            )
            history[label] = group_rows(rows, "FID", cls.entry_keys)
        return history

    # -- ReferenceData -----------------------------------------------------------------

    _REFERENCES: ClassVar[dict[str, tuple[str, list[str]]]] = {
        "customer": ("BD_Customer", ["FNumber", "FName", "FShortName", "FForbidStatus"]),
        "material": ("BD_MATERIAL", ["FNumber", "FName", "FSpecification",
                                     "FBaseUnitId.FNumber", "FForbidStatus"]),
    }

    def reference_names(self) -> list[str]:
        return sorted(self._REFERENCES)

    async def reference(self, name: str, keys: Collection[str]) -> Mapping[str, Any]:
        """Records by number, asked in IN (...) batches of 200."""
        if name not in self._REFERENCES:
            raise ConfigError(f"no reference data '{name}'; this connector offers: "
                              f"{', '.join(self.reference_names())}",
                              connector=self.name, connection=self.connection)
        form, fields = self._REFERENCES[name]
        wanted = sorted({str(k) for k in keys})
        found: dict[str, Any] = {}
        for i in range(0, len(wanted), 200):
            chunk = ", ".join(quote(k) for k in wanted[i:i + 200])
            rows = await self.client.query(form, fields, filter=f"FNumber IN ({chunk})",
                                           order="FNumber", operation=f"{name}.reference")
            found.update({str(r["FNumber"]): r for r in rows})
        return found

    # -- Writer / WrittenLister --------------------------------------------------------

    def write_actions(self) -> list[str]:
        return sorted(ACTIONS)

    async def find_written(self, action: str, key: str) -> WriteResult | None:
        return await self.writer.find_written(action, key)

    async def write(
        self, action: str, key: str, document: Mapping[str, Any], *,
        check_first: bool = True, on_step: Callable[[WriteResult], None] | None = None,
    ) -> WriteResult:
        return await self.writer.write(action, key, document, check_first=check_first,
                                       on_step=on_step)

    async def list_written(self, action: str, *, since: datetime) -> list[WriteResult]:
        return await self.writer.list_written(action, since=since)
