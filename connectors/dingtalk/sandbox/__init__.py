"""The DingTalk sandbox: a loopback simulator of both API hosts and the event pusher.

`app` serves the routes, `state` holds tokens, users and messages, `crypto` signs robots and
encrypts pushed events.
"""

from .app import DEFAULT_USERS, DingTalkSandbox, EventPusher, create_app

__all__ = ["DEFAULT_USERS", "DingTalkSandbox", "EventPusher", "create_app"]
