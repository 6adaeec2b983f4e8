"""Named transforms: small, parameterised value → value steps that admins list in a mapping.

    fields:
      name: {path: 客户名称, transforms: [strip, halfwidth, {truncate: {length: 20, suffix: …}}]}
      tags: {path: 标签, type: list, transforms: [{split: '、'}, unique]}
      note: {path: 备注, transforms: [{regex_replace: {pattern: '\\s+', replacement: ' '}}]}

A transform is looked up by name in a `TransformRegistry` and built once, from its arguments,
into a step (`Callable[[Any], Any]`). The arguments written in YAML bind to the factory's
parameters like this:

    strip                           no arguments   strip()
    {truncate: 20}                  a scalar       truncate(20)
    {replace: ['－', '-']}          a list         replace('－', '-')        (positional)
    {truncate: {length: 20}}        a mapping      truncate(length=20)      (keywords)

(A list given to a factory whose first parameter is itself a list is that one argument.)

Every step passes None through: a missing value stays missing. A text step given a list applies
to each item, and given a number, to its text (`13812345678` → `'13812345678'`).

The built-ins:

    strip, lower, upper, title           as Python's str methods; Chinese text is unchanged
    halfwidth                            full-width to half-width: `ＯＤ－１２，急！` → `OD-12,急!`
    collapse_spaces                      whitespace runs (U+3000 too) → one space, ends stripped
    digits                               only the digits: `+86 138-1234-5678` → `8613812345678`
    replace(old, new)                    every `old` → `new`
    regex_extract(pattern, group=1)      that group of the first match; None if none matches
    regex_replace(pattern, replacement)  every match → replacement (`\\1` for a group)
    split(sep=None)                      text → list, items trimmed, empty ones dropped; no sep
                                         splits on , ， 、 ; ；; a list is split item by item
    join(sep=',')                        list → text, missing items left out
    truncate(length, suffix='')          at most `length` characters, the suffix included
    prefix(text), suffix(text)           text added before / after
    zfill(width)                         zeros added on the left up to `width`: `42` → `000042`
    first, last, unique                  on a list (unique keeps the order); a value passes
    mobile                               the 11-digit mobile number, or an error
    mask(keep_start=3, keep_end=4, char='*')
                                         `138****5678`; text too short to keep both ends keeps
                                         its first character: `张*`, `王**`
    mask_email                           `z***@example.com`
    mask_id                              `110101********123X` (18 characters or 15 digits)
    hash(salt='', algorithm='sha256')    hex HMAC keyed by the salt (sha256, sha512, blake2b);
                                         set a salt: unsalted mobile numbers are easy to undo

Writing one (a plugin): a factory is a plain function whose parameters are the transform's
arguments and which returns the step. Annotate the parameters: int, float, str, bool, list[str]
and `X | None` are checked before the factory runs. Check argument values in the factory and
raise ValueError; a step raises ValueError for a value it cannot handle. Publish the factory in
the `hub.mapping.transforms` entry-point group; the entry point's name is the transform's name,
and it may not be a built-in's:

    [project.entry-points."hub.mapping.transforms"]
    pinyin = "hub_pinyin:pinyin"

Errors, all ValueError so a spec reports them like any other mistake:

    TransformArgsError           bad arguments; the message shows the signature
    UnknownTransformError        no such name; the message suggests one and lists the known names
    TransformRegistrationError   a name registered twice, or a plugin that fails to load
"""

from __future__ import annotations

import difflib
import functools
import inspect
import types
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, Self, Union, get_args, get_origin

from hub.mapping._transform_builtins import BUILTINS
from hub.mapping.masking import mask_value
from hub.mapping.steps import Step, TransformFactory

__all__ = [
    "ENTRY_POINT_GROUP", "Step", "TransformArgsError", "TransformEntryPoint", "TransformFactory",
    "TransformRegistrationError", "TransformRegistry", "UnknownTransformError",
    "default_registry", "mask_value",
]

ENTRY_POINT_GROUP = "hub.mapping.transforms"

class TransformArgsError(ValueError):
    """A transform's arguments do not fit its factory, or are invalid (a negative length)."""


class UnknownTransformError(ValueError):
    """No transform is registered under the name asked for."""


class TransformRegistrationError(ValueError):
    """A transform name is taken, is not an identifier, or a plugin failed to load."""


# ---------------------------------------------------------------- binding YAML arguments

_NO_DEFAULT = inspect.Parameter.empty
_POSITIONAL = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
_NAMED = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
_VARIADIC = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)


def _fits(annotation: Any, value: Any) -> bool:
    """Whether `value` fits a simple annotation; annotations not understood always fit."""
    if annotation is type(None):
        return value is None
    if annotation is bool:
        return isinstance(value, bool)
    if annotation is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if annotation is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if annotation is str:
        return isinstance(value, str)
    if annotation is list:
        return isinstance(value, list)
    origin = get_origin(annotation)
    if origin is list:
        (item,) = get_args(annotation)
        return isinstance(value, list) and all(_fits(item, entry) for entry in value)
    if origin is Union or origin is types.UnionType:
        return any(_fits(option, value) for option in get_args(annotation))
    return True


def _kind(value: Any) -> str:
    """The YAML-ish type of an argument, never its value (a salt is a secret)."""
    if value is None:
        return "null"
    if isinstance(value, list) and value:
        return f"list[{' | '.join(sorted({_kind(item) for item in value}))}]"
    return type(value).__name__


@dataclass(frozen=True, slots=True)
class _Transform:
    name: str
    factory: TransformFactory
    signature: inspect.Signature
    origin: str  # "built-in" or "distribution 'x'"

    def describe(self) -> str:
        return f"{self.name}({', '.join(map(str, self.signature.parameters.values()))})"

    def fail(self, problem: str) -> TransformArgsError:
        return TransformArgsError(f"{self.describe()} — {problem}")

    def bind(self, args: Any) -> inspect.BoundArguments:
        parameters = list(self.signature.parameters.values())
        positional: tuple[Any, ...] = ()
        keywords: dict[str, Any] = {}
        if isinstance(args, Mapping):
            keywords = {str(key): value for key, value in args.items()}
        elif isinstance(args, list | tuple):
            first = parameters[0].annotation if parameters else None
            takes_list = get_origin(first) is list or first is list
            positional = (list(args),) if takes_list else tuple(args)
        elif args is not None:
            positional = (args,)
        named = {p.name for p in parameters if p.kind in _NAMED}
        for key in keywords:
            if key not in named and not any(
                p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters
            ):
                close = difflib.get_close_matches(key, named, n=1)
                hint = f" (did you mean '{close[0]}'?)" if close else ""
                raise self.fail(f"unknown argument '{key}'{hint}")
        try:
            bound = self.signature.bind(*positional, **keywords)
        except TypeError as exc:
            raise self.fail(self._binding_problem(parameters, positional, keywords, exc)) from None
        for name, value in bound.arguments.items():
            parameter = self.signature.parameters[name]
            if parameter.kind not in _VARIADIC and not _fits(parameter.annotation, value):
                expected = inspect.formatannotation(parameter.annotation)
                raise self.fail(f"argument '{name}' must be {expected}, got {_kind(value)}")
        return bound

    @staticmethod
    def _binding_problem(parameters: list[inspect.Parameter], positional: tuple[Any, ...],
                         keywords: dict[str, Any], exc: TypeError) -> str:
        slots = [p for p in parameters if p.kind in _POSITIONAL]
        if len(positional) > len(slots) and all(p.kind not in _VARIADIC for p in parameters):
            if not slots:
                return f"takes no arguments, got {len(positional)}"
            return f"takes at most {len(slots)} argument(s), got {len(positional)}"
        given = {p.name for p in slots[: len(positional)]} | set(keywords)
        for parameter in parameters:
            if (parameter.default is _NO_DEFAULT and parameter.kind not in _VARIADIC
                    and parameter.name not in given):
                return f"missing argument '{parameter.name}'"
        return str(exc)


def _signature(name: str, factory: TransformFactory) -> inspect.Signature:
    try:
        return inspect.signature(factory, eval_str=True)
    except (NameError, TypeError, SyntaxError):  # annotations that do not evaluate: unchecked
        pass
    try:
        return inspect.signature(factory)
    except (TypeError, ValueError):
        raise TransformRegistrationError(
            f"transform '{name}': cannot read the parameters of {factory!r}"
        ) from None


class TransformRegistry:
    """Transform factories by name; `build` turns a name and its YAML arguments into a step."""

    def __init__(self) -> None:
        self._transforms: dict[str, _Transform] = {}

    def register(self, name: str, factory: TransformFactory, *,
                 origin: str = "a register() call") -> None:
        """Add `factory` under `name`.

        Args:
            name: The name admins write, an identifier such as `mask_phone`.
            factory: A function whose parameters are the transform's arguments, returning
                the step.
            origin: Where it comes from, for messages (`distribution 'hub-pinyin'`).

        Raises:
            TransformRegistrationError: The name is not an identifier or is taken, or the
                factory is not callable.
        """
        if not name.isidentifier():
            raise TransformRegistrationError(f"transform name {name!r} is not an identifier")
        if not callable(factory):
            raise TransformRegistrationError(f"transform '{name}' is not callable: {factory!r}")
        existing = self._transforms.get(name)
        if existing is not None:
            raise TransformRegistrationError(
                f"transform '{name}' from {origin} clashes with the {existing.origin} "
                f"transform of that name"
            )
        self._transforms[name] = _Transform(name, factory, _signature(name, factory), origin)

    def names(self) -> list[str]:
        """Every registered name, sorted."""
        return sorted(self._transforms)

    def __contains__(self, name: object) -> bool:
        return name in self._transforms

    def get(self, name: str) -> TransformFactory:
        """The factory registered under `name`.

        Raises:
            UnknownTransformError: No such name; the message suggests the closest one and
                lists every known name.
        """
        return self._lookup(name).factory

    def signature(self, name: str) -> str:
        """How to call a transform, e.g. `truncate(length: int, suffix: str = '')`."""
        return self._lookup(name).describe()

    def build(self, name: str, args: Any = None) -> Step:
        """The step for transform `name` with `args` as written in YAML (see the module doc).

        Raises:
            UnknownTransformError: No such name.
            TransformArgsError: The arguments do not fit the signature or are invalid; the
                message shows the signature.
        """
        transform = self._lookup(name)
        bound = transform.bind(args)
        try:
            step = transform.factory(*bound.args, **bound.kwargs)
        except TransformArgsError:
            raise
        except ValueError as exc:
            raise transform.fail(str(exc)) from None
        if not callable(step):
            raise TypeError(
                f"transform '{name}' ({transform.origin}) returned {type(step).__name__}, "
                f"not a step function"
            )
        return step

    def copy(self) -> Self:
        """A new registry with the same transforms, to register more without touching this."""
        other = type(self)()
        other._transforms = dict(self._transforms)
        return other

    def _lookup(self, name: str) -> _Transform:
        transform = self._transforms.get(name)
        if transform is not None:
            return transform
        close = difflib.get_close_matches(name, self._transforms, n=1)
        if close:
            raise UnknownTransformError(f"unknown transform '{name}' (did you mean "
                                        f"'{close[0]}'?)")
        known = ", ".join(self.names()) or "none"
        raise UnknownTransformError(f"unknown transform '{name}'; known: {known}")

    def __repr__(self) -> str:
        return f"TransformRegistry({len(self._transforms)} transforms)"


# ---------------------------------------------------------------- plugins

class _Distribution(Protocol):
    @property
    def name(self) -> str: ...


class TransformEntryPoint(Protocol):
    """What `default_registry` reads from an entry point (an `importlib.metadata.EntryPoint`)."""

    @property
    def name(self) -> str: ...

    @property
    def dist(self) -> _Distribution | None: ...

    def load(self) -> Any: ...


def _add_plugins(registry: TransformRegistry, points: Iterable[TransformEntryPoint]) -> None:
    for point in points:
        origin = f"distribution '{point.dist.name}'" if point.dist else "an unknown distribution"
        if point.name in BUILTINS:
            raise TransformRegistrationError(
                f"transform plugin '{point.name}' from {origin} would replace the built-in "
                f"transform '{point.name}'; rename it"
            )
        try:
            factory = point.load()
        except Exception as exc:  # any import failure: say which plugin it was
            raise TransformRegistrationError(
                f"transform plugin '{point.name}' from {origin} failed to load: "
                f"{type(exc).__name__}: {exc}"
            ) from exc
        registry.register(point.name, factory, origin=origin)


def _builtin_registry() -> TransformRegistry:
    registry = TransformRegistry()
    for name, factory in BUILTINS.items():
        registry.register(name, factory, origin="built-in")
    return registry


@functools.cache
def _installed_registry() -> TransformRegistry:
    from importlib.metadata import entry_points

    registry = _builtin_registry()
    _add_plugins(registry, entry_points(group=ENTRY_POINT_GROUP))
    return registry


def default_registry(
    *, entry_points: Iterable[TransformEntryPoint] | None = None
) -> TransformRegistry:
    """The built-in transforms plus the plugins of the `hub.mapping.transforms` group.

    Installed plugins are discovered once per process, and that registry is shared: `copy()`
    it before registering more. With `entry_points` (tests), a new registry is built from
    those instead of the installed ones.

    Raises:
        TransformRegistrationError: A plugin fails to load, or its name is a built-in's or
            another plugin's; the message names the distribution.
    """
    if entry_points is None:
        return _installed_registry()
    registry = _builtin_registry()
    _add_plugins(registry, entry_points)
    return registry
