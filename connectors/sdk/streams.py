"""Streams, their batches and slices, and the incremental cursor kept between pulls."""

from ._incremental import CursorFormat, IncrementalCursor, IncrementalState
from ._streams import Batch, Slice, Stream

__all__ = ["Batch", "CursorFormat", "IncrementalCursor", "IncrementalState", "Slice", "Stream"]
