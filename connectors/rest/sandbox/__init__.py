"""The REST sandbox: knowledge-base articles behind every paging style, and their seed.

`app` serves the API and the `/_sandbox` controls, `seed` generates the articles.
"""

from .app import API_KEY_HEADER, STYLES, RestSandbox, create_app

__all__ = ["API_KEY_HEADER", "RestSandbox", "STYLES", "create_app"]
