"""Strategies: every strategy the desk knows, where it comes from (built in, the strategy
folder, an installed package), the lookahead check of the user's own, and each one that
failed to load with its traceback (the desk and the engine go on without it)."""

import dash
import dash_bootstrap_components as dbc
from dash import html

from botdesk.app.components import small_table
from botdesk.app.context import desk_settings
from botdesk.engine.research import gate
from botdesk.engine.research.lookahead import CheckReport
from botdesk.engine.strategies import loader, registry

dash.register_page(
    __name__, path="/strategies", name="Strategies", title="Strategies · botdesk", order=72
)


def check_badge(name: str):
    """The lookahead check of a user strategy with its default parameters."""
    try:
        found = gate.report_for(name)
    except ValueError as error:
        return dbc.Badge(f"not checked: {error}", color="secondary")
    if found is None:
        return html.Span("built in (tested)", className="text-secondary small")
    if isinstance(found, str):
        return dbc.Badge(found, color="warning", className="text-wrap")
    if found.lookahead:
        return dbc.Badge(
            f"{found.summary()}: refused for bots unless an admin allows it",
            color="danger",
            className="text-wrap",
            id=f"strategies-lookahead-{name}",
        )
    return html.Span(_clean_text(found), className="small text-success")


def _clean_text(found: CheckReport) -> str:
    needed = found.warmup_needed
    warm = "never settles" if needed is None else f"warm-up {needed} candles"
    warnings = "; ".join(found.warnings())
    return f"no lookahead ({found.cuts} cuts); {warm}" + (f"; {warnings}" if warnings else "")


def failures() -> list:
    if not loader.FAILURES:
        return []
    cards = [
        dbc.Alert(
            [
                html.Strong(f"{failure.source}: "),
                failure.message,
                html.Pre(failure.traceback, className="small mt-2 mb-0 text-wrap")
                if failure.traceback
                else None,
            ],
            color="danger",
            className="mb-2 strategies-failure",
        )
        for failure in loader.FAILURES
    ]
    return [html.H2("Not loaded", className="h5 mt-3"), *cards]


def layout(**_query):
    folder = desk_settings().STRATEGY_PATH
    rows = [
        [name, registry.STRATEGIES[name].title, registry.SOURCES[name], check_badge(name)]
        for name in sorted(registry.STRATEGIES)
    ]
    return html.Div(
        [
            html.H1("Strategies", className="h3 my-3"),
            html.P(
                [
                    "Your own strategies load from ",
                    html.Code(str(folder) if folder else "BOTDESK_STRATEGY_PATH (not set)"),
                    " and from installed packages (entry points ",
                    html.Code(loader.ENTRY_POINT_GROUP),
                    ") when the desk and the engine start. `botdesk strategy new NAME` writes "
                    "one to start from; `botdesk strategy check NAME` checks it.",
                ],
                className="text-secondary",
            ),
            small_table(
                ["name", "title", "source", "lookahead check"], rows, id="strategies-table"
            ),
            *failures(),
        ]
    )
