"""The `config:` of a `wecom` connection: one internal app, its robots and its callback URL."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from connectors.sdk import ConnectorConfig
from connectors.sdk.ratelimit import RateLimit

__all__ = ["MEMBER_LIMIT", "ROBOT_LIMIT", "WeComConfig", "WeComRobot"]

ROBOT_LIMIT = RateLimit(per_minute=20)  # per webhook key
MEMBER_LIMIT = RateLimit(per_minute=30, per_hour=1000)  # app messages to one member; beyond:
# WeCom still answers 0 but drops the message silently, so the budget is the only guard.
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_\-]{0,63}")
_AES_KEY = re.compile(r"[A-Za-z0-9]{43}")
_CALLBACK_TOKEN = re.compile(r"[A-Za-z0-9]{1,32}")


class WeComRobot(BaseModel):
    """A group robot ("消息推送") the connection may post to.

    Attributes:
        key: the `key` of its webhook URL — the whole credential.
        rate_limit: its budget; WeCom allows 20 messages a minute per robot.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    key: SecretStr
    rate_limit: RateLimit = ROBOT_LIMIT


class WeComConfig(ConnectorConfig):
    """A WeCom internal app.

    Attributes:
        base_url: the API host (``https://qyapi.weixin.qq.com``; a sandbox in tests).
        corp_id: the enterprise's corp id (also the callbacks' receive id).
        corp_secret: the app's secret.
        agent_id: the app's agent id.
        robots: group robots by the name notify rules use, e.g. ``{ops: {key: ...}}``.
        callback_token: the Token of the app's callback URL (signs callbacks).
        callback_aes_key: the 43-character EncodingAESKey of the callback URL.
        callback_window: seconds a callback's timestamp may be off from our clock.
        mobile_cache_ttl: seconds a mobile → userid lookup is reused.
        duplicate_check_interval: seconds within which WeCom drops a message identical to
            one sent before (1..14400). It makes resending after a lost answer safe, so sends
            are retried; but the same text to the same people inside the interval is sent
            once. None: off, and a lost answer is an OutcomeUnknownError.
        member_rate_limit: the budget of app messages to one member (WeCom drops the excess
            silently); None: no per-member budget.
        token_rate_limit: the budget of `gettoken` calls for this app.
        token_daily_cap: `gettoken` calls allowed per corp × app in any 24 hours, counted
            by every process sharing the budget store; beyond it a fetch is not sent (WeCom
            blocks an app that calls gettoken too often; it publishes no number: ASSUMED
            far above a healthy app's ~12 a day, far below a refetch loop's thousands).
        token_refusal_backoff: seconds a refused secret is not tried again (repeated wrong
            secrets get the IP blocked).
        frequency_wait: seconds to wait after 45009 (a minute-level block clears after 60 s,
            §6); a call waits at most `max_retry_after` of it, the notify queue all of it.
        kf_sync_limit: messages asked for per 微信客服 `sync_msg` page (WeCom's maximum: 1000).
        kf_voice_format: voice messages' format in `sync_msg` (0 Amr, 1 Silk).
    """

    base_url: str = "https://qyapi.weixin.qq.com"
    corp_id: str = Field(min_length=1, max_length=64)
    corp_secret: SecretStr
    agent_id: int
    robots: dict[str, WeComRobot] = Field(default_factory=dict)
    callback_token: SecretStr | None = None
    callback_aes_key: SecretStr | None = None
    callback_window: float = Field(default=300.0, gt=0)
    mobile_cache_ttl: float = Field(default=3600.0, ge=0)
    duplicate_check_interval: int | None = Field(default=300, ge=1, le=14400)
    member_rate_limit: RateLimit | None = MEMBER_LIMIT
    token_rate_limit: RateLimit | None = RateLimit(per_minute=60, headroom=1)
    token_daily_cap: int | None = Field(default=1000, ge=1)
    token_refusal_backoff: float = Field(default=60.0, ge=0)
    frequency_wait: float = Field(default=60.0, ge=0)
    kf_sync_limit: int = Field(default=1000, ge=1, le=1000)
    kf_voice_format: Literal[0, 1] = 0

    @field_validator("robots")
    @classmethod
    def _robot_names(cls, robots: dict[str, WeComRobot]) -> dict[str, WeComRobot]:
        for name in robots:
            if not _NAME.fullmatch(name):
                raise ValueError(f"robot name {name!r} must be letters, digits, _ or -")
        return robots

    @model_validator(mode="after")
    def _callback_pair(self) -> WeComConfig:
        token, key = self.callback_token, self.callback_aes_key
        if (token is None) != (key is None):
            raise ValueError("give both callback_token and callback_aes_key, or neither")
        if token is not None and not _CALLBACK_TOKEN.fullmatch(token.get_secret_value()):
            raise ValueError("callback_token must be 1-32 letters or digits")
        if key is not None and not _AES_KEY.fullmatch(key.get_secret_value()):
            raise ValueError("callback_aes_key must be exactly 43 letters or digits")
        return self
