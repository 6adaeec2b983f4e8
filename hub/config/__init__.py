"""The admin's configuration: connections, jobs, rules, webhooks, masking; the loader that
checks them against the mapping files."""

from hub.config.durations import Duration, format_duration, parse_duration
from hub.config.jobs import (
    ACTION_CODES,
    CONTACT_FIELDS,
    ConnectedJob,
    ContactField,
    EnrichJob,
    EnrichSource,
    ImportJob,
    JobSpec,
    KfSyncJob,
    NotifyJob,
    PullJob,
    RetrySpec,
    ScheduledJob,
    ScheduleSpec,
    WritebackJob,
)
from hub.config.loader import LoadedConfig, load_config
from hub.config.schema import ApiSpec, ConnectionSpec, HubConfig, MaskingSpec, WebhookSpec

__all__ = [
    "ACTION_CODES",
    "ApiSpec",
    "CONTACT_FIELDS",
    "ConnectedJob",
    "ConnectionSpec",
    "ContactField",
    "Duration",
    "EnrichJob",
    "EnrichSource",
    "HubConfig",
    "ImportJob",
    "JobSpec",
    "LoadedConfig",
    "MaskingSpec",
    "KfSyncJob",
    "NotifyJob",
    "PullJob",
    "RetrySpec",
    "ScheduleSpec",
    "ScheduledJob",
    "WebhookSpec",
    "WritebackJob",
    "format_duration",
    "load_config",
    "parse_duration",
]
