"""The Confluence sandbox: a loopback simulator of the v1 content API and its seed articles.

`app` serves the API, `pages` holds the page store, `cql` parses the CQL it accepts, `seed`
the knowledge-base articles it starts with.
"""

from .app import ConfluenceSandbox, create_app

__all__ = ["ConfluenceSandbox", "create_app"]
