"""`hub connectors new`: the scaffolded plugin is well formed, installs, is discovered and passes
its own tests, in a throwaway venv so the shared one is never changed."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import site
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from hub.admin.scaffold import NAME_RULE, create_plugin, plugin_names
from hub.errors import InvalidRequestError


@pytest.mark.parametrize(("name", "dist", "package", "cls"), [
    ("acme", "hub-connector-acme", "hub_connector_acme", "Acme"),
    ("acme_desk", "hub-connector-acme-desk", "hub_connector_acme_desk", "AcmeDesk"),
    ("k3_cloud2", "hub-connector-k3-cloud2", "hub_connector_k3_cloud2", "K3Cloud2"),
])
def test_plugin_names__derives_every_spelling(name: str, dist: str, package: str, cls: str
                                              ) -> None:
    names = plugin_names(name)
    assert (names.dist, names.package, names.cls) == (dist, package, cls)


@pytest.mark.parametrize("name", [
    "", "a", "Acme", "acme-desk", "1acme", "_acme", "acme_", "acme__desk", "acme desk",
    "class", "ácme", "a" * 41,
])
def test_plugin_names__refuses_a_bad_name_stating_the_rule(name: str) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        plugin_names(name)
    assert str(caught.value) == f"invalid connector name {name!r}: {NAME_RULE}"


def test_plugin_names__refuses_a_registered_name() -> None:
    with pytest.raises(InvalidRequestError, match="'crm' is already registered "
                                                  r"\(by cs-integration-hub\)"):
        plugin_names("crm")


def test_create_plugin__writes_the_package_with_its_entry_point(tmp_path: Path) -> None:
    root = create_plugin("acme_desk", tmp_path)
    assert root == tmp_path / "hub-connector-acme-desk"
    files = sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())
    assert files == [
        "README.md", "hub_connector_acme_desk/__init__.py", "hub_connector_acme_desk/connector.py",
        "hub_connector_acme_desk/sandbox.py", "pyproject.toml", "tests/test_conformance.py",
        "tests/test_replay.py",
    ]
    project = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["name"] == "hub-connector-acme-desk"
    assert project["dependencies"] == ["cs-integration-hub"]
    assert project["entry-points"]["hub.connectors"] == {
        "acme_desk": "hub_connector_acme_desk.connector:AcmeDeskConnector"}
    for path in root.rglob("*"):
        if path.is_file():
            text = path.read_text(encoding="utf-8")
            assert "{{" not in text.replace("${{", ""), path
            if path.suffix == ".py":
                compile(text, str(path), "exec")
    assert "${ACME_DESK_API_KEY}" in (root / "README.md").read_text(encoding="utf-8")


def test_create_plugin__refuses_an_existing_folder(tmp_path: Path) -> None:
    create_plugin("acme", tmp_path)
    with pytest.raises(InvalidRequestError, match="hub-connector-acme already exists"):
        create_plugin("acme", tmp_path)


def test_create_plugin__output_is_ruff_clean(tmp_path: Path) -> None:
    ruff = Path(sys.executable).with_name("ruff")
    if not ruff.exists():
        pytest.skip(f"ruff is not installed beside {sys.executable}")
    root = create_plugin("acme_desk", tmp_path)
    result = subprocess.run([str(ruff), "check", "--no-cache", "."], cwd=root,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def _offline_build_problem() -> str | None:
    """Why this environment's setuptools cannot build the plugin with --no-build-isolation."""
    try:
        version = importlib.metadata.version("setuptools")
    except importlib.metadata.PackageNotFoundError:
        return "setuptools is not installed"
    major, minor = (int(part) for part in version.split(".")[:2])
    if (major, minor) < (70, 1) and importlib.util.find_spec("wheel") is None:
        return f"setuptools {version} has no bdist_wheel without the wheel package"
    return None


def _clean_env() -> dict[str, str]:
    """This process's environment without what would leak the outer pytest into the inner."""
    return {k: v for k, v in os.environ.items()
            if not k.startswith(("PYTEST_", "PYTHONPATH", "VIRTUAL_ENV", "COV_"))}


@pytest.mark.slow
def test_create_plugin__installs_is_discovered_and_passes_its_own_tests(tmp_path: Path) -> None:
    problem = _offline_build_problem()
    assert problem is None, f"{problem}: the dev extra needs setuptools>=70.1"
    root = create_plugin("acme_desk", tmp_path)
    # A throwaway venv that sees this environment's packages (the hub, pytest, setuptools)
    # through a .pth, so the plugin installs into it without touching the shared venv.
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = str(venv / "bin" / "python")
    env = _clean_env()

    def run(*args: str, cwd: Path = tmp_path) -> str:
        result = subprocess.run([python, *args], cwd=cwd, env=env, capture_output=True,
                                text=True, timeout=300)
        assert result.returncode == 0, f"{args}:\n{result.stdout}\n{result.stderr}"
        return result.stdout

    purelib = Path(run("-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])").strip())
    parents = "".join(f"site.addsitedir({d!r}); " for d in site.getsitepackages())
    (purelib / "_outer_env.pth").write_text(f"import site; {parents}\n", encoding="utf-8")

    run("-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation", "--no-index",
        "-e", str(root))
    found = run("-c", "from connectors.sdk.registry import load_connector; "
                      "print(load_connector('acme_desk').__module__)")
    assert found.strip() == "hub_connector_acme_desk.connector"
    listed = run("-c", "from connectors.sdk.registry import available_connectors; "
                       "print([(c.name, c.distribution) for c in available_connectors()])")
    assert "('acme_desk', 'hub-connector-acme-desk')" in listed
    output = run("-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist", cwd=root)
    assert " passed" in output and "failed" not in output, output
    # The shared venv has not learnt about the plugin.
    outer = subprocess.run(
        [sys.executable, "-c", "from connectors.sdk.registry import available_connectors; "
                               "print([c.name for c in available_connectors()])"],
        capture_output=True, text=True, check=True, env=_clean_env())
    assert "acme_desk" not in outer.stdout
