"""What a transform is made of: a `Step` (value → value) and the factory that builds one."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["Step", "TransformFactory"]

Step = Callable[[Any], Any]
TransformFactory = Callable[..., Step]
