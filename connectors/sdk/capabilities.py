"""What the hub looks for on a connector beyond streams: lookups, reference data, writes."""

from ._capabilities import (
    CustomerDirectory,
    ReferenceData,
    Writer,
    WriteResult,
    WriteStep,
    WrittenLister,
)

__all__ = [
    "CustomerDirectory",
    "ReferenceData",
    "WriteResult",
    "WriteStep",
    "Writer",
    "WrittenLister",
]
