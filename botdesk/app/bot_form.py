"""The admin's bot form: fields generated from the strategy's parameter model, and the
checks a bot passes before it is written (the strategy's own validation messages)."""

import json
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

import dash_bootstrap_components as dbc
from dash import html

from botdesk.engine.strategies import registry
from botdesk.engine.timeframes import TIMEFRAMES

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
SYMBOL = re.compile(r"^[A-Z0-9]{2,20}$")
BROKERS = ("paper", "binance")
PARAM = "bots-param"


class BotFormError(ValueError):
    """What is wrong with the form, in the words the admin reads next to it."""


@dataclass(frozen=True)
class BotFields:
    name: str
    strategy: str
    params: dict[str, Any]
    symbol: str
    timeframe: str
    broker: str
    exchange_account_id: int | None
    capital: Decimal

    @property
    def params_json(self) -> str:
        return json.dumps(self.params, sort_keys=True)


def params_text(params_json: str | None) -> str:
    """A bot's parameters as an operator reads them: `fast 9 · slow 21 · stop_atr 2`."""
    try:
        params = json.loads(params_json or "{}")
    except ValueError:
        return "unreadable parameters"
    if not isinstance(params, dict):
        return "unreadable parameters"
    return " · ".join(
        f"{name} {value:g}" if isinstance(value, float) else f"{name} {value}"
        for name, value in params.items()
    )


def param_fields(strategy: str | None, values: dict | None = None) -> list:
    """One labelled number input per parameter, with its bounds and description."""
    if strategy not in registry.STRATEGIES:
        return [html.P("Choose a strategy to see its parameters.", className="text-secondary")]
    schema = registry.params_schema(strategy)
    values = values or {}
    fields = []
    for name, spec in schema["properties"].items():
        integer = spec.get("type") == "integer"
        bounds = f"{spec.get('minimum', '')} to {spec.get('maximum', '')}"
        fields.append(
            dbc.Col(
                [
                    dbc.Label(name, html_for=f"{PARAM}-{name}", className="small mb-1"),
                    dbc.Input(
                        id={"type": PARAM, "name": name},
                        type="number",
                        value=values.get(name, spec.get("default")),
                        min=spec.get("minimum"),
                        max=spec.get("maximum"),
                        step=1 if integer else "any",
                    ),
                    dbc.FormText(f"{spec.get('description', '')} ({bounds})"),
                ],
                md=4,
            )
        )
    description = registry.get(strategy).description().split("\n\n")[0]
    return [html.P(description, className="small text-secondary"), dbc.Row(fields, className="g-2")]


def _capital(text: Any) -> Decimal:
    try:
        amount = Decimal(str(text).strip())
    except InvalidOperation:
        raise BotFormError(f"capital must be an amount in USDT, not {text!r}") from None
    if not amount.is_finite() or amount <= 0:
        raise BotFormError("capital must be more than 0 USDT")
    if amount != amount.quantize(Decimal("1E-8")) or amount >= Decimal("1E10"):
        raise BotFormError("capital has at most 8 decimals and is below 10 billion")
    return amount


def check(
    *,
    name: Any,
    strategy: Any,
    params: dict[str, Any],
    symbol: Any,
    timeframe: Any,
    broker: Any,
    exchange_account_id: Any,
    capital: Any,
) -> BotFields:
    """The form's values as a bot, or BotFormError naming the first field at fault."""
    name = (name or "").strip() if isinstance(name, str) else ""
    if not NAME.match(name):
        raise BotFormError("name: letters, digits, '.', '_' or '-', 1 to 100, no spaces")
    if strategy not in registry.STRATEGIES:
        raise BotFormError(f"strategy: choose one of {', '.join(sorted(registry.STRATEGIES))}")
    given = {key: value for key, value in params.items() if value is not None and value != ""}
    try:
        validated = registry.validate_params(strategy, given)
    except registry.InvalidParams as error:
        raise BotFormError(f"{error.field or 'parameters'}: {error.reason}") from None
    symbol = (symbol or "").strip().upper() if isinstance(symbol, str) else ""
    if not SYMBOL.match(symbol):
        raise BotFormError("symbol: like BTCUSDT (capital letters and digits)")
    if timeframe not in TIMEFRAMES:
        raise BotFormError(f"timeframe: one of {', '.join(TIMEFRAMES)}")
    if broker not in BROKERS:
        raise BotFormError("broker: paper or binance")
    account = None
    if broker == "binance":
        if (
            not isinstance(exchange_account_id, (int, str))
            or not str(exchange_account_id).isdigit()
        ):
            raise BotFormError(
                "exchange account: a binance bot needs one (Admin → Exchange accounts)"
            )
        account = int(exchange_account_id)
    return BotFields(
        name=name,
        strategy=strategy,
        params=validated.model_dump(),
        symbol=symbol,
        timeframe=timeframe,
        broker=broker,
        exchange_account_id=account,
        capital=_capital(capital),
    )
