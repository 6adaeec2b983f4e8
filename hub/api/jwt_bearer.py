"""OAuth2 bearer tokens: checked by hub.access.jwt_bearer (the console signs people in with
the same issuer); named here for the API's modules."""

from __future__ import annotations

from hub.access.jwt_bearer import JwtVerifier, bounded_subject

__all__ = ["JwtVerifier", "bounded_subject"]
