"""A vendor-neutral Message as DingTalk's two message formats (protocol notes §3, §6).

Work notifications use snake_case (``action_card.single_url``), robots camelCase
(``actionCard.singleURL``). A robot only pings an @mentioned mobile that also appears as
``@<mobile>`` in the text, so it is appended when missing.
"""

from __future__ import annotations

import json
from typing import Any

from connectors.sdk.messaging import Message

from .client import MAX_MSG_BYTES

__all__ = ["robot_body", "work_notice_msg"]

_ELLIPSIS = "…"


def _size(value: Any) -> int:
    return len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))


def _notice(message: Message, text: str, button: str) -> dict[str, Any]:
    if message.kind == "text":
        content = f"{message.title}\n{text}" if message.title else text
        return {"msgtype": "text", "text": {"content": content}}
    if message.kind == "markdown":
        return {"msgtype": "markdown", "markdown": {"title": message.title, "text": text}}
    return {"msgtype": "action_card", "action_card": {
        "title": message.title, "markdown": text, "single_title": button,
        "single_url": message.url}}


def work_notice_msg(message: Message, *, button: str) -> tuple[dict[str, Any], bool]:
    """The ``msg`` object of asyncsend_v2, and whether the text was cut to fit 2048 bytes.

    Only the body text is shortened (ending in "…"); title and link stay whole, so a card
    still leads back to the ticket.
    """
    msg = _notice(message, message.text, button)
    if _size(msg) <= MAX_MSG_BYTES:
        return msg, False
    low, high = 0, len(message.text)  # the longest prefix that fits, by bisection
    while low < high:
        middle = (low + high + 1) // 2
        if _size(_notice(message, message.text[:middle] + _ELLIPSIS, button)) <= MAX_MSG_BYTES:
            low = middle
        else:
            high = middle - 1
    return _notice(message, message.text[:low] + _ELLIPSIS, button), True


def _with_mentions(text: str, mobiles: tuple[str, ...]) -> str:
    missing = [m for m in mobiles if f"@{m}" not in text]
    return text + "".join(f" @{m}" for m in missing) if missing else text


def robot_body(message: Message, *, button: str) -> dict[str, Any]:
    """The JSON body of a custom robot's ``/robot/send``."""
    at = {"atMobiles": list(message.at_mobiles), "isAtAll": message.at_all}
    text = _with_mentions(message.text, message.at_mobiles)
    if message.kind == "text":
        content = f"{message.title}\n{text}" if message.title else text
        return {"msgtype": "text", "text": {"content": content}, "at": at}
    if message.kind == "markdown":
        return {"msgtype": "markdown", "markdown": {"title": message.title, "text": text},
                "at": at}
    return {"msgtype": "actionCard", "actionCard": {
        "title": message.title, "text": text, "singleTitle": button,
        "singleURL": message.url}, "at": at}
