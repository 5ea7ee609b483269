"""API errors: every refusal is `{"error": {"code", "message"}}` with a 4xx status.

Handlers raise `ApiError`; Flask's own HTTP errors (404, 405, 413, ...) and anything
unexpected are turned into the same shape, so a client never sees an HTML error page.
"""

import logging

from flask import Response, jsonify
from werkzeug.exceptions import HTTPException

from botdesk.app import limits

log = logging.getLogger(__name__)

# Error codes for Flask's own HTTP errors, by status.
HTTP_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "too_many_requests",
}


class ApiError(Exception):
    """A refusal with an HTTP status, a stable code and a message the caller can act on."""

    def __init__(self, status: int, code: str, message: str, headers: dict | None = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


def error_response(status: int, code: str, message: str, headers: dict | None = None) -> Response:
    response = jsonify(error={"code": code, "message": message})
    response.status_code = status
    response.headers.update(headers or {})
    return response


def from_api_error(error: ApiError) -> Response:
    return error_response(error.status, error.code, error.message, error.headers)


def from_http_error(error: HTTPException) -> Response:
    status = error.code or 500
    headers = {}
    if status == 405 and getattr(error, "valid_methods", None):
        headers["Allow"] = ", ".join(sorted(error.valid_methods))
    if status == 429:
        headers["Retry-After"] = limits.retry_after()
    message = {
        404: "no such endpoint or record",
        405: "this endpoint does not accept that method",
        413: "the request body is too large",
        429: "too many refused API keys or webhook tokens from this address; "
        "wait a minute, then try again",
    }.get(status, error.description or error.name)
    return error_response(status, HTTP_CODES.get(status, "error"), message, headers)


def from_unexpected(error: Exception) -> Response:
    log.exception("unexpected error in an API or webhook handler: %s", error)
    return error_response(500, "internal_error", "the server failed; the error is in its log")


def install(blueprint) -> None:
    blueprint.register_error_handler(ApiError, from_api_error)
    blueprint.register_error_handler(HTTPException, from_http_error)
    # By status too: Flask prefers an app handler for the status (the sign-in pages' 429
    # page) over a blueprint's handler for the class.
    blueprint.register_error_handler(429, from_http_error)
    blueprint.register_error_handler(Exception, from_unexpected)
