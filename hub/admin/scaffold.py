"""`hub connectors new NAME`: scaffold a connector plugin package that passes its own tests.

The package is written from the plain-text templates in `hub/admin/scaffold_templates/` (`*.tmpl`,
with `{{placeholders}}`); the `package/` folder there becomes the plugin's Python package.
"""

from __future__ import annotations

import keyword
import re
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

from connectors.sdk.registry import available_connectors
from hub.errors import InvalidRequestError

__all__ = ["NAME_RULE", "PluginNames", "create_plugin", "plugin_names"]

NAME_RULE = ("a connector name is 2-40 characters of lowercase letters, digits and single "
             "underscores, starting with a letter and not ending with an underscore "
             "(e.g. 'acme_desk'), and not a Python keyword")
_NAME = re.compile(r"[a-z](?:_?[a-z0-9])+")
_MAX_LENGTH = 40
_HUB_DISTRIBUTION = "cs-integration-hub"
_TEMPLATE_PACKAGE = "package"
_PLACEHOLDER = re.compile(r"\{\{[a-z_]+\}\}")


@dataclass(frozen=True, slots=True)
class PluginNames:
    """Every spelling of one plugin's name, as the templates use them."""

    name: str  # the connector's registry name: acme_desk
    dist: str  # the distribution and folder: hub-connector-acme-desk
    package: str  # the Python package: hub_connector_acme_desk
    cls: str  # the class-name stem: AcmeDesk (AcmeDeskConnector, AcmeDeskConfig)
    title: str  # for people: Acme Desk
    env: str  # environment variable stem: ACME_DESK

    def placeholders(self) -> dict[str, str]:
        return {"{{name}}": self.name, "{{dist}}": self.dist, "{{package}}": self.package,
                "{{cls}}": self.cls, "{{title}}": self.title, "{{env}}": self.env,
                "{{hub_dist}}": _HUB_DISTRIBUTION}


def plugin_names(name: str) -> PluginNames:
    """Validate `name` and derive the plugin's spellings; the error states the rule."""
    if not (_NAME.fullmatch(name) and len(name) <= _MAX_LENGTH) or keyword.iskeyword(name):
        raise InvalidRequestError(f"invalid connector name {name!r}: {NAME_RULE}")
    registered = {info.name: info.distribution for info in available_connectors()}
    if name in registered:
        owner = registered[name] or "another package"
        raise InvalidRequestError(
            f"a connector named {name!r} is already registered (by {owner}); pick another name"
        )
    words = name.split("_")
    return PluginNames(
        name=name,
        dist="hub-connector-" + "-".join(words),
        package=f"hub_connector_{name}",
        cls="".join(w.capitalize() for w in words),
        title=" ".join(w.capitalize() for w in words),
        env=name.upper(),
    )


def create_plugin(name: str, dest: Path) -> Path:
    """Write the plugin package for connector `name` into `dest`, and return its folder.

    The folder is `dest/hub-connector-<name>` (underscores become dashes) and holds
    `pyproject.toml` (the `hub.connectors` entry point), the package with `connector.py` and
    `sandbox.py`, tests that run the conformance suite, and a README. `pip install -e` it into
    the hub's environment and run `pytest` there.

    Raises:
        InvalidRequestError: the name breaks the naming rule or is taken, or the folder exists.
    """
    names = plugin_names(name)
    root = Path(dest) / names.dist
    if root.exists():
        raise InvalidRequestError(f"{root} already exists; remove it or choose another --dest")
    files = _render_all(names)
    for relative, text in files.items():
        target = root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    return root


def _render_all(names: PluginNames) -> dict[Path, str]:
    """Each output file's path (relative to the plugin folder) and its text."""
    rendered: dict[Path, str] = {}
    for parts, template in _templates(resources.files("hub.admin") / "scaffold_templates", ()):
        if parts[0] == _TEMPLATE_PACKAGE:
            parts = (names.package, *parts[1:])
        text = template.read_text(encoding="utf-8")
        for placeholder, value in names.placeholders().items():
            text = text.replace(placeholder, value)
        leftover = _PLACEHOLDER.search(text)
        if leftover:  # a template names a placeholder nobody fills: a bug here, not the user's
            raise RuntimeError(f"template {'/'.join(parts)} has unknown {leftover.group()}")
        rendered[Path(*parts[:-1], parts[-1].removesuffix(".tmpl"))] = text
    return rendered


def _templates(
    folder: Traversable, prefix: tuple[str, ...]
) -> list[tuple[tuple[str, ...], Traversable]]:
    found = []
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.is_dir():
            found += _templates(entry, (*prefix, entry.name))
        elif entry.name.endswith(".tmpl"):
            found.append(((*prefix, entry.name), entry))
    return found
