"""The declarative mapping engine: spec models, coercion and the compiler. No I/O.

    spec = parse_spec(document)                         # pydantic ValidationError if wrong
    to_customer = compile_mapping(spec, name="crm_customer")
    customer = to_customer(record, row=17)              # RecordMappingError if the record is bad
"""

from hub.mapping.compiler import CompiledMapping, compile_mapping
from hub.mapping.errors import FieldError, MappingError, RecordMappingError
from hub.mapping.spec import FieldSpec, MappingSpec, parse_spec
from hub.mapping.types import FieldType, normalize_mobile

__all__ = [
    "CompiledMapping",
    "FieldError",
    "FieldSpec",
    "FieldType",
    "MappingError",
    "MappingSpec",
    "RecordMappingError",
    "compile_mapping",
    "normalize_mobile",
    "parse_spec",
]
