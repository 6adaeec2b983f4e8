"""The DingTalk sandbox: a loopback simulator of both API hosts and the event pusher.

`app` serves the routes, `state` holds tokens, users and messages, `crypto` signs robots and
encrypts pushed events, `bot` posts the app bot's messages in HTTP mode.
"""

from .app import DEFAULT_USERS, BotMessenger, DingTalkSandbox, EventPusher, create_app

__all__ = ["DEFAULT_USERS", "BotMessenger", "DingTalkSandbox", "EventPusher", "create_app"]
