"""Rows as the API shows them: JSON objects and their JSON schema, both derived from the
table's columns, so the description cannot drift from the answers (CSV pages are written
by `app.csv_stream`, the desk's one CSV writer).

Money is a string with exactly 8 decimals (exact, never a float); times are ISO 8601 UTC;
JSON text columns (bot params, command params, risk details) are decoded into objects.
"""

import json
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Boolean, Column, Float, Integer
from sqlmodel import SQLModel

from botdesk.db.types import Money, UTCDateTime, quantize

MONEY_PATTERN = r"^-?[0-9]+\.[0-9]{8}$"
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def money_text(value: Decimal) -> str:
    return format(quantize(value), "f")


@dataclass(frozen=True)
class Resource:
    """One table as the API exposes it."""

    name: str  # the schema's name, e.g. "Order"
    table: type[SQLModel]
    hidden: frozenset[str] = field(default_factory=frozenset)
    json_columns: frozenset[str] = field(default_factory=frozenset)

    @property
    def columns(self) -> list[Column]:
        return [c for c in self.table.__table__.columns if c.name not in self.hidden]

    def value(self, column: Column, raw: Any) -> Any:
        if raw is None:
            return None
        if isinstance(column.type, Money):
            return money_text(raw)
        if isinstance(raw, datetime):
            return raw.isoformat()
        if column.name in self.json_columns:
            try:
                return json.loads(raw)
            except ValueError:
                return raw
        return raw

    def to_json(self, row: SQLModel) -> dict:
        return {c.name: self.value(c, getattr(row, c.name)) for c in self.columns}

    def schema(self) -> dict:
        properties = {c.name: _column_schema(c, c.name in self.json_columns) for c in self.columns}
        return {
            "type": "object",
            "properties": properties,
            "required": list(properties),
            "additionalProperties": False,
        }


def _column_schema(column: Column, is_json: bool) -> dict:
    if is_json:
        return {}
    if isinstance(column.type, Money):
        schema = {"type": "string", "pattern": MONEY_PATTERN}
    elif isinstance(column.type, UTCDateTime):
        schema = {"type": "string", "format": "date-time"}
    elif isinstance(column.type, Boolean):
        schema = {"type": "boolean"}
    elif isinstance(column.type, Integer):
        schema = {"type": "integer"}
    elif isinstance(column.type, Float):
        schema = {"type": "number"}
    else:
        schema = {"type": "string"}
    if column.nullable:
        schema["type"] = [schema["type"], "null"]
    return schema


def safe_csv_text(text: str) -> str:
    """A cell a spreadsheet would run as a formula is quoted, unless it is just a number."""
    if text.startswith(FORMULA_START) and not _is_number(text):
        return "'" + text
    return text


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def page_schema(resource: Resource) -> dict:
    return {
        "type": "object",
        "properties": {
            "items": {"type": "array", "items": {"$ref": f"#/components/schemas/{resource.name}"}},
            "next_cursor": {"type": ["integer", "null"]},
        },
        "required": ["items", "next_cursor"],
        "additionalProperties": False,
    }
