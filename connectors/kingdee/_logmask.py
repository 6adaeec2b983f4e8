"""Masks Kingdee session ids in the log records of libraries we do not own.

httpcore logs response headers at DEBUG, including `Set-Cookie: kdservice-sessionid=<id>`,
before the client can know the id and register it as a secret. The SDK's name-based masking
does not list Kingdee's cookie names, so this filter covers them (see the report: adding
`kdservice-sessionid` to the SDK's SENSITIVE_NAMES would make it redundant).
"""

from __future__ import annotations

import logging
import re

__all__ = ["install_session_masking"]

_SESSION = re.compile(
    r"(?i)(kdservice-sessionid|asp\.net_sessionid|\bsid\b)((?:'|\")?\s*[=:,]\s*(?:b?['\"])?)"
    r"([^\s;'\",&)]+)")


class _SessionFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = _SESSION.sub(lambda m: f"{m.group(1)}{m.group(2)}***", message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


_FILTER = _SessionFilter()


def install_session_masking() -> None:
    """Idempotent: adds the filter to the loggers that may print headers."""
    # Filters of a logger do not see its children's records: name the children that log.
    for name in ("httpx", "httpcore", "httpcore.http11", "httpcore.http2", "httpcore.connection",
                 "connectors", "connectors.http"):
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
