"""The outbox: write-backs owed to other systems, sent exactly once, dead letters replayable."""

from .dispatcher import Dispatcher, DispatchOptions, DispatchSummary, dispatch
from .documents import PartUsed, Refund, RefundLine, Resolution, Solution

__all__ = ["DispatchOptions", "DispatchSummary", "Dispatcher", "PartUsed", "Refund",
           "RefundLine", "Resolution", "Solution", "dispatch"]
