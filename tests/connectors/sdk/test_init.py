"""`connectors.sdk` exports exactly its public names through `__all__`."""

from __future__ import annotations

import types

import connectors.sdk as sdk


def test_all__lists_every_public_name_and_nothing_else() -> None:
    public = {name for name, value in vars(sdk).items()
              if not name.startswith("_") and not isinstance(value, types.ModuleType)
              and name != "annotations"}
    assert set(sdk.__all__) == public
    assert len(sdk.__all__) == len(set(sdk.__all__))
