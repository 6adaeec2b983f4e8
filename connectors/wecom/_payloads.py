"""From the SDK's vendor-neutral `Message` to WeCom's JSON bodies, and its answers to `Delivery`.

Limits are WeCom's (see the protocol notes): app text and markdown 2048 bytes, textcard title
128 and description 512 characters, button text 4 characters; robot text 2048 bytes and
markdown 4096 bytes. Longer content is cut here, on a character boundary, with an ellipsis,
rather than left to the vendor's truncation or refusal.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from connectors.sdk.messaging import Delivery, Message

__all__ = [
    "APP_CHANNEL",
    "ROBOT_CHANNEL",
    "app_delivery",
    "app_message_body",
    "mask_mobile",
    "normalize_mobile",
    "robot_body",
    "truncate_bytes",
]

APP_CHANNEL = "wecom.app"
ROBOT_CHANNEL = "wecom.robot"
MAX_USERS = 1000  # touser holds at most 1000 user ids
APP_TEXT_BYTES = 2048
APP_MARKDOWN_BYTES = 2048
CARD_TITLE_CHARS = 128
CARD_DESCRIPTION_CHARS = 512
CARD_BUTTON = "详情"  # ≤ 4 characters
ROBOT_TEXT_BYTES = 2048
ROBOT_MARKDOWN_BYTES = 4096
_ELLIPSIS = "…"
_MOBILE_NOISE = re.compile(r"[\s\-()]")


def truncate_bytes(text: str, limit: int) -> str:
    """`text` cut to at most `limit` UTF-8 bytes, ending in an ellipsis when cut."""
    raw = text.encode("utf-8")
    if len(raw) <= limit:
        return text
    room = limit - len(_ELLIPSIS.encode("utf-8"))
    return raw[:room].decode("utf-8", errors="ignore") + _ELLIPSIS


def _truncate_chars(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + _ELLIPSIS


def normalize_mobile(raw: str) -> str:
    """A mobile as WeCom stores it: no spaces or dashes, a leading +86 / 86 dropped."""
    digits = _MOBILE_NOISE.sub("", raw).removeprefix("+")
    return digits[2:] if len(digits) == 13 and digits.startswith("86") else digits


def mask_mobile(mobile: str) -> str:
    """A mobile fit for a message people read: ``138****0002``."""
    return mobile[:3] + "****" + mobile[-4:] if len(mobile) >= 8 else "****"


def _plain(message: Message) -> str:
    return f"{message.title}\n{message.text}" if message.title else message.text


def _markdown(message: Message) -> str:
    return f"### {message.title}\n{message.text}" if message.title else message.text


def app_message_body(
    message: Message, *, user_ids: Sequence[str], agent_id: int,
    duplicate_check_interval: int | None,
) -> dict[str, Any]:
    """The body of ``message/send`` for `message` to `user_ids` (1..1000 of them)."""
    if not 1 <= len(user_ids) <= MAX_USERS:
        raise ValueError(f"an app message goes to 1..{MAX_USERS} users, not {len(user_ids)}")
    body: dict[str, Any] = {"touser": "|".join(user_ids), "agentid": agent_id}
    if message.kind == "text":
        body |= {"msgtype": "text",
                 "text": {"content": truncate_bytes(_plain(message), APP_TEXT_BYTES)}}
    elif message.kind == "markdown":
        body |= {"msgtype": "markdown",
                 "markdown": {"content": truncate_bytes(_markdown(message), APP_MARKDOWN_BYTES)}}
    else:
        body |= {"msgtype": "textcard", "textcard": {
            "title": _truncate_chars(message.title, CARD_TITLE_CHARS),
            "description": _truncate_chars(message.text, CARD_DESCRIPTION_CHARS),
            "url": message.url,
            "btntxt": CARD_BUTTON,
        }}
    if duplicate_check_interval is not None:
        body |= {"enable_duplicate_check": 1,
                 "duplicate_check_interval": duplicate_check_interval}
    return body


def _ids(value: object) -> list[str]:
    return [part for part in str(value or "").split("|") if part]


def app_delivery(
    answer: Mapping[str, Any], *, user_ids: Sequence[str], unresolved: Sequence[str] = (),
) -> Delivery:
    """The Delivery of a ``message/send`` answered with errcode 0.

    WeCom still answers 0 when some recipients are unknown or out of the app's range: they
    come back (lower-cased) in `invaliduser` and `unlicenseduser`. They are reported in our
    spelling, after the mobiles that never resolved to a user.
    """
    ours = {user_id.lower(): user_id for user_id in user_ids}
    invalid = [ours.get(u.lower(), u) for u in _ids(answer.get("invaliduser"))]
    unlicensed = [ours.get(u.lower(), u) for u in _ids(answer.get("unlicenseduser"))]
    failed = tuple(dict.fromkeys([*unresolved, *invalid, *unlicensed]))
    total = len(user_ids) + len(unresolved)
    reasons = [f"{label}: {', '.join(ids)}" for label, ids in (
        ("mobile not found", [mask_mobile(m) for m in unresolved]), ("invalid user", invalid),
        ("unlicensed user", unlicensed)) if ids]
    status: Literal["sent", "failed", "partial"]
    detail: str | None = None
    if not failed:
        status = "sent"
    else:
        status = "failed" if len(failed) >= total else "partial"
        detail = f"{len(failed)} of {total} recipients failed ({'; '.join(reasons)})"
    message_id = answer.get("msgid")
    return Delivery(channel=APP_CHANNEL, status=status,
                    message_id=str(message_id) if message_id else None, failed=failed,
                    detail=detail)


def robot_body(message: Message, *, mention_user_ids: Sequence[str] = ()) -> dict[str, Any]:
    """The body of ``webhook/send`` for `message`.

    Text mentions by mobile (``mentioned_mobile_list``, ``"@all"`` for everyone). Markdown
    cannot carry that list: it mentions with ``<@userid>`` inside the content, so the caller
    resolves the mobiles first and passes `mention_user_ids`. Cards are posted as markdown
    with the link (a robot has no textcard).
    """
    if message.kind == "text":
        mobiles = [normalize_mobile(m) for m in message.at_mobiles]
        if message.at_all:
            mobiles.append("@all")
        text: dict[str, Any] = {"content": truncate_bytes(_plain(message), ROBOT_TEXT_BYTES)}
        if mobiles:
            text["mentioned_mobile_list"] = mobiles
        return {"msgtype": "text", "text": text}
    if message.at_all:
        raise ValueError("a WeCom robot's markdown cannot @all (only text can); "
                         "send a text message to mention everyone")
    content = _markdown(message)
    if message.kind == "card":
        content += f"\n[{CARD_BUTTON}]({message.url})"
    mentions = "".join(f"<@{user_id}>" for user_id in mention_user_ids)
    room = ROBOT_MARKDOWN_BYTES - len(mentions.encode("utf-8")) - 1
    content = truncate_bytes(content, room) + (f"\n{mentions}" if mentions else "")
    return {"msgtype": "markdown", "markdown": {"content": content}}
