"""`hub demo`: the whole hub against the sandboxes, in sections."""

from hub.demo.tour import (
    run_demo,
)

__all__ = [
    "run_demo",
]
