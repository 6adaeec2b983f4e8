"""`confluence`: a Confluence Cloud space as a knowledge base — articles stream and page writes."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, ClassVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import httpx
from pydantic import Field, SecretStr, field_validator

from connectors.sdk import (
    Batch,
    CheckResult,
    ConfigError,
    Connector,
    ConnectorConfig,
    OutcomeUnknownError,
    Stream,
    TransientError,
)
from connectors.sdk.auth import BasicAuth
from connectors.sdk.capabilities import WriteResult
from connectors.sdk.streams import IncrementalCursor

from . import _publish
from .client import (
    ConfluenceClient,
    PageTitleTakenError,
    VersionConflictError,
    article_cql,
    cql_date,
    to_article,
)

__all__ = ["ArticlesStream", "ConfluenceConfig", "ConfluenceConnector", "PageTitleTakenError",
           "VersionConflictError"]

_SPACES = re.compile(r"\s+")


class ConfluenceConfig(ConnectorConfig):
    """A Confluence Cloud space.

    Attributes:
        base_url: the site, e.g. `https://example.atlassian.net` (the API is under `/wiki`).
        email: the Atlassian account the API token belongs to (Basic auth user name).
        api_token: the account's API token (Basic auth password).
        space_key: the space holding the articles, e.g. `KB`.
        page_size: results per search request (Cloud may return fewer; paging follows
            `_links.next`).
        cql: an extra CQL filter ANDed to the stream's query, e.g. `label = "faq"`.
        time_zone: the account's Confluence time zone, in which CQL reads dates.
        lookback_seconds: how far before the saved cursor an incremental read starts again,
            on top of CQL's minute granularity, to catch pages the search index saw late.
    """

    email: str = Field(min_length=3)
    api_token: SecretStr
    space_key: str = Field(pattern=r"^~?[A-Za-z0-9_]{1,255}$")
    page_size: int = Field(default=25, ge=1, le=250)
    cql: str | None = None
    time_zone: str = "UTC"
    lookback_seconds: int = Field(default=300, ge=0, le=86_400)

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value


class ArticlesStream(Stream):
    """Pages of the space, oldest change first; incremental on `updated_at` (version.when).

    CQL compares `lastmodified` by the minute, in the account's time zone, so a resumed read
    asks from the saved cursor minus the lookback, floored to the minute, and the SDK's
    IncrementalCursor drops the pages already stored with the same version time.
    """

    name = "articles"
    path = "/wiki/rest/api/content/search"
    primary_key = "id"
    replication_key = "updated_at"

    async def batches(self, state: str | None) -> AsyncIterator[Batch]:
        connector: ConfluenceConnector = self.connector  # type: ignore[assignment]
        config = connector.config
        cursor = IncrementalCursor("updated_at", primary_key="id", state=state,
                                   lookback_seconds=config.lookback_seconds)
        since = cursor.request_value()
        cql = article_cql(
            config.space_key, extra=config.cql,
            since=None if since is None else cql_date(datetime.fromisoformat(since),
                                                      ZoneInfo(config.time_zone)))
        async for contents, base in connector.client.search_pages(cql, limit=config.page_size):
            records = cursor.filter([to_article(content, base) for content in contents])
            yield Batch(records=records, state=cursor.advance(records))


class ConfluenceConnector(Connector[ConfluenceConfig]):
    """Confluence Cloud over its v1 REST API, with an account's email and API token."""

    name = "confluence"
    title = "Confluence Cloud"
    Config = ConfluenceConfig
    streams: ClassVar[dict[str, type[Stream]]] = {"articles": ArticlesStream}

    @property
    def client(self) -> ConfluenceClient:
        return ConfluenceClient(self.http, space_key=self.config.space_key)

    def auth(self) -> httpx.Auth:
        return BasicAuth(self.config.email, self.config.api_token)

    async def check(self) -> CheckResult:
        return await CheckResult.probe(self.client.probe)

    async def find_page(self, *, title: str) -> dict[str, Any] | None:
        """The space's page with exactly this title, as an article record, or None."""
        found = await self.client.find_by_title(title)
        return None if found is None else to_article(*found)

    async def get_page(self, page_id: str) -> dict[str, Any]:
        """A page as an article record; raises NotFoundError when there is none."""
        return to_article(*await self.client.get(page_id))

    async def create_page(
        self, title: str, body_storage: str, labels: Sequence[str] = (), *,
        parent_id: str | None = None,
    ) -> dict[str, Any]:
        """Create a page (storage-format body) with global labels; returns its article record.

        Safe to retry: when the response is lost, the page is looked up by title before the
        create is sent again, and Confluence's own refusal of a second page with the same
        title backs that up. A page of that title whose body differs is someone else's.

        Raises:
            PageTitleTakenError: the space already has another page with this title.
        """
        try:
            content, base = await self.client.create(
                title=title, body_storage=body_storage, parent_id=parent_id)
        except (OutcomeUnknownError, TransientError) as exc:
            if isinstance(exc, TransientError) and exc.never_sent:
                raise
            content, base = await self._recover_create(title, body_storage, parent_id)
        if labels:
            await self.client.add_labels(str(content["id"]), labels)
            content, base = await self.client.get(str(content["id"]))
        return to_article(content, base)

    async def update_page(
        self, page_id: str, *, title: str, body_storage: str, version: int | None = None
    ) -> dict[str, Any]:
        """Replace a page's title and body; returns its article record at the new version.

        Args:
            page_id: the page.
            title: its (possibly new) title.
            body_storage: its new body, in storage format.
            version: the version the edit was based on. When the page has moved past it, a
                person edited it since: their edit is never overwritten, VersionConflictError
                is raised. None: base the edit on the current version, re-read and retry once
                if someone saves in between.

        An update whose response was lost and is retried meets 409; when the page already
        holds exactly this title and body, that is our own write and is returned as success.

        Raises:
            VersionConflictError: the content moved on (409 and the page holds other content).
            PageTitleTakenError: another page of the space has this title.
        """
        base_version = version
        if base_version is None:
            current, _ = await self.client.get(page_id)
            base_version = int(current["version"]["number"])
        for attempt in (1, 2):
            try:
                return to_article(*await self.client.update(
                    page_id, title=title, body_storage=body_storage, number=base_version + 1))
            except VersionConflictError as conflict:
                current, base = await self.client.get(page_id)
                if _same(current, title, body_storage):
                    return to_article(current, base)
                now = int(current["version"]["number"])
                if version is not None or attempt == 2:
                    conflict.message = (
                        f"page {page_id} moved on to version {now} since version {base_version}"
                        " was read; the update was not applied")
                    raise
                base_version = now
        raise AssertionError("unreachable")  # pragma: no cover

    # -- Writer: `article.publish`, one page per idempotency key (see _publish) --

    def write_actions(self) -> list[str]:
        return [_publish.ACTION]

    async def find_written(self, action: str, key: str) -> WriteResult | None:
        """The page carrying `key`'s label (`hub-<key in lower case>`), or None."""
        self._check_action(action)
        found = await _publish.find_by_key(self, key)
        return None if found is None else _publish.result(key, found, reference=None,
                                                           found=True)

    async def write(
        self, action: str, key: str, document: Mapping[str, Any], *,
        check_first: bool = True,
        on_step: Callable[[WriteResult], None] | None = None,
    ) -> WriteResult:
        """Publish `document` (`title`, `body_storage`, `labels`, `reference`) as the page of
        `key`: created the first time, updated in place (a new version only when the title
        or body changed) when the page carrying the key's label exists.

        Raises:
            PageTitleTakenError: another page (not carrying this key) has the title.
            RejectedError: the document has no title or body; Confluence refused the page.
            OutcomeUnknownError: the create's or update's response was lost: retry with
                `check_first=True`, which finds the page.
        """
        self._check_action(action)
        page = _publish.PageDocument.parse(document, key=key, connection=self.connection)
        written = await _publish.publish(self, key, page, check_first=check_first)
        if on_step is not None:
            on_step(written)
        return written

    async def list_written(self, action: str, *, since: datetime) -> list[WriteResult]:
        """Pages changed since `since` carrying a hub key or ticket label, for reconciliation;
        `key` is "" on a page with only a ticket label (someone else's twin)."""
        self._check_action(action)
        return await _publish.list_published(self, since)

    def _check_action(self, action: str) -> None:
        if action != _publish.ACTION:
            raise ConfigError(f"unknown write action {action!r} (this connector offers "
                              f"{_publish.ACTION!r})", connector=self.name,
                              connection=self.connection, operation=action)

    async def add_labels(self, page_id: str, labels: Sequence[str]) -> list[str]:
        """Add global labels to a page; returns all its labels."""
        return await self.client.add_labels(page_id, labels)

    async def _recover_create(
        self, title: str, body_storage: str, parent_id: str | None
    ) -> tuple[dict[str, Any], str]:
        """After a create whose outcome is unknown: find it, or send it once more."""
        found = await self.client.find_by_title(title)
        if found is None:
            try:
                return await self.client.create(
                    title=title, body_storage=body_storage, parent_id=parent_id)
            except PageTitleTakenError:  # it landed after all, just now
                found = await self.client.find_by_title(title)
                if found is None:
                    raise
        if not _same(found[0], title, body_storage):
            raise PageTitleTakenError(
                f"the space already has a page titled this way (id {found[0]['id']}) with "
                "another body", connector=self.name, connection=self.connection,
                operation="page.create", status=400, record_key=title)
        return found


def _same(content: dict[str, Any], title: str, body_storage: str) -> bool:
    body = ((content.get("body") or {}).get("storage") or {}).get("value") or ""
    return bool(content.get("title") == title
                and _SPACES.sub(" ", body).strip() == _SPACES.sub(" ", body_storage).strip())
