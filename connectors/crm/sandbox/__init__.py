"""The CRM sandbox: a loopback simulator of the REST CRM and its seed customers.

`app` serves the API and the `/_sandbox` controls, `seed` generates the customers.
"""

from .app import CrmSandbox, Fault, create_app, normalize_mobile

__all__ = ["CrmSandbox", "Fault", "create_app", "normalize_mobile"]
