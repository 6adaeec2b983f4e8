"""The WeCom sandbox: a loopback simulator of the server API and its callback pushes.

`app` serves the routes, `state` holds tokens, limits and messages, `callbacks` builds and
delivers encrypted callbacks.
"""

from .app import (
    CallbackBuilder,
    KfSandbox,
    SandboxLimits,
    SignedCallback,
    WeComSandbox,
    create_app,
    xml_fields,
)

__all__ = [
    "CallbackBuilder",
    "KfSandbox",
    "SandboxLimits",
    "SignedCallback",
    "WeComSandbox",
    "create_app",
    "xml_fields",
]
