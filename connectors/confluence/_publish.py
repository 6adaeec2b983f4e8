"""`article.publish`: a solved ticket as one knowledge-base page per idempotency key.

Confluence has no idempotency key, so the hub's key travels on the page as a label and is
found again by CQL. Labels are lower case in Confluence, so key `TK000123-KB` becomes label
`hub-tk000123-kb`; the ticket reference `TK-000123` rides along as `hub-ticket-tk-000123` (read
back upper-cased) so a page found later still tells which ticket it came from.

Labels are added after the create, in a second request, so a page whose create response was
lost may carry no labels yet, and the search index may trail a fresh write. Confluence's
refusal of a second page with the same title in a space is the backstop: on that refusal the
page of that title is ours when it carries our key label, or carries no hub key label and
exactly our body (our own create, interrupted before its labels).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from connectors.sdk import RejectedError
from connectors.sdk.capabilities import WriteResult

from .client import PageTitleTakenError, article_cql, cql_date, cql_string, to_article

if TYPE_CHECKING:
    from .connector import ConfluenceConnector

__all__ = ["ACTION", "PageDocument", "find_by_key", "key_label", "key_of", "list_published",
           "page_labels", "publish", "reference_of", "result"]

ACTION = "article.publish"
KEY_PREFIX = "hub-"
REF_PREFIX = "hub-ticket-"
_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
# Characters Confluence does not allow in a label (space and these punctuation marks).
_LABEL_BAD = re.compile(r"""[\s:;,.!#&()*?/\\\[\]^{}|"'<>~`@$%+=]+""")


def key_label(key: str) -> str:
    """The label carrying the hub's idempotency key: `TK000123-KB` → `hub-tk000123-kb`."""
    if not _KEY.match(key):
        raise ValueError(f"key {key!r} is not 1-64 letters, digits, '-' or '_'")
    return KEY_PREFIX + key.lower()


def label_name(text: str) -> str:
    """`text` as a Confluence label: lower case, runs of forbidden characters as one `-`."""
    return _LABEL_BAD.sub("-", text.strip().lower()).strip("-")[:255]


def reference_of(labels: Sequence[str]) -> str | None:
    """The ticket reference a page's labels carry, or None."""
    for name in labels:
        if name.startswith(REF_PREFIX) and len(name) > len(REF_PREFIX):
            return name[len(REF_PREFIX):].upper()
    return None


@dataclass(frozen=True, slots=True)
class PageDocument:
    """What `article.publish` sends: the mapped document minus keys that are not page parts."""

    title: str
    body_storage: str
    labels: tuple[str, ...]
    reference: str | None

    @classmethod
    def parse(cls, document: Mapping[str, Any], *, key: str, connection: str | None
              ) -> PageDocument:
        """The page parts of `document` (title, body_storage, labels, reference); other keys
        are dropped. Raises RejectedError when the mapping left out the title or the body."""
        title, body = document.get("title"), document.get("body_storage")
        missing = [name for name, value in (("title", title), ("body_storage", body))
                   if not isinstance(value, str) or not value.strip()]
        problem = f"the document has no {' and no '.join(missing)}" if missing else None
        if not _KEY.match(key):
            problem = f"key {key!r} is not 1-64 letters, digits, '-' or '_'"
        if problem:
            raise RejectedError(problem, connector="confluence", connection=connection,
                                operation=ACTION, record_key=key)
        raw = document.get("labels") or []
        if isinstance(raw, str):
            raw = [raw]
        labels = tuple(dict.fromkeys(n for n in (label_name(str(x)) for x in raw) if n))
        reference = document.get("reference")
        return cls(title=str(title).strip(), body_storage=str(body),
                   labels=labels, reference=str(reference).strip() if reference else None)

    def page_labels(self, key: str) -> list[str]:
        return page_labels(key, self.labels, self.reference)


def page_labels(key: str, labels: Sequence[str], reference: str | None) -> list[str]:
    """Every label a published page carries: the key's, the ticket's, then the document's."""
    names = [key_label(key)]
    if reference:
        names.append(label_name(REF_PREFIX + reference))
    return list(dict.fromkeys([*names, *labels]))


def key_cql(space_key: str, key: str) -> str:
    return (f"type=page and space={cql_string(space_key)} and "
            f"label = {cql_string(key_label(key))} order by created asc")


def result(key: str, article: Mapping[str, Any], *, reference: str | None,
           found: bool) -> WriteResult:
    """The WriteResult of a page (an article record of `to_article`)."""
    return WriteResult(action=ACTION, key=key, id=str(article["id"]),
                       number=article.get("title"), step="done",
                       reference=reference or reference_of(article.get("labels") or []),
                       url=article.get("url"), found=found)


def key_of(labels: Sequence[str]) -> str | None:
    """The hub key a page's labels carry (`hub-tk000123-kb` → `TK000123-KB`), or None."""
    for name in labels:
        if name.startswith(KEY_PREFIX) and not name.startswith(REF_PREFIX):
            return name[len(KEY_PREFIX):].upper() or None
    return None


async def list_published(kb: ConfluenceConnector, since: datetime) -> list[WriteResult]:
    """Pages changed at or after `since` that carry a hub key or a ticket label (the hub's,
    and twins someone else made for the same ticket). CQL cannot match a label prefix, so
    the space's changed pages are read and filtered here."""
    config = kb.config
    cql = article_cql(config.space_key,
                      since=cql_date(since, ZoneInfo(config.time_zone)))
    found: list[WriteResult] = []
    async for contents, base in kb.client.search_pages(cql, limit=config.page_size):
        for content in contents:
            article = to_article(content, base)
            labels = article.get("labels") or []
            key, reference = key_of(labels), reference_of(labels)
            updated = article.get("updated_at")
            if (key or reference) and (updated is None
                                       or datetime.fromisoformat(updated) >= since):
                found.append(result(key or "", article, reference=reference, found=True))
    return found


async def find_by_key(kb: ConfluenceConnector, key: str) -> dict[str, Any] | None:
    """The page carrying `key`'s label, as an article record (the oldest if, against every
    rule, there are several), or None. CQL search trails writes (UNVERIFIED by how much):
    `publish` does not rely on it alone."""
    if not _KEY.match(key):
        return None  # no page can carry it: write() refuses such a key
    cql = key_cql(kb.config.space_key, key)
    async for contents, base in kb.client.search_pages(cql, limit=5):
        for content in contents:
            return to_article(content, base)
    return None


def _ours(article: Mapping[str, Any], key: str, body_storage: str) -> bool:
    """A page of our title is ours: it has our key label, or no hub key label and our body
    (our own create whose labels never got added)."""
    labels = list(article.get("labels") or [])
    if key_label(key) in labels:
        return True
    keyed = [n for n in labels if n.startswith(KEY_PREFIX) and not n.startswith(REF_PREFIX)]
    return not keyed and _squash(article.get("body") or "") == _squash(body_storage)


def _squash(text: str) -> str:
    return " ".join(text.split())


async def publish(kb: ConfluenceConnector, key: str, page: PageDocument, *,
                  check_first: bool) -> WriteResult:
    """Create the page for `key`, or bring the existing one up to date (see module doc)."""
    labels = page.page_labels(key)
    existing = await find_by_key(kb, key) if check_first else None
    if existing is None:
        try:
            created = await kb.create_page(page.title, page.body_storage, labels)
        except PageTitleTakenError:
            existing = await kb.find_page(title=page.title)
            if existing is None or not _ours(existing, key, page.body_storage):
                raise
        else:
            return result(key, created, reference=page.reference, found=False)
    return result(key, await _refresh(kb, existing, page, labels),
                  reference=page.reference, found=True)


async def _refresh(kb: ConfluenceConnector, existing: dict[str, Any], page: PageDocument,
                   labels: list[str]) -> dict[str, Any]:
    """Missing labels added; title and body replaced unless they are already these (no new
    version for an unchanged page). A concurrent edit: re-read and retry once."""
    page_id = str(existing["id"])
    current = existing
    if (existing.get("title") != page.title
            or _squash(existing.get("body") or "") != _squash(page.body_storage)):
        current = await kb.update_page(page_id, title=page.title,
                                       body_storage=page.body_storage)
    if [n for n in labels if n not in (existing.get("labels") or [])]:
        names = await kb.add_labels(page_id, labels)
        current = {**current, "labels": names}
    return current
