"""The base of every model of hub.yaml: unknown keys are errors, parsed specs are frozen."""

from pydantic import BaseModel, ConfigDict

__all__ = ["SpecModel"]


class SpecModel(BaseModel):
    """A part of hub.yaml: a misspelled key is an error, and nothing changes once parsed."""

    model_config = ConfigDict(extra="forbid", frozen=True)
