"""The README against the code: every `hub` command (and option) it shows exists, and every
command and option of the CLI is shown; every REST route in its table is served, and every
route of the API's contract is in the table. Its old claims stay gone."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import typer.main

import cli

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
_GLOBAL_OPTIONS = {"--help", "--version"}


@dataclass
class Command:
    path: tuple[str, ...]
    options: set[str] = field(default_factory=set)


def cli_commands() -> dict[tuple[str, ...], Command]:
    """Every leaf command of `hub`, by its words, with its long options."""
    found: dict[tuple[str, ...], Command] = {}

    def walk(command: Any, path: tuple[str, ...]) -> None:
        children = getattr(command, "commands", None)
        if children:
            for name, child in children.items():
                walk(child, (*path, name))
            return
        options = {o for p in command.params for o in p.opts if o.startswith("--")}
        found[path] = Command(path, options - _GLOBAL_OPTIONS)

    walk(typer.main.get_command(cli.app), ())
    return found


def shown_command_lines() -> list[str]:
    """What the README shows as `hub …`: backticked spans, and the lines of bash blocks cut at
    comments and shell separators."""
    spans = [s.replace("\\|", "|") for s in re.findall(r"`([^`\n]+)`", README)]
    for block in re.findall(r"```bash\n(.*?)```", README, flags=re.S):
        for line in block.splitlines():
            spans.extend(re.split(r"&&|;|\$\(|\)|\s&(?:\s|$)", line.split(" #", 1)[0]))
    lines: list[str] = []
    for span in spans:
        lines.extend(m.group(0) for m in re.finditer(r"(?<![\w./-])hub (?:[a-z][\w|-]*)"
                                                     r"[^`]*", span))
    return lines


def resolve(line: str, commands: dict[tuple[str, ...], Command]) -> list[Command]:
    """The commands a shown line names (`a|b` alternatives each); [] if it names none."""
    words = line.split()[1:]
    groups = {path[0] for path in commands if len(path) > 1}
    resolved = []
    for first in words[0].split("|"):
        if (first,) in commands:
            resolved.append(commands[(first,)])
        elif first in groups:
            second = words[1] if len(words) > 1 else ""
            names = [w for w in second.split("|") if (first, w) in commands]
            if not names and first == "import":  # `hub import FILE` is `hub import run FILE`
                names = ["run"]
            resolved.extend(commands[(first, name)] for name in names)
            if not names and second and not second.startswith(("-", "[")):
                return []
    return resolved


def test_every_command_and_option_the_readme_shows_exists() -> None:
    commands = cli_commands()
    wrong = []
    for line in shown_command_lines():
        named = resolve(line, commands)
        if not named and line.split()[1].split("|")[0] not in {p[0] for p in commands}:
            wrong.append(f"{line!r}: no such command")
            continue
        options = set(re.findall(r"(?<![\w-])--[a-z][\w-]*", line)) - _GLOBAL_OPTIONS
        known = set().union(*(c.options for c in named)) if named else set()
        if named and options - known:
            wrong.append(f"{line!r}: no option {sorted(options - known)}")
    assert not wrong, "\n".join(wrong)


def test_every_command_and_option_of_the_cli_is_in_the_readme() -> None:
    commands = cli_commands()
    shown: dict[tuple[str, ...], set[str]] = {}
    for line in shown_command_lines():
        options = set(re.findall(r"(?<![\w-])--[a-z][\w-]*", line))
        for command in resolve(line, commands):
            shown.setdefault(command.path, set()).update(options)
    missing = [" ".join(path) for path in commands if path not in shown]
    assert not missing, f"not in the README: {missing}"
    undocumented = {" ".join(path): sorted(c.options - shown[path])
                    for path, c in commands.items() if c.options - shown[path]}
    assert not undocumented, f"options not in the README: {undocumented}"


def _readme_routes() -> set[tuple[str, str]]:
    """(method, path) of the README's REST routes table, alternatives expanded."""
    section = README.split("### REST API", 1)[1].split("\n### ", 1)[0]
    table = [line for line in section.splitlines() if line.startswith("| `")]
    routes: set[tuple[str, str]] = set()
    for row in table:
        methods, previous = ["GET"], ""
        for token in re.findall(r"`([^`]+)`", row.split(" | ", 1)[0]):
            match = re.fullmatch(r"(?:([A-Z\\|]+) )?(/\S*)", token)
            if match is None:
                continue
            if match.group(1):
                methods = match.group(1).replace("\\", "").split("|")
            first, *others = match.group(2).split("\\|")
            if not match.group(1) and first.count("/") == 1 and previous.count("/") > 2:
                first = previous.rsplit("/", 1)[0] + first  # `/reopen` after `/…/resolve`
            paths = [first]
            for other in others:  # `…/pause\|resume`, `report.xlsx\|.csv`
                cut = "." if other.startswith(".") else "/"
                paths.append(first.rsplit(cut, 1)[0] + (other if cut == "." else "/" + other))
            routes.update((method, path) for method in methods for path in paths)
            previous = first
    return routes


def _served_routes() -> set[tuple[str, str]]:
    document = json.loads((ROOT / "docs" / "openapi.json").read_text(encoding="utf-8"))
    return {(method.upper(), path) for path, operations in document["paths"].items()
            for method in operations if method in {"get", "post", "put", "patch", "delete"}}


def _matches(template: str, path: str) -> bool:
    pattern = re.sub(r"\\\{[^/]*?\\\}", "[^/]+", re.escape(template))
    return re.fullmatch(pattern, path) is not None


def test_the_readme_routes_table_matches_the_served_routes() -> None:
    readme, served = _readme_routes(), _served_routes()
    unknown = sorted(r for r in readme
                     if not any(m == r[0] and _matches(t, r[1]) for m, t in served))
    absent = sorted(s for s in served
                    if not any(s[0] == m and _matches(s[1], p) for m, p in readme))
    assert not unknown, f"in the README, not served: {unknown}"
    assert not absent, f"served, not in the README's routes table: {absent}"


def test_the_readme_makes_no_stale_claims() -> None:
    assert "open issues" not in README
    assert "see the open issue" not in README
