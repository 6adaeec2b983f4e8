"""Who holds a lease: this host, this process and a random part, unique per claimer."""

from __future__ import annotations

import os
import socket
import uuid

__all__ = ["HOST", "worker_id"]

HOST = socket.gethostname()


def worker_id() -> str:
    """A new owner id for leases (`host:pid:random`): one per claimer, never reused."""
    return f"{HOST[:60]}:{os.getpid()}:{uuid.uuid4().hex[:12]}"
