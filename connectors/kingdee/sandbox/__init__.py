"""The Kingdee sandbox: a loopback K/3 Cloud WebAPI simulator and its seed bills.

`app` serves the WebAPI (run it with `python -m connectors.kingdee.sandbox --port 8765`),
`auth` the logins and signatures, `forms`/`filter` the bill queries, `bills` the bill store,
`seed` the starting data.
"""

from .app import SandboxState, create_app
from .auth import Credentials

__all__ = ["Credentials", "SandboxState", "create_app"]
