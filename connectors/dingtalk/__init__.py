"""DingTalk (钉钉): work notifications, custom group robots and encrypted event pushes."""

from ._robots import DingTalkRobotSigner

__all__ = ["DingTalkRobotSigner"]
