"""Exchange accounts (admin): Binance API credentials for the spot testnet or live trading.

Stored encrypted; shown back only as the key's last four characters; never logged. Live
accounts trade real money and are marked so everywhere.
"""

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, ctx, html
from dash.exceptions import PreventUpdate
from flask_login import current_user
from sqlmodel import func, select

from botdesk.app import acting
from botdesk.app.components import format_time, outcome_alert
from botdesk.app.context import desk_db, desk_settings
from botdesk.app.roles import guarded_callback, restricted_layout
from botdesk.db import exchange_accounts
from botdesk.db.exchange_accounts import ExchangeAccountError
from botdesk.db.models import Bot, Environment, ExchangeAccount, Role

dash.register_page(
    __name__,
    path="/exchange-accounts",
    name="Exchange accounts",
    title="Exchange accounts · botdesk",
    role=Role.ADMIN,
    order=91,
)


def environment_badge(environment: str) -> dbc.Badge:
    if environment == Environment.LIVE:
        return dbc.Badge("LIVE · real money", color="danger", className="env-live")
    return dbc.Badge("testnet", color="info", className="env-testnet")


def accounts_table(accounts: list[ExchangeAccount], bots_per_account: dict[int, int]):
    if not accounts:
        return html.P("No exchange account yet. Paper bots need none.", className="mb-0")
    header = ("name", "environment", "API key", "API secret", "bots", "added")
    body = [
        html.Tr(
            [
                html.Td(account.name),
                html.Td(environment_badge(account.environment)),
                html.Td(html.Code(f"…{account.api_key_last4}")),
                html.Td("stored encrypted", className="text-secondary"),
                html.Td(bots_per_account.get(account.id, 0), className="num"),
                html.Td(f"{format_time(account.created_at)} by {account.created_by or '?'}"),
            ],
        )
        for account in accounts
    ]
    return dbc.Table(
        [html.Thead(html.Tr([html.Th(h) for h in header])), html.Tbody(body)],
        size="sm",
        responsive=True,
        className="mb-0",
    )


def current_accounts() -> tuple[list[ExchangeAccount], dict[int, int]]:
    per_account = select(Bot.exchange_account_id, func.count()).group_by(Bot.exchange_account_id)
    with desk_db().reading() as db_session:
        accounts = exchange_accounts.all_accounts(session=db_session)
        counts = dict(db_session.exec(per_account).all())
    return accounts, counts


def account_options(accounts: list[ExchangeAccount]) -> list[dict]:
    return [{"label": f"{a.name} ({a.environment})", "value": a.id} for a in accounts]


def add_card() -> dbc.Card:
    return dbc.Card(
        [
            dbc.CardHeader("Add an exchange account"),
            dbc.CardBody(
                [
                    dbc.Input(
                        id="exchange-name",
                        placeholder="name, e.g. binance-testnet",
                        className="mb-2",
                        maxLength=100,
                    ),
                    dbc.RadioItems(
                        id="exchange-environment",
                        options=[
                            {"label": "Spot testnet (test money)", "value": "testnet"},
                            {"label": "LIVE (real money)", "value": "live"},
                        ],
                        value="testnet",
                        inline=True,
                        className="mb-2",
                    ),
                    dbc.Input(
                        id="exchange-api-key",
                        placeholder="API key",
                        className="mb-2",
                        autoComplete="off",
                        maxLength=128,
                    ),
                    dbc.Input(
                        id="exchange-api-secret",
                        type="password",
                        placeholder="API secret",
                        className="mb-2",
                        autoComplete="new-password",
                        maxLength=128,
                    ),
                    dbc.Checkbox(
                        id="exchange-live-confirm",
                        label="I understand a live account trades real money.",
                        value=False,
                        className="mb-2",
                    ),
                    html.P(
                        "Give the key trading rights only (never withdrawals), and restrict "
                        "it to this server's IP address on Binance.",
                        className="small text-secondary",
                    ),
                    dbc.Button("Add account", id="exchange-create", color="primary"),
                ]
            ),
        ],
        className="h-100",
    )


def delete_card(accounts: list[ExchangeAccount]) -> dbc.Card:
    return dbc.Card(
        [
            dbc.CardHeader("Delete an exchange account"),
            dbc.CardBody(
                [
                    dbc.Select(
                        id="exchange-target",
                        options=account_options(accounts),
                        placeholder="choose an account",
                        className="mb-2",
                    ),
                    html.P(
                        "Only an account no bot uses can be deleted.",
                        className="small text-secondary",
                    ),
                    dbc.Button("Delete", id="exchange-delete", color="danger"),
                ]
            ),
        ],
        className="h-100",
    )


@restricted_layout(Role.ADMIN)
def layout(**_query):
    accounts, counts = current_accounts()
    return html.Div(
        [
            html.H1("Exchange accounts", className="h3 my-3"),
            dbc.Card(
                dbc.CardBody(accounts_table(accounts, counts), id="exchange-table"),
                className="mb-3",
            ),
            html.Div(id="exchange-result", className="mb-3"),
            dbc.Row(
                [dbc.Col(add_card(), lg=7), dbc.Col(delete_card(accounts), lg=5)], className="g-3"
            ),
        ]
    )


def create_account(name, environment, api_key, api_secret, live_confirmed) -> str:
    if environment == Environment.LIVE and not live_confirmed:
        raise ExchangeAccountError(
            "A live account trades real money: tick the box to confirm you mean it."
        )
    with desk_db().writing() as db_session:
        account = exchange_accounts.create(
            session=db_session,
            name=name,
            environment=environment,
            api_key=api_key,
            api_secret=api_secret,
            created_by=current_user.username,
            settings=desk_settings(),
        )
        acting.record(
            db_session,
            "exchange_account.create",
            target=f"exchange_account:{account.name}",
            details={"environment": account.environment, "api_key_last4": account.api_key_last4},
        )
    return f"Added {account.name} ({account.environment}), API key …{account.api_key_last4}."


def delete_account(account_id) -> str:
    if not account_id:
        raise ExchangeAccountError("Choose an account to delete.")
    with desk_db().writing() as db_session:
        account = exchange_accounts.delete(session=db_session, account_id=int(account_id))
        acting.record(
            db_session, "exchange_account.delete", target=f"exchange_account:{account.name}"
        )
    return f"Deleted {account.name}."


@guarded_callback(
    Output("exchange-table", "children"),
    Output("exchange-target", "options"),
    Output("exchange-result", "children"),
    Output("exchange-api-key", "value"),
    Output("exchange-api-secret", "value"),
    Output("exchange-name", "value"),
    Output("exchange-live-confirm", "value"),
    Input("exchange-create", "n_clicks"),
    Input("exchange-delete", "n_clicks"),
    State("exchange-name", "value"),
    State("exchange-environment", "value"),
    State("exchange-api-key", "value"),
    State("exchange-api-secret", "value"),
    State("exchange-live-confirm", "value"),
    State("exchange-target", "value"),
    prevent_initial_call=True,
    role=Role.ADMIN,
)
def change(create, delete, name, environment, api_key, api_secret, live_confirmed, target):
    button = ctx.triggered_id
    if not (create or delete) or button not in ("exchange-create", "exchange-delete"):
        raise PreventUpdate
    unchanged = dash.no_update
    try:
        if button == "exchange-create":
            message = create_account(name, environment, api_key, api_secret, live_confirmed)
        else:
            message = delete_account(target)
    except ExchangeAccountError as error:
        # The secret field is emptied either way: it never travels back to the browser.
        alert = outcome_alert(f"{error}", ok=False)
        return unchanged, unchanged, alert, unchanged, "", unchanged, unchanged
    accounts, counts = current_accounts()
    table = accounts_table(accounts, counts)
    done = outcome_alert(message)
    if button == "exchange-create":
        return table, account_options(accounts), done, "", "", "", False
    return table, account_options(accounts), done, unchanged, "", unchanged, unchanged
