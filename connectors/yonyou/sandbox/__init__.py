"""The Yonyou sandbox: a loopback simulator of YonBIP's open API and its seed tenant.

`app` serves the routes, `auth` issues tokens, `bills`/`query` hold and filter the documents,
`seed` the tenant's data.
"""

from .app import APP_KEY, APP_SECRET, TENANT_ID, YonyouSandbox, create_app

__all__ = ["APP_KEY", "APP_SECRET", "TENANT_ID", "YonyouSandbox", "create_app"]
