"""The hub's field masker, built from its config's `api.masking` rules on first use: what
the API's masking middleware and the console mask with, so both show a caller the same."""

from __future__ import annotations

import logging

from hub.access.masking import FieldMasker
from hub.config import MaskingSpec
from hub.errors import ConfigFileError
from hub.runtime import Hub

log = logging.getLogger("hub.access")

__all__ = ["MaskingRules"]


class MaskingRules:
    """The hub's masker, built from its config on first use (loaded lazily, once)."""

    def __init__(self, hub: Hub | None = None, *, masker: FieldMasker | None = None) -> None:
        self._hub = hub
        self._masker = masker

    @property
    def masker(self) -> FieldMasker:
        # A config that does not load (a variable unset) must not unmask anything: the
        # default rules apply until it does.
        if self._masker is None:
            if self._hub is None:
                return FieldMasker(MaskingSpec().by_kind())
            try:
                rules = self._hub.config.hub.api.masking.by_kind()
            except ConfigFileError as exc:
                log.warning("masking with the default rules: the config does not load: %s",
                            exc)
                return FieldMasker(MaskingSpec().by_kind())
            self._masker = FieldMasker(rules)
        return self._masker
