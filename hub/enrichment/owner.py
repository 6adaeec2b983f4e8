"""Who holds a lease: host, process and a random part, unique per claimer."""

from __future__ import annotations

import os
import socket
import uuid

__all__ = ["new_owner"]


def new_owner() -> str:
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{uuid.uuid4().hex[:12]}"
