"""The admin's bot form: fields generated from the strategy's parameter model, and the
checks a bot passes before it is written (the strategy's own validation messages, and its
symbol against what the market-data feed offers)."""

import json
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import dash_bootstrap_components as dbc
from dash import html
from sqlmodel import Session

from botdesk.app import strategy_params
from botdesk.app.components import confirm_dialog
from botdesk.db import feed_listings, typed
from botdesk.db.types import MAX_AMOUNT, MAX_ID, MONEY_UNIT
from botdesk.engine.feeds.base import FeedError
from botdesk.engine.feeds.replay import replay_source, replay_symbols
from botdesk.engine.research.gate import lookahead_refusal
from botdesk.engine.strategies import registry
from botdesk.engine.timeframes import TIMEFRAMES
from botdesk.settings import Settings

MAX_NAME = 100  # the bot table's column
MAX_SYMBOL = 20
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
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
    """The strategy's description and one text input per parameter (see strategy_params)."""
    if strategy not in registry.STRATEGIES:
        return [html.P("Choose a strategy to see its parameters.", className="text-secondary")]
    inputs = strategy_params.param_inputs(strategy, id_type=PARAM, values=values)
    description = registry.get(strategy).description().split("\n\n")[0]
    return [html.P(description, className="small text-secondary"), dbc.Row(inputs, className="g-2")]


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
    name = typed.text(name, field="name", most=MAX_NAME, refuse=BotFormError)
    if not NAME.match(name):
        raise BotFormError("name: letters, digits, '.', '_' or '-', no spaces")
    if strategy not in registry.STRATEGIES:
        raise BotFormError(f"strategy: choose one of {', '.join(sorted(registry.STRATEGIES))}")
    try:
        validated = strategy_params.validated(strategy, list(params), list(params.values()))
    except registry.InvalidParams as error:
        raise BotFormError(f"{error.field or 'parameters'}: {error.reason}") from None
    symbol = typed.text(symbol, field="symbol", most=MAX_SYMBOL, refuse=BotFormError).upper()
    if not SYMBOL.match(symbol):
        raise BotFormError("symbol: like BTCUSDT (capital letters and digits)")
    if timeframe not in TIMEFRAMES:
        raise BotFormError(f"timeframe: one of {', '.join(TIMEFRAMES)}")
    if why := registry.timeframe_refusal(registry.get(strategy)(validated), timeframe):
        raise BotFormError(f"timeframe: {why}")
    if broker not in BROKERS:
        raise BotFormError("broker: paper or binance")
    account = None
    if broker == "binance":
        if exchange_account_id in (None, ""):
            raise BotFormError(
                "exchange account: a binance bot needs one (Admin → Exchange accounts)"
            )
        account = typed.whole_number(
            exchange_account_id, field="exchange account", low=1, high=MAX_ID, refuse=BotFormError
        )
    amount = typed.number(
        capital, field="capital", low=MONEY_UNIT, high=MAX_AMOUNT, unit="USDT", refuse=BotFormError
    )
    return BotFields(
        name=name,
        strategy=strategy,
        params=validated,
        symbol=symbol,
        timeframe=timeframe,
        broker=broker,
        exchange_account_id=account,
        capital=amount,
    )


def symbol_refusal(*, session: Session, settings: Settings, symbol: str) -> str | None:
    """Why a bot on `symbol` would never get a candle from this desk's feed (BOTDESK_FEED),
    or None. The list is the one the engine published (feed_listing); before any engine
    has, a replay's files tell it (read here), while Binance's cannot be known yet."""
    offered = feed_listings.offer(session=session, feed=settings.FEED)
    if offered is None and settings.FEED == "replay":
        try:
            symbols = replay_symbols(settings.REPLAY_DATA)
        except FeedError as error:
            return f"cannot be checked: {error}"
        offered = feed_listings.Offer(
            feed="replay", symbols=frozenset(symbols), source=replay_source(settings.REPLAY_DATA)
        )
    if offered is None:
        return (
            f"cannot be checked yet: no engine has listed the {settings.FEED} feed's symbols "
            "(it reads them when it starts); start the engine, then save again"
        )
    return feed_listings.refusal(symbol, offered)


def lookahead_override(fields: BotFields, allow: bool) -> str | None:
    """None when the strategy passes the lookahead check; its failure (to audit) when the
    admin ticked "Allow lookahead"; otherwise BotFormError saying so."""
    why = lookahead_refusal(fields.strategy, fields.params)
    if why is not None and not allow:
        raise BotFormError(f"strategy: {why}; tick Allow lookahead to save it anyway (audited)")
    return why


def dialog() -> dbc.Modal:
    """The New bot / Edit dialog (ids with the Bots page's prefix); its callbacks live
    on the page."""

    def field(label, control, width=6):
        return dbc.Col([dbc.Label(label, className="small mb-1"), control], md=width)

    strategies = [{"label": cls.title, "value": name} for name, cls in registry.STRATEGIES.items()]
    return dbc.Modal(
        [
            dbc.ModalHeader(dbc.ModalTitle("Bot", id="bots-form-title")),
            dbc.ModalBody(
                [
                    dbc.Row(
                        [
                            # no maxlength: the browser would cut a longer name silently;
                            # the server refuses it with the limit instead
                            field("Name", dbc.Input(id="bots-name")),
                            field("Strategy", dbc.Select(id="bots-strategy", options=strategies)),
                            field("Symbol", dbc.Input(id="bots-symbol", placeholder="BTCUSDT"), 4),
                            field(
                                "Timeframe",
                                dbc.Select(
                                    id="bots-timeframe", value="1m", options=list(TIMEFRAMES)
                                ),
                                4,
                            ),
                            field(
                                "Capital (USDT)",
                                dbc.Input(id="bots-capital", value="10000", inputmode="decimal"),
                                4,
                            ),
                            field(
                                "Broker",
                                dbc.Select(
                                    id="bots-broker",
                                    value="paper",
                                    options=[
                                        {"label": "paper (simulated fills)", "value": "paper"},
                                        {"label": "binance (exchange account)", "value": "binance"},
                                    ],
                                ),
                            ),
                            field("Exchange account", dbc.Select(id="bots-account", options=[])),
                        ],
                        className="g-2 mb-3",
                    ),
                    html.H3("Strategy parameters", className="h6"),
                    html.Div(id="bots-params"),
                    dbc.Checkbox(
                        id="bots-allow-lookahead",
                        label="Allow lookahead: run it although its strategy fails the "
                        "lookahead check (admin, audited)",
                        value=False,
                        className="small mt-2",
                    ),
                    html.Div(id="bots-form-error", className="mt-3"),
                ]
            ),
            dbc.ModalFooter(
                [
                    dbc.Button("Cancel", id="bots-form-cancel", color="secondary"),
                    dbc.Button("Save", id="bots-save", color="primary"),
                ]
            ),
        ],
        id="bots-form",
        size="lg",
        is_open=False,
    )


def delete_dialog() -> dbc.Modal:
    """The Delete bot confirmation (its callbacks live on the Bots page)."""
    body = [html.Div(id="bots-delete-what"), html.Div(id="bots-delete-error")]
    return confirm_dialog(
        "bots-delete-dialog",
        "Delete bot",
        body,
        cancel_id="bots-delete-cancel",
        confirm_id="bots-delete-confirm",
        confirm_label="Delete bot and its history",
    )
