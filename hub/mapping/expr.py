"""The sandboxed expression and template language of mapping files (never Python `eval`).

Admins write expressions for computed fields, `when:` guards and row filters::

    full_name: {template: "{{ last_name }}{{ first_name }}"}
    priority:  {expr: "'high' if '紧急' in title or tier == 'vip' else 'normal'"}
    refund:    {path: amount, type: decimal, when: "status == '已解决' and amount > 0"}
    filter: "not deleted and contact.mobile != null"

Grammar, loosest-binding first::

    expr    := or ["if" or "else" expr]            x if c else y
    or      := and ("or" and)*                     a bool: did any operand hold?
    and     := not ("and" not)*                    a bool: did every operand hold?
    not     := "not" not | compare
    compare := concat [("==" | "!=" | "<" | "<=" | ">" | ">=" | "in" | "not" "in") concat]
    concat  := sum ("~" sum)*                      text join; both sides rendered as in templates
    sum     := product (("+" | "-") product)*      numbers; `+` also joins two texts or two lists
    product := unary (("*" | "/" | "%") unary)*    numbers only
    unary   := "-" unary | filtered
    filtered:= postfix ("|" NAME ["(" args ")"])*  value | f(a, b) calls f(value, a, b)
    postfix := primary ("." NAME | "[" expr "]")*  object keys, list indexes (-1 is the last)
    primary := NUMBER | STRING | true | false | null | NAME | NAME "(" args ")"
             | "[" args "]" | "(" expr ")"

- Literals: 'text' or "text" (escapes \\\\ \\' \\" \\n \\t), 12, 12.50 (a Decimal: exact money),
  true/false/null (also True/False/None), [a, b].
- Names (Chinese ones too) read the scope; a missing name is null, never an error. `a.b`,
  `a['键']`, `a[0]` read object keys and list items only, never Python attributes; reading
  from null, a missing key, an index out of range or anything else gives null.
- Truthiness: null, false, 0, blank text and empty lists or objects are false.
- Comparisons: `==` and `!=` take anything; ordering needs two numbers, two texts, two dates…
  `x in y` is a substring test on text, membership in a list, a key test on an object, and
  false on null. Comparisons cannot be chained (`a < b < c`).
- Numbers: an int mixed with a Decimal gives a Decimal, and so does `/` between two ints; a
  float mixed with a Decimal is read as the Decimal it prints as. No `**`, no `*` on text.
- Functions (`BUILTIN_FUNCTIONS`, plus those a caller passes) take the value first, so each
  works as a call or a filter: `upper(name)` is `name | upper`. Given null they return null,
  except `len` (0), `coalesce`/`default`, `contains`/`startswith`/`endswith` (false). Built in:
  len lower upper strip str int decimal round(x, digits=0) abs min max coalesce(a, b, …)
  default(v, d) contains(text_or_list, x) startswith endswith replace(s, old, new)
  join(list, sep=',') split(s, sep) substr(s, start, end=null). `int` and `decimal` read
  text as mapping fields do ('¥1,234.50', full-width digits); `round` rounds half up (四舍五入);
  `coalesce` and `default` skip null and blank text; `min`, `max` and `join` skip nulls.
- Templates are text with `{{ expr }}` blocks; null renders as '', booleans as true/false,
  Decimals in plain notation, dates in ISO format, lists joined by ', ', objects as JSON. A
  literal `{{` is written `{{ '{{' }}`.
- Limits: sources of at most 2,000 characters nested at most 50 levels; text and lists built
  by `+`, `~`, templates and functions hold at most 100,000 items.

Errors: `ExpressionError` (a ValueError) when compiling, with the 0-based `column` of the
problem; `EvaluationError` (a ValueError) when evaluating, and nothing else ever escapes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from hub.mapping._expr_compile import build_condition, build_expression, build_template
from hub.mapping._expr_functions import BUILTIN_FUNCTIONS
from hub.mapping._expr_parse import ExpressionError
from hub.mapping._expr_values import EvaluationError, Fn, Scope

__all__ = [
    "BUILTIN_FUNCTIONS", "EvaluationError", "Expression", "ExpressionError", "Template",
    "compile_condition", "compile_expression", "compile_template",
]

# both errors are raised by private modules but belong to this public one (reprs, pickling)
ExpressionError.__module__ = EvaluationError.__module__ = __name__


class Expression:
    """A compiled expression: call it with a scope (a mapping of names to values).

    Attributes:
        source: The text it was compiled from.
        names: The scope names it reads (the roots of `a.b` paths), for `hub mappings explain`.
    """

    __slots__ = ("_fn", "names", "source")

    def __init__(self, source: str, names: frozenset[str], fn: Fn) -> None:
        self.source = source
        self.names = names
        self._fn = fn

    def __call__(self, scope: Scope) -> Any:
        """The value for `scope`; raises EvaluationError and nothing else."""
        try:
            return self._fn(scope)
        except EvaluationError:
            raise
        except Exception as exc:  # the contract: nothing but EvaluationError escapes
            raise EvaluationError(f"evaluation failed ({type(exc).__name__})") from None

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.source!r})"


class Template(Expression):
    """A compiled template; calling it renders text."""

    __slots__ = ()

    def __call__(self, scope: Scope) -> str:
        text: str = super().__call__(scope)
        return text


def compile_expression(
    source: str, *, functions: Mapping[str, Callable[..., Any]] | None = None
) -> Expression:
    """Compile an expression such as `amount * 2` or `name | upper`.

    Args:
        source: The expression (at most 2,000 characters).
        functions: Extra functions, callable as `f(x)` or as filters `x | f`; they may not
            replace a built-in one.

    Raises:
        ExpressionError: The text is not a valid expression; `.column` says where.
    """
    return Expression(source, *build_expression(source, functions))


def compile_condition(
    source: str, *, functions: Mapping[str, Callable[..., Any]] | None = None
) -> Expression:
    """Compile an expression read as true or false (`when:` guards, row `filter:`s).

    Same arguments and errors as `compile_expression`; calling the result gives a bool.
    """
    return Expression(source, *build_condition(source, functions))


def compile_template(
    source: str, *, functions: Mapping[str, Callable[..., Any]] | None = None
) -> Template:
    """Compile a template: text with `{{ expr }}` blocks, e.g. `{{ last_name }}{{ first_name }}`.

    Same arguments and errors as `compile_expression`; columns count from the start of the
    whole template.
    """
    return Template(source, *build_template(source, functions))
