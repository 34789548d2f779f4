"""The errors a caller can cause, each with its HTTP status and the contract's JSON shape.

They derive from ``ChaliceUnhandledError`` so they pass through Chalice's view wrapper to the one
middleware that renders them (``chalicelib.http``), instead of becoming a 500.
"""

from __future__ import annotations

from typing import Any, ClassVar

from chalice.app import ChaliceUnhandledError


class ApiError(ChaliceUnhandledError):
    status: ClassVar[int] = 400
    code: ClassVar[str] = "bad_request"

    def __init__(self, message: str, fields: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fields = fields or {}

    def body(self) -> dict[str, Any]:
        return error_body(self.code, self.message, self.fields)


def error_body(code: str, message: str, fields: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "fields": fields or {}}}


class BadRequest(ApiError):
    status = 400
    code = "bad_request"


class Unauthorized(ApiError):
    status = 401
    code = "unauthorized"


class NotFound(ApiError):
    status = 404
    code = "not_found"


class Conflict(ApiError):
    status = 409
    code = "conflict"


class Unprocessable(ApiError):
    status = 422
    code = "validation_failed"
