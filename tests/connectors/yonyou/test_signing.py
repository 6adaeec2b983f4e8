"""The token signature vector of protocol notes §2, and its encoding on the wire."""

from __future__ import annotations

from urllib.parse import quote

import httpx

from connectors.yonyou._signing import string_to_sign, token_signature

VECTOR_B64 = "XWcTMvWF3uhOWDoXEdaxoMRFnpw6vIVr1+taVi++Dco="
VECTOR_WIRE = "XWcTMvWF3uhOWDoXEdaxoMRFnpw6vIVr1%2BtaVi%2B%2BDco%3D"


def test_string_to_sign__sorted_names_and_values_without_separators() -> None:
    params = {"timestamp": "1700000000000", "appKey": "fake-app-key-0001", "signature": "x"}
    assert string_to_sign(params) == "appKeyfake-app-key-0001timestamp1700000000000"


def test_token_signature__matches_the_vector() -> None:
    signature = token_signature("fake-app-key-0001", "1700000000000", "fake-app-secret-0001")
    assert signature == VECTOR_B64
    assert quote(signature, safe="") == VECTOR_WIRE


def test_httpx_params__encode_the_raw_base64_exactly_once() -> None:
    request = httpx.Request("GET", "https://dc.example.test/t", params={
        "appKey": "fake-app-key-0001", "timestamp": "1700000000000", "signature": VECTOR_B64})
    assert f"signature={VECTOR_WIRE}" in request.url.raw_path.decode()
    assert request.url.params["signature"] == VECTOR_B64
