"""An OpenID Connect issuer on loopback for the console's single sign-on tests: discovery,
an authorization endpoint that signs in the person it is told to (no login page), a token
endpoint that checks the client, the code and its PKCE verifier, and a JWKS."""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
import warnings
from typing import Any
from urllib.parse import urlencode

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    from authlib.jose import JsonWebKey, JsonWebToken

CLIENT_ID = "hub-console"
CLIENT_SECRET = "console-client-secret-7f3a"
AUDIENCE = "hub-api"


class Issuer:
    """Who signs in next is `person` (sub, roles); every code is good once."""

    def __init__(self) -> None:
        self.url = ""
        self.key = JsonWebKey.generate_key("RSA", 2048, is_private=True,
                                           options={"kid": "console-test"})
        self.person: dict[str, Any] = {"sub": "alice", "roles": ["agent"]}
        self.codes: dict[str, dict[str, Any]] = {}
        self.issued: list[dict[str, Any]] = []  # the claims of every token it gave
        self.app = Starlette(routes=[
            Route("/.well-known/openid-configuration", self.discovery),
            Route("/authorize", self.authorize), Route("/token", self.token, methods=["POST"]),
            Route("/jwks.json", self.jwks)])

    async def discovery(self, _request: Request) -> Response:
        return JSONResponse({"issuer": self.url, "authorization_endpoint": f"{self.url}/authorize",
                             "token_endpoint": f"{self.url}/token",
                             "jwks_uri": f"{self.url}/jwks.json"})

    async def authorize(self, request: Request) -> Response:
        query = request.query_params
        assert query["client_id"] == CLIENT_ID and query["code_challenge_method"] == "S256"
        code = secrets.token_urlsafe(16)
        self.codes[code] = {"challenge": query["code_challenge"],
                            "redirect_uri": query["redirect_uri"], "person": dict(self.person)}
        back = urlencode({"code": code, "state": query["state"]})
        return RedirectResponse(f"{query['redirect_uri']}?{back}", status_code=302)

    async def token(self, request: Request) -> Response:
        form = await request.form()
        grant = self.codes.pop(str(form.get("code")), None)
        verifier = str(form.get("code_verifier", "")).encode()
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier).digest()).rstrip(b"=")
        if (grant is None or form.get("client_id") != CLIENT_ID
                or form.get("client_secret") != CLIENT_SECRET
                or grant["challenge"] != challenge.decode()
                or grant["redirect_uri"] != form.get("redirect_uri")):
            return JSONResponse({"error": "invalid_grant"}, status_code=400)
        now = int(time.time())
        claims = {"iss": self.url, "aud": AUDIENCE, "iat": now, "exp": now + 3600,
                  **grant["person"]}
        self.issued.append(claims)
        token = JsonWebToken(["RS256"]).encode({"alg": "RS256", "kid": "console-test"},
                                               claims, self.key)
        return JSONResponse({"access_token": token.decode(), "token_type": "Bearer",
                             "expires_in": 3600})

    async def jwks(self, _request: Request) -> Response:
        return JSONResponse({"keys": [self.key.as_dict(is_private=False)]})
