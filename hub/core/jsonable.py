"""Turning mapped values (datetimes, decimals) into JSON, and hashing them stably."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import orjson

__all__ = ["canonical_json", "compact_encoder", "content_hash", "json_text", "to_jsonable"]


def to_jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def content_hash(value: Any) -> str:
    return hashlib.sha256(canonical_json(to_jsonable(value)).encode()).hexdigest()


def json_text(value: Any) -> str:
    """`value` as compact UTF-8 JSON text: how the store writes JSON columns kept as text
    (SQLite), so a reader can pass a document on as it is. What orjson refuses (keys other
    than strings, integers beyond 64 bits) is written as `json.dumps` writes it."""
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        return json.dumps(value)


def compact_encoder(*, sort_keys: bool) -> Callable[[Any], str]:
    """`json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=…)`, the same
    text, with its C encoder built once instead of on every call (tests hold it to
    json.dumps): for the documents written by the thousand — attributes, audit bodies."""
    encoder = json.JSONEncoder(ensure_ascii=False, sort_keys=sort_keys, separators=(",", ":"))
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:  # pragma: no cover -- CPython always has it
        return encoder.encode
    iterate = make(None, encoder.default, json.encoder.encode_basestring, None, ":", ",",
                   sort_keys, False, True)

    def encode(value: Any) -> str:
        if isinstance(value, str):
            return encoder.encode(value)
        return "".join(iterate(value, 0))
    return encode


canonical_json = compact_encoder(sort_keys=True)
