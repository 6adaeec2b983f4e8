"""How a mapping produces one field, step by step, in words (`hub mappings explain`)."""

from __future__ import annotations

from difflib import get_close_matches

from hub.mapping.spec import FieldSpec, MappingSpec, transform_parts

__all__ = ["explain_field", "field_paths"]


def field_paths(fields: dict[str, FieldSpec], prefix: str = "") -> list[str]:
    """Every output field, nested ones as `lines.qty`."""
    paths: list[str] = []
    for name, spec in fields.items():
        paths.append(prefix + name)
        if spec.fields:
            paths += field_paths(spec.fields, f"{prefix}{name}.")
    return paths


def _find(spec: MappingSpec, path: str) -> tuple[FieldSpec, list[str]]:
    """The field at `path` and the names of the nested lists it sits in."""
    fields, parents = spec.fields, list[str]()
    remaining = path
    while True:
        if remaining in fields:
            return fields[remaining], parents
        # The longest field name that prefixes the rest (names themselves may contain dots).
        heads = [name for name in fields if remaining.startswith(name + ".")
                 and fields[name].fields]
        if not heads:
            break
        head = max(heads, key=len)
        parents.append(head)
        nested = fields[head].fields
        assert nested is not None
        fields, remaining = nested, remaining[len(head) + 1 :]
    known = field_paths(spec.fields)
    close = get_close_matches(path, known, n=1)
    hint = f" (did you mean '{close[0]}'?)" if close else f"; fields: {', '.join(known)}"
    raise KeyError(f"no field '{path}'{hint}")


def explain_field(spec: MappingSpec, path: str) -> list[str]:
    """The steps that produce output field `path`, in order, one line each.

    Raises KeyError (with a did-you-mean) for an unknown field.
    """
    field, parents = _find(spec, path)
    steps: list[str] = []
    if parents:
        steps.append("inside " + " → ".join(f"each item of '{name}'" for name in parents)
                     + " (paths are relative to the item; `_root` is the whole record)")
    if spec.filter:
        steps.append(f"rows where `{spec.filter}` is false are skipped")
    if field.description:
        steps.append(f"about: {field.description}")
    if field.when:
        steps.append(f"only when `{field.when}` is true; otherwise the field is left out")
    steps += _source(field, spec)
    for item in field.transforms or ():
        name, args = transform_parts(item)
        steps.append(f"transform {name}" + ("" if args is None else f" with {args!r}"))
    if field.map is not None:
        unmapped = ("is an error (strict)" if field.strict else
                    "becomes the default" if field.default is not None else
                    "passes through unchanged")
        pairs = ", ".join(f"{key} → {value}" for key, value in list(field.map.items())[:6])
        more = f", … ({len(field.map)} in all)" if len(field.map) > 6 else ""
        steps.append(f"value map {{{pairs}{more}}}; a value not in it {unmapped}")
    if field.fields is not None:
        kind = field.type or "list or object, as the record holds it"
        steps.append(f"each item mapped by {len(field.fields)} nested fields "
                     f"({', '.join(field.fields)}); result: {kind}")
    else:
        steps.append(_type(field))
    if field.required:
        steps.append("required: a missing value (absent, null, blank) fails the row")
    elif field.default is not None:
        steps.append(f"when missing: {field.default!r}")
    else:
        steps.append("when missing: null")
    if field.lookup:
        steps.append(_lookup(spec, field.lookup))
    if field.is_personal:
        steps.append("personal: its input is masked in error reports")
    return steps


def _source(field: FieldSpec, spec: MappingSpec) -> list[str]:
    if field.const is not None:
        return [f"always {field.const!r}"]
    if field.template is not None:
        return [f"template \"{field.template}\""]
    if field.expr is not None:
        return [f"computed as `{field.expr}`"]
    if field.path is not None:
        where = " (a column of the positional row)" if spec.columns else ""
        return [f"read from path '{field.path}'{where}"]
    return ["no source: always the default"]


def _type(field: FieldSpec) -> str:
    field_type = field.resolved_type
    text = f"converted to {field_type}"
    if field_type in ("date", "datetime"):
        text += f" (zone {field.timezone} when the value has none)"
    if field_type == "enum" and field.values:
        text += f" (one of {', '.join(field.values)})"
    return text


def _lookup(spec: MappingSpec, name: str) -> str:
    lookup = spec.lookups[name]
    source = (f"hub {lookup.entity}s" if lookup.entity else
              f"'{lookup.reference}' of connection {lookup.connection}")
    result = f"its '{lookup.returns}'" if lookup.returns else "the whole match"
    missing = "fails the row" if lookup.on_missing == "error" else "gives null"
    return (f"looked up in {source} by {lookup.by} (batched per page); the value becomes "
            f"{result}; no match {missing}")
