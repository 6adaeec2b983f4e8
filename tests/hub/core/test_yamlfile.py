"""The YAML loader under attack: bombs, tags, binary and deep nesting are refused as one
problem naming the file and the line; syntax errors point where the mistake is."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from hub.core.yamlfile import MAX_BYTES, MAX_DEPTH, load_yaml
from hub.errors import ConfigFileError


def billion_laughs() -> bytes:
    """Nine levels of ten aliases each: 10^9 strings once expanded, 1 KiB on disk."""
    lines = ['a0: &a0 "lol"']
    for level in range(1, 10):
        refs = ", ".join(f"*a{level - 1}" for _ in range(10))
        lines.append(f"a{level}: &a{level} [{refs}]")
    return ("\n".join(lines) + "\n").encode()


def random_binary() -> bytes:
    return random.Random(16).randbytes(4096)


# (case, file bytes, line, words the message must contain)
HOSTILE = [
    ("alias_bomb", billion_laughs(), 5, "aliases"),
    ("python_tag", b"version: 1\nx: !!python/object/apply:os.system ['echo pwned']\n", 2,
     "tag '!!python/object/apply:os.system'"),
    ("python_name_tag", b"!!python/name:os.system\n", 1, "tag"),
    ("local_tag", b"fields:\n  a: !foo {path: a}\n", 2, "tag '!foo'"),
    ("explicit_str_tag", b"a: !!str 1\n", 1, "tag '!!str'"),
    ("nul_bytes", b"version: 1\nconnections:\x00\x00\n", 2, "NUL"),
    ("random_binary", random_binary(), None, "binary"),
    ("not_utf8", "version: 1\nname: 客户\n".encode("gb18030"), 2, "not UTF-8"),
    ("control_character", b"a: 1\nb: x\x01y\n", 2, "control character"),
    ("deep_flow_nesting", b"a: " + b"[" * 5000 + b"]" * 5000 + b"\n", 1,
     f"more than {MAX_DEPTH} levels"),
    ("deep_block_nesting", b"- " * 5000 + b"x\n", 1, f"more than {MAX_DEPTH} levels"),
    ("too_large", b"a: '" + b"x" * MAX_BYTES + b"'\n", None, "larger than 1 MiB"),
    ("recursive_alias", b"a: &x [1, *x]\n", 1, "inside the node it names"),
    ("undefined_alias", b"a: *nowhere\n", 1, "alias *nowhere"),
]


@pytest.mark.parametrize(("body", "line", "words"), [c[1:] for c in HOSTILE],
                         ids=[c[0] for c in HOSTILE])
def test_load_yaml__hostile_file_is_one_problem_naming_file_and_line(
    tmp_path: Path, body: bytes, line: int | None, words: str
) -> None:
    path = tmp_path / "hostile.yaml"
    path.write_bytes(body)

    with pytest.raises(ConfigFileError) as caught:
        load_yaml(path)

    assert len(caught.value.problems) == 1, str(caught.value)
    problem = caught.value.problems[0]
    assert problem.file == str(path)
    assert words in problem.message, problem.message
    if line is not None:
        assert problem.line == line, str(caught.value)
    assert len(str(caught.value)) < 400 + len(str(path))


def test_load_yaml__small_anchors_and_merges_still_work(tmp_path: Path) -> None:
    path = tmp_path / "ok.yaml"
    path.write_text("base: &base {timeout: 5, retries: 2}\n"
                    "crm: {<<: *base, url: x}\nlist: [*base, *base]\n", encoding="utf-8")

    data = load_yaml(path).data

    assert data["crm"] == {"timeout": 5, "retries": 2, "url": "x"}
    assert data["list"] == [{"timeout": 5, "retries": 2}] * 2


def test_load_yaml__nesting_up_to_the_limit_loads(tmp_path: Path) -> None:
    path = tmp_path / "deep.yaml"
    path.write_text("[" * MAX_DEPTH + "]" * MAX_DEPTH, encoding="utf-8")

    data = load_yaml(path).data

    for _ in range(MAX_DEPTH - 1):
        data = data[0]
    assert data == []


def test_load_yaml__utf8_bom_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "bom.yaml"
    path.write_bytes("\ufeffname: 客户\n".encode())

    assert load_yaml(path).data == {"name": "客户"}


# An unclosed quote: the parser fails far below it; the problem is where the quote opens.
UNCLOSED = [
    ("double_to_end_of_file", 'a: 1\nb: "hello\nc: 1\n' + "d: 2\n" * 30, 2),
    ("double_closed_far_below", 'a: "hello\nb: 1\n' + "c: 2\n" * 30 + 'd: "x"\ne: 3\n', 1),
    ("single_closed_far_below", "a: 1\nb: 'hi\nc: 1\n" + "d: 2\n" * 30 + "e: 'x'\nf: 3\n", 2),
    ("in_a_list", 'x:\n  - "a\n  - b\n' + "  - c\n" * 20 + "y: 1\n", 2),
]


@pytest.mark.parametrize(("text", "line"), [c[1:] for c in UNCLOSED],
                         ids=[c[0] for c in UNCLOSED])
def test_load_yaml__unclosed_quote_is_reported_where_it_opens(
    tmp_path: Path, text: str, line: int
) -> None:
    path = tmp_path / "quote.yaml"
    path.write_text(text, encoding="utf-8")

    with pytest.raises(ConfigFileError) as caught:
        load_yaml(path)

    [problem] = caught.value.problems
    assert problem.line == line, str(caught.value)
    assert "quote" in problem.message


def test_load_yaml__multi_line_quoted_value_is_still_valid(tmp_path: Path) -> None:
    path = tmp_path / "ok.yaml"
    path.write_text('a: "one\n  two"\nb: 1\n', encoding="utf-8")

    assert load_yaml(path).data == {"a": "one two", "b": 1}


def test_load_yaml__a_text_read_again_is_not_parsed_again_and_an_edit_is_seen(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    parses: list[str] = []
    real_load = YAML.load

    def counted(self: YAML, stream: Any) -> Any:
        parses.append(str(stream))
        return real_load(self, stream)

    monkeypatch.setattr(YAML, "load", counted)
    first, second = tmp_path / "a.yaml", tmp_path / "b.yaml"
    text = f"# {tmp_path}\njobs:\n  pull: {{kind: pull, note: \"${{NOTE:-none}}\"}}\n"
    first.write_text(text, encoding="utf-8")
    second.write_text(text, encoding="utf-8")
    one, two = load_yaml(first, interpolate=True), load_yaml(second)
    assert len(parses) == 1  # one text, one parse, whichever file holds it
    assert one.data == {"jobs": {"pull": {"kind": "pull", "note": "none"}}}
    assert two.data == {"jobs": {"pull": {"kind": "pull", "note": "${NOTE:-none}"}}}
    assert (one.path, two.path, one.lines[("jobs", "pull", "note")]) == (first, second, 3)
    first.write_text(text.replace("kind: pull", "kind: enrich"), encoding="utf-8")
    assert load_yaml(first).data["jobs"]["pull"]["kind"] == "enrich"
    assert len(parses) == 2


def test_load_yaml__a_broken_text_is_refused_each_time_naming_its_own_file(
        tmp_path: Path) -> None:
    for name in ("one.yaml", "two.yaml"):
        path = tmp_path / name
        path.write_text("jobs: [unclosed\n", encoding="utf-8")
        with pytest.raises(ConfigFileError) as refused:
            load_yaml(path)
        assert name in str(refused.value)
