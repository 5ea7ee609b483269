"""JSON schemas of the market and analysis answers, for the OpenAPI description (and the
fuzz test that checks every answer against it)."""

TIME = {"type": "string", "format": "date-time"}
TIME_OR_NULL = {"type": ["string", "null"], "format": "date-time"}
NUMBER = {"type": "number"}
NUMBER_OR_NULL = {"type": ["number", "null"]}
TEXT = {"type": "string"}
BOOLEAN = {"type": "boolean"}
INTEGER = {"type": "integer"}
DIRECTION = {"type": ["string", "null"], "enum": ["bullish", "bearish", None]}
MONEY = {"type": "string", "pattern": r"^[0-9]+\.[0-9]{8}$"}
MONEY_OR_NULL = {"anyOf": [MONEY, {"type": "null"}]}


def obj(properties: dict, nullable: bool = False) -> dict:
    """A JSON schema object with every property required (null allowed if `nullable`)."""
    schema = {"type": "object", "properties": properties, "required": list(properties)}
    return {"anyOf": [schema, {"type": "null"}]} if nullable else schema


def array(items: dict) -> dict:
    return {"type": "array", "items": items}


WINDOW = {
    "symbol": TEXT,
    "timeframe": TEXT,
    "candles": INTEGER,
    "first": TIME,
    "last": TIME,
    "as_of": TIME,
}
PERIOD = obj(
    {
        "high": NUMBER_OR_NULL,
        "low": NUMBER_OR_NULL,
        "whole": BOOLEAN,
        "high_broken": BOOLEAN,
        "low_broken": BOOLEAN,
    }
)
LEVELS = array(obj({"ratio": NUMBER, "price": NUMBER_OR_NULL}))
SMC = obj(
    {
        **WINDOW,
        "mean_true_range": NUMBER_OR_NULL,
        "swings": array(
            obj(
                {"kind": {"enum": ["high", "low"]}, "time": TIME, "price": NUMBER, "known_at": TIME}
            )
        ),
        "structure": obj(
            {
                "trend": DIRECTION,
                "breaks": array(
                    obj(
                        {
                            "kind": {"enum": ["BOS", "CHoCH"]},
                            "direction": DIRECTION,
                            "time": TIME,
                            "level": NUMBER,
                            "swing_time": TIME,
                        }
                    )
                ),
            }
        ),
        "fair_value_gaps": array(
            obj(
                {
                    "direction": DIRECTION,
                    "time": TIME,
                    "top": NUMBER,
                    "bottom": NUMBER,
                    "filled": BOOLEAN,
                    "filled_at": TIME_OR_NULL,
                }
            )
        ),
        "order_blocks": array(
            obj(
                {
                    "direction": DIRECTION,
                    "time": TIME,
                    "formed_at": TIME,
                    "top": NUMBER,
                    "bottom": NUMBER,
                    "strength": NUMBER_OR_NULL,
                    "state": {"enum": ["fresh", "mitigated", "broken"]},
                    "mitigated_at": TIME_OR_NULL,
                    "broken_at": TIME_OR_NULL,
                }
            )
        ),
        "liquidity": array(
            obj(
                {
                    "side": {"enum": ["buy", "sell"]},
                    "level": NUMBER,
                    "touches": INTEGER,
                    "touch_times": array(TIME),
                    "formed_at": TIME,
                    "swept": BOOLEAN,
                    "swept_at": TIME_OR_NULL,
                }
            )
        ),
        "dealing_range": obj(
            {
                "high": NUMBER,
                "low": NUMBER,
                "high_time": TIME,
                "low_time": TIME,
                "leg": {"enum": ["up", "down"]},
                "equilibrium": NUMBER,
                "position_percent": NUMBER_OR_NULL,
                "zone": {"enum": ["premium", "discount", "equilibrium"]},
                "retracement_percent": NUMBER_OR_NULL,
            },
            nullable=True,
        ),
        "fibonacci": obj(
            {
                "leg": {"enum": ["up", "down"]},
                "start": NUMBER,
                "end": NUMBER,
                "retracements": LEVELS,
                "extensions": LEVELS,
            },
            nullable=True,
        ),
        "previous_day": PERIOD,
        "previous_week": PERIOD,
        "sessions": array(
            obj(
                {
                    "name": {"enum": ["asia", "london", "new_york"]},
                    "start": TIME,
                    "active": BOOLEAN,
                    "high": NUMBER_OR_NULL,
                    "low": NUMBER_OR_NULL,
                }
            )
        ),
        "patterns": array(
            obj(
                {
                    "time": TIME,
                    "pattern": TEXT,
                    "name": TEXT,
                    "direction": DIRECTION,
                    "confirmed": BOOLEAN,
                }
            )
        ),
    }
)
NODES = array(obj({"price": NUMBER, "volume": NUMBER, "share": NUMBER}))
PROFILE = obj(
    {
        **WINDOW,
        "poc": NUMBER,
        "value_area_high": NUMBER,
        "value_area_low": NUMBER,
        "value_area_volume": NUMBER,
        "total_volume": NUMBER,
        "high_volume_nodes": NODES,
        "low_volume_nodes": NODES,
        "bins": array(obj({"low": NUMBER, "high": NUMBER, "volume": NUMBER})),
    }
)
ORDER_FLOW = obj(
    {
        **WINDOW,
        "delta": NUMBER,
        "buy_volume": NUMBER,
        "sell_volume": NUMBER,
        "imbalance": NUMBER,
        "unknown_candles": INTEGER,
        "items": array(
            obj(
                {
                    "time": TIME,
                    "buy_volume": NUMBER_OR_NULL,
                    "sell_volume": NUMBER_OR_NULL,
                    "delta": NUMBER_OR_NULL,
                    "cumulative_delta": NUMBER,
                    "imbalance": NUMBER_OR_NULL,
                    "absorption": DIRECTION,
                    "exhaustion": DIRECTION,
                }
            )
        ),
        "divergences": array(
            obj(
                {
                    "direction": DIRECTION,
                    "first_time": TIME,
                    "second_time": TIME,
                    "known_at": TIME,
                }
            )
        ),
    }
)
CONFLUENCE = obj(
    {
        "symbol": TEXT,
        "as_of": TIME,
        "price": NUMBER,
        "direction": DIRECTION,
        "score": NUMBER,
        "timeframes": {
            "type": "object",
            "additionalProperties": obj({"trend": DIRECTION, "candles": INTEGER, "last": TIME}),
        },
        "components": array(
            obj(
                {
                    "name": {"enum": ["trend", "zones", "volume_profile", "order_flow"]},
                    "weight": NUMBER,
                    "available": BOOLEAN,
                    "part": NUMBER,
                    "points": NUMBER,
                    "detail": {"type": "object"},
                }
            )
        ),
        "zones": array(obj({"bottom": NUMBER, "top": NUMBER, "sources": array(TEXT)})),
    }
)
SIZE = obj(
    {
        "quantity": MONEY_OR_NULL,
        "notional": MONEY_OR_NULL,
        "note": TEXT,
    }
)
SETUPS = obj(
    {
        "symbol": TEXT,
        "as_of": TIME,
        "price": NUMBER,
        "scores": obj({"long": NUMBER, "short": NUMBER}),
        "setups": array(
            obj(
                {
                    "kind": {"enum": ["order_block", "fair_value_gap", "liquidity_sweep"]},
                    "direction": {"enum": ["long", "short"]},
                    "confidence": NUMBER,
                    "entry": NUMBER,
                    "stop": NUMBER,
                    "take_profit": NUMBER,
                    "take_profit_reason": TEXT,
                    "reward_risk": NUMBER,
                    "zone": obj({"bottom": NUMBER, "top": NUMBER}),
                    "zone_time": TIME,
                    "known_at": TIME,
                    "size": SIZE,
                }
            )
        ),
    }
)
CANDLE = obj(
    {
        "open_time": TIME,
        "open_time_ms": INTEGER,
        **{name: MONEY for name in ("open", "high", "low", "close", "volume")},
        "quote_volume": MONEY_OR_NULL,
        "trades": {"type": ["integer", "null"]},
        "taker_buy_base_volume": MONEY_OR_NULL,
        "taker_buy_quote_volume": MONEY_OR_NULL,
    }
)
CANDLES = obj({**WINDOW, "items": array(CANDLE)})
TICKER = obj(
    {
        "symbol": TEXT,
        "as_of": TIME,
        "from_timeframe": TEXT,
        "last": NUMBER,
        "open_24h": NUMBER,
        "change_24h": NUMBER,
        "change_percent_24h": NUMBER,
        "high_24h": NUMBER,
        "low_24h": NUMBER,
        "volume_24h": NUMBER,
        "quote_volume_24h": NUMBER_OR_NULL,
        "trades_24h": {"type": ["integer", "null"]},
        "complete": BOOLEAN,
    }
)
