"""A strategy's parameters on a desk form (the bot form and the backtest form alike): one
input per field of its model, and what was typed handed to the model as it was typed.

The inputs are text inputs with a numeric keyboard, never `<input type=number>` with
min/max/step: a browser sends nothing for a number outside min/max or off the step (and
Dash sends a huge one as a rounded float), so the form would quietly run with the default.
Here the model sees exactly what was typed and refuses it with its own message; the bounds
are told beside the input instead.
"""

from typing import Any

import dash_bootstrap_components as dbc

from botdesk.engine.strategies import registry


def _hint(spec: dict) -> str:
    bounds = [
        f"{word} {spec[key]}" for key, word in (("minimum", "≥"), ("maximum", "≤")) if key in spec
    ]
    hint = spec.get("description", "")
    return f"{hint} ({', '.join(bounds)})".strip() if bounds else hint


def param_inputs(
    strategy: str,
    *,
    id_type: str,
    values: dict | None = None,
    width: int = 4,
    size: str | None = None,
) -> list[dbc.Col]:
    """One labelled input per parameter (the strategy's own first, `stop_atr` last), with
    its bounds and description; ids are {"type": id_type, "name": <parameter>}."""
    schema = registry.params_schema(strategy)
    values = values or {}
    fields = []
    for name in sorted(schema["properties"], key=lambda name: name == "stop_atr"):
        spec = schema["properties"][name]
        integer = spec.get("type") == "integer"
        default = spec.get("default")
        fields.append(
            dbc.Col(
                [
                    dbc.Label(name, html_for=f"{id_type}-{name}", className="small mb-1"),
                    dbc.Input(
                        id={"type": id_type, "name": name},
                        type="text",
                        inputmode="numeric" if integer else "decimal",
                        autocomplete="off",
                        value=values.get(name, default),
                        placeholder=f"default {default}" if default is not None else None,
                        size=size,
                    ),
                    dbc.FormText(_hint(spec), className="small"),
                ],
                md=width,
            )
        )
    return fields


def typed_params(names: list, values: list) -> dict[str, Any]:
    """{parameter: what was typed}; an emptied input is left out (the model's default)."""
    typed = {}
    for name, value in zip(names, values, strict=False):
        if isinstance(value, str):
            value = value.strip()
        if value is None or value == "":
            continue
        typed[str(name)] = value
    return typed


def validated(strategy: str, names: list, values: list) -> dict[str, Any]:
    """The strategy's parameters from the form, or registry.InvalidParams (its model's
    message, naming the field)."""
    return registry.validate_params(strategy, typed_params(names, values)).model_dump()
