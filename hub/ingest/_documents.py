"""A batch's attribute documents written a column at a time.

An import writes each row's fields without a column of their own as one JSON document
(`{"province":"浙江省","city":"杭州市",…}`). Row by row that is a dict, a conversion per value
and an encoder call per row. When every entity of the batch has the same keys in the same
order (a batch mapped a column at a time always has), each value column is encoded at once
(C loops) and the documents are put together from one template: the same text, byte for
byte, as `compact_encoder(sort_keys=False)` of the row's dict with Decimals and dates as text
(tests/hub/ingest/test_documents.py holds it to that). Any other batch, or a value of
another kind (a float, a list…), is left to the row-by-row way (None).
"""

from __future__ import annotations

import json.encoder
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from operator import itemgetter
from typing import Any

__all__ = ["column_documents", "documents_of"]

_encode_text = json.encoder.encode_basestring  # what compact_encoder writes text with
_CONSTANTS = {type(None): "null"}


def _encoded(values: Sequence[Any]) -> list[str] | None:
    """Each value as the encoder writes it, or None for a kind not handled here."""
    kinds = set(map(type, values))
    if len(kinds) == 1:
        kind = kinds.pop()
        if kind is str:
            return list(map(_encode_text, values))
        if kind is Decimal:
            return list(map(_encode_text, map(str, values)))
        if kind is date or kind is datetime:
            return list(map(_encode_text, map(kind.isoformat, values)))
        kinds.add(kind)
    if not kinds <= {str, type(None), Decimal, date, datetime, int}:
        return None
    out = []
    for value in values:
        kind = type(value)
        if kind is str:
            out.append(_encode_text(value))
        elif value is None:
            out.append("null")
        elif kind is Decimal:
            out.append(_encode_text(str(value)))
        elif kind is int:
            out.append(int.__repr__(value))
        else:  # date, datetime
            out.append(_encode_text(value.isoformat()))
    return out


def column_documents(entities: Sequence[dict[str, Any]],
                     skip: frozenset[str]) -> list[str] | None:
    """Each entity's document of its keys not in `skip`, or None (see the docstring)."""
    if not entities:
        return []
    order = tuple(entities[0])
    if set(map(tuple, entities)) != {order}:
        return None
    keys = [key for key in order if key not in skip]
    if not keys:
        return ["{}"] * len(entities)
    picked = map(itemgetter(*keys), entities)
    columns = list(zip(*picked, strict=True)) if len(keys) > 1 else [list(picked)]
    return documents_of(keys, columns, len(entities))


def documents_of(keys: Sequence[str], columns: Sequence[Sequence[Any]],
                 count: int) -> list[str] | None:
    """The documents of `count` rows whose values of `keys` are these `columns`, or None
    for a value of a kind not handled here."""
    if not keys:
        return ["{}"] * count
    encoded = []
    for column in columns:
        texts = _encoded(column)
        if texts is None:
            return None
        encoded.append(texts)
    template = "{" + ",".join(_encode_text(key).replace("%", "%%") + ":%s"
                              for key in keys) + "}"
    return [template % parts for parts in zip(*encoded, strict=True)]
