"""DingTalk's app APIs used by the connector: work notifications and the mobile lookup.

Legacy ``/topapi`` endpoints, all POST with a JSON body and ``?access_token=`` (added by the
token auth); errors come as ``errcode`` in a 200 body (classified in `_codes`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from connectors.sdk import HttpClient, RejectedError

__all__ = [
    "GETBYMOBILE_PATH",
    "MAX_MSG_BYTES",
    "DUPLICATE_CONTENT",
    "MAX_USERIDS",
    "OPERATIONS",
    "SEND_PROGRESS_PATH",
    "SEND_RESULT_PATH",
    "WORK_NOTICE_PATH",
    "DingTalkClient",
    "SendProgress",
    "SendResult",
]

_CONVERSATION = "/topapi/message/corpconversation"
WORK_NOTICE_PATH = _CONVERSATION + "/asyncsend_v2"
SEND_RESULT_PATH = _CONVERSATION + "/getsendresult"
SEND_PROGRESS_PATH = _CONVERSATION + "/getsendprogress"
GETBYMOBILE_PATH = "/topapi/v2/user/getbymobile"
MAX_USERIDS = 100  # userid_list per asyncsend_v2 call (§3)
MAX_MSG_BYTES = 2048  # the `msg` object, serialised (§3)
DUPLICATE_CONTENT = 143106  # §3: identical content to the same user the same day, not sent

OPERATIONS = {
    WORK_NOTICE_PATH: "work_notice.send",
    SEND_RESULT_PATH: "work_notice.result",
    SEND_PROGRESS_PATH: "work_notice.progress",
    GETBYMOBILE_PATH: "user.getbymobile",
    "/gettoken": "token",
    "/robot/send": "robot.send",
}


def _read_only(operation: str) -> str:
    """An idempotency key for a read that DingTalk serves over POST: safe to send again."""
    return f"read:{operation}"


@dataclass(frozen=True, slots=True)
class SendResult:
    """``getsendresult``'s ``send_result``: who got a work notification and who did not."""

    invalid: tuple[str, ...] = ()
    forbidden: tuple[str, ...] = ()
    failed: tuple[str, ...] = ()
    read: tuple[str, ...] = ()
    unread: tuple[str, ...] = ()
    forbidden_codes: Mapping[str, int] | None = None  # user id -> 143105 / 143106

    @property
    def undelivered(self) -> tuple[str, ...]:
        """Invalid, forbidden (daily cap, duplicate content) and failed user ids, once each."""
        return tuple(dict.fromkeys((*self.invalid, *self.forbidden, *self.failed)))

    @property
    def duplicates(self) -> tuple[str, ...]:
        """Forbidden as identical content the same day (143106): they have it already."""
        return tuple(u for u, code in (self.forbidden_codes or {}).items()
                     if code == DUPLICATE_CONTENT)

    @property
    def delivered(self) -> tuple[str, ...]:
        return (*self.read, *self.unread)


@dataclass(frozen=True, slots=True)
class SendProgress:
    """``getsendprogress``: ``status`` 0 not started, 1 in progress, 2 done."""

    percent: int
    status: int

    @property
    def done(self) -> bool:
        return self.status == 2


def _ids(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):  # some responses give comma strings
        return tuple(v for v in value.split(",") if v)
    if isinstance(value, list):
        return tuple(str(v) for v in value)
    return ()


class DingTalkClient:
    """Calls of DingTalk's legacy app API over the connector's HttpClient."""

    def __init__(self, http: HttpClient) -> None:
        self.http = http

    async def _post(self, path: str, body: Mapping[str, Any], *,
                    read_only: bool = False) -> dict[str, Any]:
        operation = OPERATIONS[path]
        response = await self.http.send(
            "POST", path, operation=operation, json=dict(body),
            idempotency_key=_read_only(operation) if read_only else None,
        )
        data: dict[str, Any] = response.json()
        return data

    async def send_work_notice(
        self, agent_id: int, user_ids: Sequence[str], msg: Mapping[str, Any]
    ) -> str:
        """Queue a work notification for up to 100 user ids; returns the task id.

        Not retried after a lost response (it is a write): the caller sees
        OutcomeUnknownError. DingTalk itself drops identical content to the same user within
        a day, which is what makes a later retry by the hub harmless.
        """
        if not 0 < len(user_ids) <= MAX_USERIDS:
            raise RejectedError(f"a work notification goes to 1..{MAX_USERIDS} user ids per "
                                f"call, not {len(user_ids)}", operation="work_notice.send")
        body = {"agent_id": agent_id, "userid_list": ",".join(user_ids), "to_all_user": False,
                "msg": dict(msg)}
        data = await self._post(WORK_NOTICE_PATH, body)
        return str(data["task_id"])

    async def send_result(self, agent_id: int, task_id: str) -> SendResult:
        """Who received a work notification task, and who did not (and why)."""
        data = await self._post(SEND_RESULT_PATH, {"agent_id": agent_id, "task_id": int(task_id)},
                                read_only=True)
        result = data.get("send_result") or {}
        codes = {str(item.get("userid")): int(item.get("code", 0))
                 for item in result.get("forbidden_list") or [] if isinstance(item, Mapping)}
        return SendResult(
            invalid=_ids(result.get("invalid_user_id_list")),
            forbidden=tuple(dict.fromkeys((*_ids(result.get("forbidden_user_id_list")),
                                           *codes))),
            failed=_ids(result.get("failed_user_id_list")),
            read=_ids(result.get("read_user_id_list")),
            unread=_ids(result.get("unread_user_id_list")),
            forbidden_codes=codes or None,
        )

    async def send_progress(self, agent_id: int, task_id: str) -> SendProgress:
        """How far DingTalk got in sending a task."""
        data = await self._post(SEND_PROGRESS_PATH,
                                {"agent_id": agent_id, "task_id": int(task_id)}, read_only=True)
        progress = data.get("progress") or {}
        return SendProgress(percent=int(progress.get("progress_in_percent", 0)),
                            status=int(progress.get("status", 0)))

    async def user_by_mobile(self, mobile: str) -> str:
        """The user id of a mobile number (NotFoundError for 60121, an unknown number)."""
        data = await self._post(GETBYMOBILE_PATH, {"mobile": mobile}, read_only=True)
        return str(data["result"]["userid"])
