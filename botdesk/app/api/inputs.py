"""Reading what a caller sent: query parameters, JSON bodies, cursors; all checked.

Everything a caller sends is validated by a pydantic model that refuses unknown fields, so
a typo is an error rather than a silently ignored filter, and nothing unchecked reaches
the database.
"""

import json
import re
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Literal, TypeVar

from flask import request
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictStr,
    ValidationError,
)
from werkzeug.exceptions import RequestEntityTooLarge

from botdesk.app.api.errors import ApiError
from botdesk.db.types import MAX_ID

MAX_BODY_BYTES = 64 * 1024
MAX_PAGE = 1000


def _to_utc(moment: datetime) -> datetime:
    try:
        return moment.astimezone(UTC)
    except OverflowError:  # a zone offset pushed it past year 1 or 9999: as far as it goes
        return (datetime.min if moment.year == 1 else datetime.max).replace(tzinfo=UTC)


# Text a person typed: no control characters but tab and newline, and something visible
# (not only what str.strip() removes), in a pattern JSON Schema, Python and Rust all read.
_ALLOWED = r"[^\x00-\x08\x0b-\x1f\x7f]"
_VISIBLE = r"[^\x00-\x20\x7f\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
TEXT_PATTERN = f"^{_ALLOWED}*{_VISIBLE}{_ALLOWED}*$"


def one_of(vocabulary: type[StrEnum]):
    """A Literal of an enum's values: validated from a query string, listed in the schema."""
    return Literal[tuple(member.value for member in vocabulary)]


# RFC 3339, as the description's `format: date-time` says: a date, "T", a time with
# seconds, and a zone. Without this, pydantic would also read "0.5" or "1700000000" as a
# Unix time.
_DATE_TIME = re.compile(
    r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$", re.ASCII
)


def _rfc3339(value: object) -> object:
    if isinstance(value, datetime) or (isinstance(value, str) and _DATE_TIME.match(value)):
        return value
    raise ValueError("not an RFC 3339 date-time with a zone, e.g. 2024-10-28T12:00:00Z")


UtcTime = Annotated[AwareDatetime, BeforeValidator(_rfc3339), AfterValidator(_to_utc)]
RecordId = Annotated[int, Field(ge=1, le=MAX_ID)]
Symbol = Annotated[str, Field(pattern=r"^[A-Z0-9]{2,20}$")]
Name = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:/-]+$")]
Reason = Annotated[
    StrictStr,
    Field(min_length=1, max_length=500, pattern=TEXT_PATTERN),
    AfterValidator(str.strip),
]


class Body(BaseModel):
    """A JSON body: strict types, no unknown fields."""

    model_config = ConfigDict(extra="forbid", strict=True)


class Query(BaseModel):
    """Query parameters: strings converted to their types, no unknown parameters."""

    model_config = ConfigDict(extra="forbid")


class ListQuery(Query):
    """What every list takes: a page size, the cursor from the previous page, a format."""

    limit: int = Field(100, ge=1, le=MAX_PAGE, description="Rows per page (1 to 1000).")
    cursor: int | None = Field(
        None, ge=1, le=MAX_ID + 1, description="`next_cursor` of the previous page."
    )
    format: Literal["json", "csv"] = Field("json", description="`csv` for a CSV download.")


QueryT = TypeVar("QueryT", bound=Query)
BodyT = TypeVar("BodyT", bound=Body)


def describe(error: ValidationError) -> str:
    """pydantic's errors in a caller's words: `field: what is wrong`, at most three."""
    parts = []
    for item in error.errors()[:3]:
        where = ".".join(str(part) for part in item["loc"]) or "body"
        if item["type"] == "extra_forbidden":
            parts.append(f"unknown field {where!r}")
        elif item["type"] == "missing":
            parts.append(f"{where}: required")
        else:
            parts.append(f"{where}: {item['msg']}")
    return "; ".join(parts)


def parse_query(model: type[QueryT]) -> QueryT:
    repeated = [name for name in request.args if len(request.args.getlist(name)) > 1]
    if repeated:
        raise ApiError(400, "invalid_parameter", f"give the parameter {repeated[0]!r} once")
    try:
        return model.model_validate(request.args.to_dict())
    except ValidationError as error:
        raise ApiError(400, "invalid_parameter", describe(error)) from None


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not a number JSON allows")


def read_body(max_bytes: int = MAX_BODY_BYTES) -> bytes:
    """The request body, refused with a 413 past `max_bytes` (with or without a length)."""
    too_large = ApiError(413, "payload_too_large", f"the body is larger than {max_bytes} bytes")
    if request.content_length is not None and request.content_length > max_bytes:
        raise too_large
    # A chunked body has no length: read at most one byte past the limit to see it is over.
    request.max_content_length = max_bytes + 1
    try:
        raw = request.get_data(cache=True)
    except RequestEntityTooLarge:
        raise too_large from None
    if len(raw) > max_bytes:
        raise too_large
    return raw


def read_json(max_bytes: int = MAX_BODY_BYTES) -> object | None:
    """The request body parsed as JSON (numbers with a point as Decimal), None when empty."""
    raw = read_body(max_bytes)
    if not raw.strip():
        return None
    try:
        return json.loads(raw, parse_float=Decimal, parse_constant=_refuse_constant)
    except (ValueError, RecursionError):
        raise ApiError(400, "invalid_json", "the body is not valid JSON") from None


JSON = "application/json"


def parse_body(model: type[BodyT]) -> BodyT:
    """The body as `model`: JSON, declared as such. A request without a body needs no
    Content-Type (the bodies of the bot and position controls are optional); bytes sent as
    anything but application/json are refused with a 415, never read as JSON."""
    raw = read_body()
    if not raw:
        data = {}
    elif request.mimetype != JSON:
        declared = request.mimetype or "no Content-Type"
        raise ApiError(
            415, "unsupported_media_type", f"send the body as {JSON} (it came as {declared})"
        )
    else:
        data = read_json()  # None for blank or `null`: not an object either
    if not isinstance(data, dict):
        raise ApiError(400, "invalid_body", "the body must be a JSON object")
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise ApiError(400, "invalid_body", describe(error)) from None
