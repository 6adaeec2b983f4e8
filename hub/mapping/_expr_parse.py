"""Tokenizer and parser of the mapping expression language: source text to a small AST.

The grammar is summarised in `hub.mapping.expr`. Nothing here evaluates anything: the parser is
a hand-written Pratt parser over a hand-written tokenizer, and every error it raises is an
`ExpressionError` carrying the 0-based column of the offending text.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, NamedTuple

from hub.mapping.errors import short_repr

__all__ = [
    "KEYWORDS", "MAX_DEPTH", "MAX_SOURCE", "Call", "Chain", "Const", "ExpressionError", "IfElse",
    "Item", "ListOf", "Name", "Node", "Operation", "Unary", "parse_expression", "parse_template",
]

MAX_SOURCE = 2_000
MAX_DEPTH = 50


class ExpressionError(ValueError):
    """An expression or template that does not compile.

    Attributes:
        message: What is wrong, without the position.
        column: 0-based offset of the offending text in `source` (the whole template source for
            a template).
        source: The text that was compiled.
    """

    def __init__(self, message: str, column: int, source: str) -> None:
        super().__init__(message, column, source)
        self.message = message
        self.column = column
        self.source = source

    def __str__(self) -> str:
        return f"{self.message} (column {self.column})"


# ---------------------------------------------------------------------------------- the AST
# Every node knows its column (for errors) and its depth (leaves are 0), which the parser keeps
# at most MAX_DEPTH so that compiling and evaluating never recurse deeply.


@dataclass(frozen=True, slots=True)
class Const:
    value: Any
    column: int
    depth: int = 0


@dataclass(frozen=True, slots=True)
class Name:
    name: str
    column: int
    depth: int = 0


@dataclass(frozen=True, slots=True)
class Item:
    """`obj.key` or `obj[key]`."""

    obj: Node
    key: Node
    column: int
    depth: int


@dataclass(frozen=True, slots=True)
class ListOf:
    items: tuple[Node, ...]
    column: int
    depth: int


@dataclass(frozen=True, slots=True)
class Unary:
    op: str  # "not" or "-"
    operand: Node
    column: int
    depth: int


@dataclass(frozen=True, slots=True)
class Operation:
    """A binary operator: comparisons, `in`, `not in`, `+ - * / %`."""

    op: str
    left: Node
    right: Node
    column: int
    depth: int


@dataclass(frozen=True, slots=True)
class Chain:
    """`a and b and …`, `a or b or …`, `a ~ b ~ …`, flattened."""

    op: str
    operands: tuple[Node, ...]
    column: int
    depth: int


@dataclass(frozen=True, slots=True)
class IfElse:
    body: Node
    test: Node
    orelse: Node
    column: int
    depth: int


@dataclass(frozen=True, slots=True)
class Call:
    """`name(args)`, or `args[0] | name(args[1:])` when `is_filter`."""

    name: str
    args: tuple[Node, ...]
    column: int
    depth: int
    is_filter: bool


Node = Const | Name | Item | ListOf | Unary | Operation | Chain | IfElse | Call

# ---------------------------------------------------------------------------- the tokenizer

KEYWORDS = frozenset({"and", "or", "not", "in", "if", "else"})
_CONSTANTS: dict[str, Any] = {
    "true": True, "True": True, "false": False, "False": False, "null": None, "None": None,
}
_ESCAPES = {"\\": "\\", "'": "'", '"': '"', "n": "\n", "t": "\t"}
_OPERATORS_2 = frozenset({"==", "!=", "<=", ">=", "}}"})
_OPERATORS_1 = frozenset("()[],.|~+-*/%<>")
_HINTS = {
    "**": "there is no power operator", "&&": "use 'and'", "||": "use 'or'", "=": "use '=='",
    "!": "use 'not'", "&": "use 'and'", "{": "there are no object literals",
    "\u201c": "quote text with ' or \"", "\u201d": "quote text with ' or \"",
    "\u2018": "quote text with ' or \"", "\u2019": "quote text with ' or \"",
}


class Token(NamedTuple):
    kind: str  # "num", "str", "name", "const", "op" (operators and keywords), "end"
    value: Any
    column: int
    text: str


def _describe(token: Token) -> str:
    if token.kind == "end":
        return "'}}'" if token.text else "the end of the expression"
    if token.kind == "str":
        return f"text {short_repr(token.value)}"
    if token.kind == "name":
        return f"name '{token.value}'"
    return f"'{token.text}'"


def _tokenize(source: str, start: int = 0, opener: int | None = None) -> tuple[list[Token], int]:
    """Tokens from `start` to the end, or, inside a template block (`opener` is the column of
    its `{{`), to the first `}}` outside a string; also returns where scanning stopped."""
    tokens: list[Token] = []
    i, n = start, len(source)
    while True:
        while i < n and source[i].isspace():
            i += 1
        if i >= n:
            if opener is not None:
                raise ExpressionError("'{{' is never closed with '}}'", opener, source)
            tokens.append(Token("end", None, i, ""))
            return tokens, i
        char = source[i]
        if char in "'\"":
            value, end = _string(source, i)
            tokens.append(Token("str", value, i, source[i:end]))
            i = end
        elif "0" <= char <= "9":
            end = i + 1
            while end < n and "0" <= source[end] <= "9":
                end += 1
            if end + 1 < n and source[end] == "." and "0" <= source[end + 1] <= "9":
                end += 2
                while end < n and "0" <= source[end] <= "9":
                    end += 1
                tokens.append(Token("num", Decimal(source[i:end]), i, source[i:end]))
            else:
                tokens.append(Token("num", int(source[i:end]), i, source[i:end]))
            i = end
        elif char.isidentifier():
            end = i + 1
            while end < n and ("a" + source[end]).isidentifier():
                end += 1
            word = source[i:end]
            if word in _CONSTANTS:
                tokens.append(Token("const", _CONSTANTS[word], i, word))
            else:
                tokens.append(Token("op" if word in KEYWORDS else "name", word, i, word))
            i = end
        elif source[i : i + 2] in _OPERATORS_2:
            pair = source[i : i + 2]
            if pair == "}}" and opener is not None:
                tokens.append(Token("end", None, i, pair))
                return tokens, i + 2
            if pair == "}}":
                raise ExpressionError("unexpected '}}' outside a template block", i, source)
            tokens.append(Token("op", pair, i, pair))
            i += 2
        elif source[i : i + 2] in ("**", "&&", "||"):
            pair = source[i : i + 2]
            raise ExpressionError(f"unexpected '{pair}' ({_HINTS[pair]})", i, source)
        elif char in _OPERATORS_1:
            tokens.append(Token("op", char, i, char))
            i += 1
        else:
            raise ExpressionError(_unexpected_character(char), i, source)


def _unexpected_character(char: str) -> str:
    hint = _HINTS.get(char)
    ascii_form = unicodedata.normalize("NFKC", char)
    if hint is None and ascii_form != char and ascii_form.isascii():
        hint = f"a full-width character; use '{ascii_form}'"
    return f"unexpected character {char!r}" + (f" ({hint})" if hint else "")


def _string(source: str, start: int) -> tuple[str, int]:
    quote, i = source[start], start + 1
    parts: list[str] = []
    while i < len(source):
        char = source[i]
        if char == quote:
            return "".join(parts), i + 1
        if char == "\\" and i + 1 < len(source):
            escaped = _ESCAPES.get(source[i + 1])
            if escaped is None:
                message = f"unknown escape '\\{source[i + 1]}' (write \\\\ for a backslash)"
                raise ExpressionError(message, i, source)
            parts.append(escaped)
            i += 2
        else:
            parts.append(char)
            i += 1
    raise ExpressionError(f"unterminated string: no closing {quote}", start, source)


# ------------------------------------------------------------------------------- the parser

_TERNARY, _OR, _AND, _NOT, _COMPARE, _CONCAT, _ADD, _MULTIPLY, _NEGATE, _FILTER = range(1, 11)
_INFIX = {
    "or": _OR, "and": _AND, "==": _COMPARE, "!=": _COMPARE, "<": _COMPARE, "<=": _COMPARE,
    ">": _COMPARE, ">=": _COMPARE, "in": _COMPARE, "not": _COMPARE, "~": _CONCAT, "+": _ADD,
    "-": _ADD, "*": _MULTIPLY, "/": _MULTIPLY, "%": _MULTIPLY, "|": _FILTER, ".": _FILTER + 1,
    "[": _FILTER + 1, "(": _FILTER + 1, "if": _TERNARY,
}
_CHAINS = frozenset({"and", "or", "~"})


class _Parser:
    def __init__(self, source: str, tokens: list[Token]) -> None:
        self.source = source
        self.tokens = tokens
        self.pos = 0
        self.level = 0

    def error(self, message: str, column: int) -> ExpressionError:
        return ExpressionError(message, column, self.source)

    def next(self) -> Token:
        token = self.tokens[self.pos]
        if token.kind != "end":
            self.pos += 1
        return token

    def at(self, value: str) -> bool:
        token = self.tokens[self.pos]
        return token.kind == "op" and token.value == value

    def expect(self, value: str, opener: Token) -> None:
        token = self.next()
        if token.kind == "op" and token.value == value:
            return
        if token.kind == "end" and opener.value in ("(", "["):
            raise self.error(f"'{opener.value}' is never closed", opener.column)
        raise self.error(f"expected '{value}', found {_describe(token)}", token.column)

    def depth(self, column: int, *children: Node) -> int:
        depth = 1 + max((child.depth for child in children), default=0)
        if depth > MAX_DEPTH:
            raise self.error(f"nested more than {MAX_DEPTH} levels deep", column)
        return depth

    def parse(self) -> Node:
        node = self.expression(0)
        token = self.tokens[self.pos]
        if token.kind != "end":
            expected = "'}}'" if self.tokens[-1].text else "the end of the expression"
            raise self.error(f"expected {expected}, found {_describe(token)}", token.column)
        return node

    def expression(self, power: int) -> Node:
        """The longest expression whose operators all bind tighter than `power`."""
        self.level += 1
        if self.level > MAX_DEPTH + 1:
            raise self.error(f"nested more than {MAX_DEPTH} levels deep",
                             self.tokens[self.pos].column)
        left = self.prefix()
        compared = False
        while True:
            token = self.tokens[self.pos]
            if token.kind != "op" or _INFIX.get(token.value, 0) <= power:
                break
            comparison = _INFIX[token.value] == _COMPARE
            if compared and comparison:
                raise self.error("comparisons cannot be chained; join them with 'and'",
                                 token.column)
            compared = comparison
            left = self.infix(left, self.next())
        self.level -= 1
        return left

    def prefix(self) -> Node:
        token = self.next()
        kind, value, column = token.kind, token.value, token.column
        if kind in ("num", "str", "const"):
            return Const(value, column)
        if kind == "name":
            if self.at("("):
                args = self.arguments(self.next())
                return Call(value, args, column, self.depth(column, *args), False)
            return Name(value, column)
        if kind == "op" and value == "(":
            node = self.expression(0)
            self.expect(")", token)
            return node
        if kind == "op" and value == "[":
            items = self.sequence(token, "]")
            return ListOf(items, column, self.depth(column, *items))
        if kind == "op" and value in ("not", "-"):
            operand = self.expression(_NOT if value == "not" else _NEGATE)
            return Unary(value, operand, column, self.depth(column, operand))
        if kind == "end" and self.pos == 0:
            raise self.error("empty expression", column)
        raise self.error(f"expected a value, found {_describe(token)}", column)

    def infix(self, left: Node, token: Token) -> Node:
        op, column = token.value, token.column
        if op == "if":
            test = self.expression(_TERNARY)
            self.expect("else", token)
            orelse = self.expression(0)
            return IfElse(left, test, orelse, column, self.depth(column, left, test, orelse))
        if op == ".":
            key = self.next()
            if key.kind not in ("name", "op", "const") or not key.text.isidentifier():
                raise self.error(f"expected a name after '.', found {_describe(key)}", key.column)
            return Item(left, Const(key.text, key.column), column, self.depth(column, left))
        if op == "[":
            key_node = self.expression(0)
            self.expect("]", token)
            return Item(left, key_node, column, self.depth(column, left, key_node))
        if op == "(":
            raise self.error("only functions can be called", column)
        if op == "|":
            name = self.next()
            if name.kind != "name":
                raise self.error(f"expected a filter name after '|', found {_describe(name)}",
                                 name.column)
            args = (left, *self.arguments(self.next())) if self.at("(") else (left,)
            return Call(name.value, args, name.column, self.depth(column, *args), True)
        if op == "not":
            after = self.next()
            if after.kind != "op" or after.value != "in":
                raise self.error(f"expected 'in' after 'not', found {_describe(after)}",
                                 after.column)
            op = "not in"
        right = self.expression(_INFIX[token.value])
        if op in _CHAINS:
            chained = left.operands if isinstance(left, Chain) and left.op == op else (left,)
            operands = (*chained, right)
            return Chain(op, operands, left.column, self.depth(column, *operands))
        return Operation(op, left, right, column, self.depth(column, left, right))

    def arguments(self, opener: Token) -> tuple[Node, ...]:
        return self.sequence(opener, ")")

    def sequence(self, opener: Token, closer: str) -> tuple[Node, ...]:
        items: list[Node] = []
        while not self.at(closer):
            items.append(self.expression(0))
            if not self.at(","):
                break
            self.next()
        self.expect(closer, opener)
        return tuple(items)


def _check_length(source: str) -> None:
    if len(source) > MAX_SOURCE:
        raise ExpressionError(f"longer than {MAX_SOURCE:,} characters", MAX_SOURCE, source)


def parse_expression(source: str) -> Node:
    """The AST of an expression; raises ExpressionError."""
    _check_length(source)
    tokens, _ = _tokenize(source)
    return _Parser(source, tokens).parse()


def parse_template(source: str) -> list[str | Node]:
    """Literal text and the AST of each `{{ … }}` block, in order; raises ExpressionError."""
    _check_length(source)
    parts: list[str | Node] = []
    position = 0
    while (opener := source.find("{{", position)) >= 0:
        if opener > position:
            parts.append(source[position:opener])
        tokens, position = _tokenize(source, opener + 2, opener)
        parts.append(_Parser(source, tokens).parse())
    if position < len(source):
        parts.append(source[position:])
    return parts
