"""Keeping secrets out of logs, errors and recordings: the redactor and the credential registry."""

from ._redact import (
    MASK,
    PROCESS_REDACTOR,
    Redactor,
    install_log_redaction,
    is_sensitive_name,
    register_credential,
    secret_values,
)

__all__ = [
    "MASK",
    "PROCESS_REDACTOR",
    "Redactor",
    "install_log_redaction",
    "is_sensitive_name",
    "register_credential",
    "secret_values",
]
