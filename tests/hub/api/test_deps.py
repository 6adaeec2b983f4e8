"""The hot route's own parameter reading agrees with Starlette's."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from starlette.requests import Request

from hub.api.deps import query_value

_PIECES = st.sampled_from(["expand", "expand=", "expand=kb", "expand=customer,orders", "x=1",
                           "", "=", "expand=a=b", "EXPAND=kb", "expand=%6Bb", "expand=a+b",
                           "ex%70and=kb", "expand=é", "expand=%E4%B8%AD", "expand=%zz"])


def _request(query: bytes) -> Request:
    return Request({"type": "http", "method": "GET", "path": "/", "query_string": query,
                    "headers": []})


@given(st.lists(_PIECES, max_size=6), st.sampled_from(["&", "&&"]))
def test_query_value__as_starlette_reads_it(pieces: list[str], joiner: str) -> None:
    query = joiner.join(pieces).encode("utf-8")
    request = _request(query)
    assert query_value(request, "expand") == _request(query).query_params.get("expand")
