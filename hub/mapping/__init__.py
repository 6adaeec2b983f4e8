"""The declarative mapping engine: spec models, paths, coercion, transforms, the sandboxed
expression language and the compiler. No I/O.

    spec = parse_spec(document)                         # pydantic ValidationError if wrong
    to_customer = compile_mapping(spec, name="crm_customer")
    customer = to_customer(record, row=17)              # RecordMappingError if the record is bad
"""

from hub.mapping.compiler import CompiledMapping, LookupInfo, LookupTables, compile_mapping
from hub.mapping.errors import (
    FieldError,
    LookupsMissingError,
    MappingError,
    RecordMappingError,
)
from hub.mapping.spec import FieldSpec, LookupSpec, MappingSpec, parse_spec
from hub.mapping.transforms import TransformRegistry, default_registry
from hub.mapping.types import FieldType, normalize_mobile

__all__ = [
    "CompiledMapping",
    "FieldError",
    "FieldSpec",
    "FieldType",
    "LookupInfo",
    "LookupSpec",
    "LookupTables",
    "LookupsMissingError",
    "MappingError",
    "MappingSpec",
    "RecordMappingError",
    "TransformRegistry",
    "compile_mapping",
    "default_registry",
    "normalize_mobile",
    "parse_spec",
]
