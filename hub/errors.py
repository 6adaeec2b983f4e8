"""The hub layer's errors; the CLI and the API turn them into exit codes and HTTP statuses.

    HubError                  root: exit code 1, HTTP 500
    ├── ConfigFileError       a YAML file is wrong: names file, line and field (exit 2, 422)
    ├── NotFoundError         a ticket, job, run or mapping that does not exist (exit 3, 404)
    ├── InvalidRequestError   the request makes no sense as given (exit 2, 422)
    ├── ConflictError         the thing is not in a state that allows it (exit 5, 409)
    ├── AuthenticationError   no credentials, or bad ones (401, with WWW-Authenticate)
    ├── PermissionDeniedError the caller's role may not do this (403)
    └── PreconditionFailedError  If-Match names another version (412; 428 when missing)
    └── JobFailedError        a job ran and failed; its run row says why (exit 4, 502)
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "ConfigFileError",
    "ConfigProblem",
    "AuthenticationError",
    "ConflictError",
    "PermissionDeniedError",
    "PreconditionFailedError",
    "HubError",
    "InvalidRequestError",
    "JobFailedError",
    "NotFoundError",
]


class HubError(Exception):
    exit_code = 1
    http_status = 500


@dataclass(frozen=True, slots=True)
class ConfigProblem:
    """One thing wrong in a YAML file, and where."""

    file: str
    line: int | None
    field: str
    message: str
    column: int | None = None

    def __str__(self) -> str:
        where = f"{self.file}, line {self.line}" if self.line else self.file
        if self.line and self.column:
            where += f", column {self.column}"
        if self.field:
            return f"{where}, field '{self.field}': {self.message}"
        return f"{where}: {self.message}"


class ConfigFileError(HubError):
    exit_code = 2
    http_status = 422

    def __init__(self, problems: list[ConfigProblem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class NotFoundError(HubError):
    exit_code = 3
    http_status = 404


class InvalidRequestError(HubError):
    """The request makes no sense as given; `field` names the input at fault, when one is
    (`query.cursor`, `body.refund`), for the API's `errors` list."""

    exit_code = 2
    http_status = 422

    def __init__(self, message: str, *, field: str = "") -> None:
        super().__init__(message)
        self.field = field


class JobFailedError(HubError):
    exit_code = 4
    http_status = 502


class ConflictError(HubError):
    exit_code = 5
    http_status = 409


class AuthenticationError(HubError):
    """The request carries no credentials, or ones the hub does not accept."""

    exit_code = 2
    http_status = 401
    headers = {"WWW-Authenticate": 'Bearer realm="hub"'}


class PermissionDeniedError(HubError):
    exit_code = 2
    http_status = 403


class PreconditionFailedError(HubError):
    """An `If-Match` that names another version (412), or none where one is required (428)."""

    exit_code = 5
    http_status = 412

    def __init__(self, message: str, *, status: int = 412) -> None:
        super().__init__(message)
        self.http_status = status


__all__ += ["IdempotencyKeyInUseError", "IdempotencyKeyReusedError"]


class IdempotencyKeyInUseError(ConflictError):
    """A repeat of an `Idempotency-Key` whose first request is still running (409)."""


class IdempotencyKeyReusedError(InvalidRequestError):
    """An `Idempotency-Key` sent again with another request (another body or path) (422)."""
