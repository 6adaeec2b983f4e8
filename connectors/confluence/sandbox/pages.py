"""The sandbox's pages: storage, versions, labels and their v1 API shape."""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from html import unescape
from typing import Any
from urllib.parse import quote

from .seed import seed_pages

__all__ = ["Page", "PageStore", "StoreError"]

_FIRST_ID = 65537
_TAGS = re.compile(r"<[^>]+>")


class StoreError(Exception):
    """An API error the sandbox answers with: HTTP status and Confluence's message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


def _iso(when: datetime) -> str:
    """Confluence's timestamp form: UTC, milliseconds, `Z`."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


@dataclass
class Page:
    """One current page of the space."""

    id: str
    title: str
    body: str
    space_key: str
    created: datetime
    lastmodified: datetime
    version: int = 1
    labels: list[str] = field(default_factory=list)
    parent_id: str | None = None

    def cql_view(self) -> dict[str, Any]:
        """What CQL matches and sorts on."""
        return {"id": self.id, "type": "page", "space": self.space_key, "title": self.title,
                "text": unescape(_TAGS.sub(" ", self.body)), "labels": self.labels,
                "lastmodified": self.lastmodified, "created": self.created}

    def to_api(self, expand: set[str], base: str) -> dict[str, Any]:
        """The v1 content object, with only what `expand` asked for expanded."""
        webui = f"/spaces/{self.space_key}/pages/{self.id}/{quote(self.title.replace(' ', '+'))}"
        content: dict[str, Any] = {
            "id": self.id, "type": "page", "status": "current", "title": self.title,
            "_links": {"webui": webui, "self": f"{base}/rest/api/content/{self.id}",
                       "tinyui": f"/x/{self.id}"},
        }
        expandable = {}
        if "space" in expand:
            content["space"] = {"key": self.space_key, "type": "global"}
        else:
            expandable["space"] = f"/rest/api/space/{self.space_key}"
        if "version" in expand:
            content["version"] = {"number": self.version, "when": _iso(self.lastmodified),
                                  "minorEdit": False,
                                  "by": {"type": "known", "displayName": "知识库管理员"}}
        else:
            expandable["version"] = ""
        if "body.storage" in expand:
            content["body"] = {"storage": {"value": self.body, "representation": "storage"}}
        else:
            expandable["body"] = ""
        if "metadata.labels" in expand:
            content["metadata"] = {"labels": self.labels_api()}
        else:
            expandable["metadata"] = ""
        content["_expandable"] = expandable
        return content

    def labels_api(self) -> dict[str, Any]:
        results = [{"prefix": "global", "name": name, "id": str(1000 + n), "label": name}
                   for n, name in enumerate(self.labels)]
        return {"results": results, "start": 0, "limit": 200, "size": len(results)}


class PageStore:
    """Pages of one space, seeded; every change goes through here, under one lock."""

    def __init__(self, *, space_key: str) -> None:
        self.space_key = space_key
        self._lock = threading.Lock()
        self._pages: dict[str, Page] = {}
        for n, (article, when) in enumerate(seed_pages()):
            page_id = str(_FIRST_ID + n)
            self._pages[page_id] = Page(
                id=page_id, title=article.title, body=article.body, space_key=space_key,
                created=when - timedelta(days=30), lastmodified=when,
                version=1 + n % 4, labels=list(article.labels))

    def ids(self) -> list[str]:
        return list(self._pages)

    def pages(self) -> list[Page]:
        with self._lock:
            return list(self._pages.values())

    def get(self, page_id: str) -> Page:
        page = self._pages.get(page_id)
        if page is None:
            raise StoreError(404, f"No content found with id : {page_id}")
        return page

    def find_title(self, title: str) -> Page | None:
        folded = title.casefold()
        return next((p for p in self._pages.values() if p.title.casefold() == folded), None)

    def create(self, *, title: str, body: str, parent_id: str | None) -> Page:
        with self._lock:
            if self.find_title(title) is not None:
                raise StoreError(400, "A page with this title already exists: A page already "
                                      "exists with the same TITLE in this space")
            if parent_id is not None:
                self.get(parent_id)
            now = self._now()
            page = Page(id=str(_FIRST_ID + len(self._pages)), title=title, body=body,
                        space_key=self.space_key, created=now, lastmodified=now,
                        parent_id=parent_id)
            self._pages[page.id] = page
            return page

    def update(self, page_id: str, *, title: str, body: str, number: int) -> Page:
        with self._lock:
            page = self.get(page_id)
            if number != page.version + 1:
                raise StoreError(409, "Version must be incremented on update. Current version "
                                      f"is: {page.version}")
            taken = self.find_title(title)
            if taken is not None and taken.id != page_id:
                raise StoreError(400, "A page with this title already exists: A page already "
                                      "exists with the same TITLE in this space")
            page.title, page.body, page.version = title, body, number
            page.lastmodified = self._now()
            return page

    def edit(self, page_id: str, *, body: str | None = None, title: str | None = None) -> Page:
        with self._lock:
            page = self.get(page_id)
        return self.update(page_id, title=title or page.title,
                           body=body if body is not None else page.body + "<p>（已更新）</p>",
                           number=page.version + 1)

    def add_labels(self, page_id: str, names: list[str]) -> Page:
        """Labels are not versioned: adding one changes neither version nor lastmodified."""
        with self._lock:
            page = self.get(page_id)
            page.labels += [n for n in dict.fromkeys(names) if n not in page.labels]
            return page

    def _now(self) -> datetime:
        newest = max((p.lastmodified for p in self._pages.values()),
                     default=datetime.min.replace(tzinfo=UTC))
        return max(datetime.now(UTC), newest + timedelta(seconds=1))
