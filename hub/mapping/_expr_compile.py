"""The compiler of the expression language: a parsed AST to nested closures over a scope."""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, NamedTuple

from hub.mapping._expr_functions import (
    BUILTIN_FUNCTIONS,
    describe_arity,
    find_arity,
    wrap_call,
)
from hub.mapping._expr_parse import (
    KEYWORDS,
    Call,
    Chain,
    Const,
    ExpressionError,
    IfElse,
    Item,
    ListOf,
    Name,
    Node,
    Operation,
    Unary,
    parse_expression,
    parse_template,
)
from hub.mapping._expr_values import (
    MAX_ITEMS,
    OPERATIONS,
    ORDERINGS,
    EvaluationError,
    Fn,
    Scope,
    concat,
    find_item,
    incomparable,
    negate,
    render,
    too_long,
    truthy,
)

__all__ = ["Compiled", "build_condition", "build_expression", "build_template"]


class Compiled(NamedTuple):
    """What `hub.mapping.expr` wraps: the scope names read and the closure computing the value."""

    names: frozenset[str]
    fn: Fn


def build_expression(source: str, functions: Mapping[str, Callable[..., Any]] | None) -> Compiled:
    """Compile an expression; raises ExpressionError."""
    compiler = _Compiler(source, functions)
    node = parse_expression(source)
    code = compiler.compile(node)
    return Compiled(_names([node]), _returns(code.value) if code.const else code.fn)


def build_condition(source: str, functions: Mapping[str, Callable[..., Any]] | None) -> Compiled:
    """Compile an expression whose closure returns its truthiness; raises ExpressionError."""
    compiler = _Compiler(source, functions)
    node = parse_expression(source)
    code = compiler.compile(node)
    fn = _returns(truthy(code.value)) if code.const else _as_bool(code)
    return Compiled(_names([node]), fn)


def build_template(source: str, functions: Mapping[str, Callable[..., Any]] | None) -> Compiled:
    """Compile a template to a closure rendering text; raises ExpressionError."""
    compiler = _Compiler(source, functions)
    parts = parse_template(source)
    pieces: list[str | Fn] = []
    for part in parts:
        piece = part if isinstance(part, str) else _rendered(compiler.compile(part))
        if isinstance(piece, str) and pieces and isinstance(pieces[-1], str):
            pieces[-1] += piece
        else:
            pieces.append(piece)
    nodes = [part for part in parts if not isinstance(part, str)]
    return Compiled(_names(nodes), _joined(pieces))


@dataclass(frozen=True, slots=True)
class _Code:
    """A compiled node and what is known about it at compile time."""

    fn: Fn
    const: bool = False
    value: Any = None
    boolean: bool = False  # always returns a bool
    name: str | None = None  # a bare scope name
    items: tuple[Any, ...] | None = None  # a list literal of constants


_EMPTY: Scope = MappingProxyType({})


def _returns(value: Any) -> Fn:
    return lambda _scope: value


def _constant(value: Any) -> _Code:
    return _Code(_returns(value), const=True, value=value, boolean=type(value) is bool)


def _folded(code: _Code, *operands: _Code) -> _Code:
    """`code` as a constant when all its operands are (pure operations only). A failure is
    left to happen at run time, as it would without folding (`x and 1 / 0` may never get there)."""
    if not all(operand.const for operand in operands):
        return code
    try:
        value = code.fn(_EMPTY)
    except Exception:
        return code
    return code if isinstance(value, list | dict) else _constant(value)


def _as_bool(code: _Code) -> Fn:
    if code.boolean:
        return code.fn
    if code.name is not None:
        name = code.name
        return lambda s: truthy(s.get(name))
    fn = code.fn
    return lambda s: truthy(fn(s))


def _rendered(code: _Code) -> str | Fn:
    if code.const:
        try:
            return render(code.value)
        except EvaluationError:
            pass  # fails when rendered, as it would without folding
    if code.name is not None:
        name = code.name

        def render_name(scope: Scope) -> str:
            value = scope.get(name)
            return value if type(value) is str else render(value)

        return render_name
    fn = code.fn
    return lambda s: render(fn(s))


def _joined(pieces: list[str | Fn]) -> Fn:
    if not pieces:
        return _returns("")
    if len(pieces) == 1:
        return _returns(pieces[0]) if isinstance(pieces[0], str) else pieces[0]
    fns = tuple(_returns(piece) if isinstance(piece, str) else piece for piece in pieces)

    def join(scope: Scope) -> str:
        text = "".join([fn(scope) for fn in fns])
        if len(text) > MAX_ITEMS:
            raise too_long()
        return text

    return join


class _Compiler:
    def __init__(self, source: str, functions: Mapping[str, Callable[..., Any]] | None) -> None:
        self.source = source
        self.functions: Mapping[str, Callable[..., Any]] = BUILTIN_FUNCTIONS
        if functions:
            self.functions = {**BUILTIN_FUNCTIONS, **self._checked(functions)}

    def error(self, message: str, column: int) -> ExpressionError:
        return ExpressionError(message, column, self.source)

    def _checked(self, functions: Mapping[str, Callable[..., Any]]) -> Mapping[str, Any]:
        for name, function in functions.items():
            if not isinstance(name, str) or not name.isidentifier() or name in KEYWORDS:
                raise self.error(f"function name {name!r} is not a valid name", 0)
            if BUILTIN_FUNCTIONS.get(name, function) is not function:
                raise self.error(f"function '{name}' is built in and cannot be replaced", 0)
            if not callable(function):
                raise self.error(f"function '{name}' is not callable", 0)
        return functions

    def compile(self, node: Node) -> _Code:
        match node:
            case Const(value=value):
                return _constant(value)
            case Name(name=name):
                return _Code(lambda s: s.get(name), name=name)
            case Item():
                return self._item(node)
            case ListOf(items=items):
                codes = [self.compile(item) for item in items]
                if all(code.const for code in codes):
                    constants = tuple(code.value for code in codes)
                    return _Code(lambda _s: list(constants), items=constants)
                fns = tuple(code.fn for code in codes)
                return _Code(lambda s: [fn(s) for fn in fns])
            case Unary(op="not", operand=operand):
                code = self.compile(operand)
                test = _as_bool(code)
                return _folded(_Code(lambda s: not test(s), boolean=True), code)
            case Unary(operand=operand):
                code = self.compile(operand)
                fn = code.fn
                return _folded(_Code(lambda s: negate(fn(s))), code)
            case Chain(op="~", operands=operands):
                codes = [self.compile(operand) for operand in operands]
                fns = tuple(code.fn for code in codes)
                return _folded(_Code(lambda s: concat([fn(s) for fn in fns])), *codes)
            case Chain(op=op, operands=operands):
                codes = [self.compile(operand) for operand in operands]
                logic = _logic(op == "and", [_as_bool(code) for code in codes])
                return _folded(_Code(logic, boolean=True), *codes)
            case IfElse(body=body, test=test_node, orelse=orelse):
                return self._if_else(body, test_node, orelse)
            case Operation(op=op, left=left, right=right):
                return self._operation(op, self.compile(left), self.compile(right))
            case Call():
                return self._call(node)
        raise AssertionError(f"unknown node {node!r}")  # pragma: no cover

    def _item(self, node: Item) -> _Code:
        keys: list[Node] = []
        base: Node = node
        while isinstance(base, Item):
            keys.append(base.key)
            base = base.obj
        codes = [self.compile(key) for key in reversed(keys)]
        if isinstance(base, Name) and all(code.const for code in codes):
            return _Code(_path(base.name, tuple(code.value for code in codes)))
        fn = self.compile(base).fn
        for code in codes:
            fn = _item_of(fn, code)
        return _Code(fn)

    def _if_else(self, body: Node, test: Node, orelse: Node) -> _Code:
        condition = self.compile(test)
        if condition.const:
            return self.compile(body if truthy(condition.value) else orelse)
        yes, no, holds = self.compile(body), self.compile(orelse), _as_bool(condition)
        yes_fn, no_fn = yes.fn, no.fn
        return _Code(lambda s: yes_fn(s) if holds(s) else no_fn(s),
                     boolean=yes.boolean and no.boolean)

    def _operation(self, op: str, left: _Code, right: _Code) -> _Code:
        if op in ("in", "not in") and right.items is not None:
            items, fn = right.items, left.fn
            if op == "in":
                return _folded(_Code(lambda s: fn(s) in items, boolean=True), left)
            return _folded(_Code(lambda s: fn(s) not in items, boolean=True), left)
        if op in ORDERINGS:
            return _folded(_Code(_ordering(op, left, right), boolean=True), left, right)
        if op in ("==", "!="):
            return _folded(_Code(_equality(op == "==", left, right), boolean=True), left, right)
        code = _Code(_binary(OPERATIONS[op], left, right), boolean=op in ("in", "not in"))
        return _folded(code, left, right)

    def _call(self, node: Call) -> _Code:
        function = self.functions.get(node.name)
        kind = "filter" if node.is_filter else "function"
        if function is None:
            close = difflib.get_close_matches(node.name, list(self.functions), n=3)
            hint = ("did you mean " + " or ".join(f"'{name}'" for name in close) + "?" if close
                    else "known: " + ", ".join(sorted(self.functions)))
            raise self.error(f"unknown {kind} '{node.name}' ({hint})", node.column)
        arity, count = find_arity(function), len(node.args)
        if arity is not None and not arity[0] <= count <= (count if arity[1] is None else arity[1]):
            message = f"{node.name}() takes {describe_arity(*arity)}, got {count}"
            if node.is_filter:
                message += " (the filtered value is the first)"
            raise self.error(message, node.column)
        codes = [self.compile(arg) for arg in node.args]
        code = _Code(wrap_call(node.name, function, tuple(code.fn for code in codes)))
        return _folded(code, *codes) if BUILTIN_FUNCTIONS.get(node.name) is function else code


def _path(root: str, keys: tuple[Any, ...]) -> Fn:
    if len(keys) == 1:
        (key,) = keys

        def item(scope: Scope) -> Any:
            value = scope.get(root)
            return value.get(key) if type(value) is dict else find_item(value, key)

        return item

    def path(scope: Scope) -> Any:
        value = scope.get(root)
        for key in keys:
            value = value.get(key) if type(value) is dict else find_item(value, key)
        return value

    return path


def _item_of(fn: Fn, key: _Code) -> Fn:
    if key.const:
        constant = key.value
        return lambda s: find_item(fn(s), constant)
    key_fn = key.fn
    return lambda s: find_item(fn(s), key_fn(s))


def _logic(conjunction: bool, tests: list[Fn]) -> Fn:
    if len(tests) == 2:
        first, second = tests
        if conjunction:
            return lambda s: first(s) and second(s)
        return lambda s: first(s) or second(s)
    if conjunction:
        return lambda s: all(test(s) for test in tests)
    return lambda s: any(test(s) for test in tests)


def _equality(equal: bool, left: _Code, right: _Code) -> Fn:
    left_fn, right_fn = left.fn, right.fn
    if right.const and left.name is not None:
        name, constant = left.name, right.value
        if equal:
            return lambda s: s.get(name) == constant
        return lambda s: s.get(name) != constant
    if equal:
        return lambda s: left_fn(s) == right_fn(s)
    return lambda s: left_fn(s) != right_fn(s)


def _ordering(op: str, left: _Code, right: _Code) -> Fn:
    compare = ORDERINGS[op]
    left_fn, right_fn = left.fn, right.fn
    if right.const and left.name is not None:
        name, constant = left.name, right.value

        def name_to_constant(scope: Scope) -> bool:
            value = scope.get(name)
            try:
                return compare(value, constant)
            except (TypeError, ArithmeticError):
                raise incomparable(op, value, constant) from None

        return name_to_constant

    def ordered(scope: Scope) -> bool:
        first, second = left_fn(scope), right_fn(scope)
        try:
            return compare(first, second)
        except (TypeError, ArithmeticError):
            raise incomparable(op, first, second) from None

    return ordered


def _binary(operation: Callable[[Any, Any], Any], left: _Code, right: _Code) -> Fn:
    left_fn, right_fn = left.fn, right.fn
    if right.const:
        constant = right.value
        if left.name is not None:
            name = left.name
            return lambda s: operation(s.get(name), constant)
        return lambda s: operation(left_fn(s), constant)
    if left.const:
        first = left.value
        return lambda s: operation(first, right_fn(s))
    return lambda s: operation(left_fn(s), right_fn(s))


def _names(nodes: list[Node]) -> frozenset[str]:
    found: set[str] = set()
    stack = list(nodes)
    while stack:
        match stack.pop():
            case Name(name=name):
                found.add(name)
            case Item(obj=obj, key=key):
                stack += (obj, key)
            case ListOf(items=children) | Chain(operands=children) | Call(args=children):
                stack += children
            case Unary(operand=operand):
                stack.append(operand)
            case Operation(left=left, right=right):
                stack += (left, right)
            case IfElse(body=body, test=test, orelse=orelse):
                stack += (body, test, orelse)
    return frozenset(found)
