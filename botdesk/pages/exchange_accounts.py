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
from botdesk.app.components import environment_badge, format_time, outcome_alert
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
                    ),
                    dbc.Input(
                        id="exchange-api-secret",
                        type="password",
                        placeholder="API secret",
                        className="mb-2",
                        autoComplete="new-password",
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


def current_bots() -> list[tuple[Bot, ExchangeAccount | None]]:
    with desk_db().reading() as db_session:
        bots = db_session.exec(select(Bot).order_by(Bot.name)).all()
        accounts = {a.id: a for a in exchange_accounts.all_accounts(session=db_session)}
    return [(bot, accounts.get(bot.exchange_account_id)) for bot in bots]


def bots_venues(bots: list[tuple[Bot, ExchangeAccount | None]]):
    if not bots:
        return html.P("No bot yet.", className="mb-0")
    rows = [
        html.Tr(
            [
                html.Td(bot.name),
                html.Td(environment_badge(account.environment if account else None)),
                html.Td(account.name if account else "paper (no exchange)"),
                html.Td(bot.status),
            ]
        )
        for bot, account in bots
    ]
    header = html.Thead(html.Tr([html.Th(h) for h in ("bot", "venue", "account", "status")]))
    return dbc.Table([header, html.Tbody(rows)], size="sm", responsive=True, className="mb-2")


def bot_options(bots: list[tuple[Bot, ExchangeAccount | None]]) -> list[dict]:
    return [{"label": bot.name, "value": bot.id} for bot, _ in bots]


def assign_card(accounts: list[ExchangeAccount]) -> dbc.Card:
    paper = [{"label": "paper (no exchange)", "value": "paper"}]
    bots = current_bots()
    return dbc.Card(
        [
            dbc.CardHeader("Point a bot at an exchange account"),
            dbc.CardBody(
                [
                    html.Div(bots_venues(bots), id="exchange-assign-bots"),
                    dbc.Row(
                        [
                            dbc.Col(
                                dbc.Select(
                                    id="exchange-assign-bot",
                                    options=bot_options(bots),
                                    placeholder="choose a bot",
                                ),
                                md=4,
                            ),
                            dbc.Col(
                                dbc.Select(
                                    id="exchange-assign-account",
                                    options=paper + account_options(accounts),
                                    placeholder="choose where it trades",
                                ),
                                md=4,
                            ),
                            dbc.Col(
                                dbc.Input(
                                    id="exchange-assign-confirm",
                                    placeholder="for LIVE: type the bot's name",
                                    autoComplete="off",
                                    maxLength=100,
                                ),
                                md=4,
                            ),
                        ],
                        className="g-2 mb-2",
                    ),
                    html.P(
                        "The bot must be stopped, with no open position or order. Moving it to "
                        "a LIVE account trades real money: type the bot's name to confirm.",
                        className="small text-secondary",
                    ),
                    dbc.Button("Point the bot there", id="exchange-assign", color="warning"),
                    html.Div(id="exchange-assign-result", className="mt-2"),
                ]
            ),
        ],
        className="mt-3",
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
            assign_card(accounts),
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


def assign(bot_id, target, confirmation) -> str:
    if not bot_id or not target:
        raise ExchangeAccountError("Choose a bot and where it trades.")
    try:
        account_id = None if target == "paper" else int(target)
        bot_id = int(bot_id)
    except (TypeError, ValueError):
        raise ExchangeAccountError("Choose a bot and where it trades.") from None
    with desk_db().writing() as db_session:
        bot, previous, account = exchange_accounts.assign_bot(
            session=db_session, bot_id=bot_id, account_id=account_id, confirmation=confirmation
        )
        acting.record(
            db_session,
            "bot.exchange_account",
            target=f"bot:{bot.name}",
            details={
                "from": previous.name if previous else "paper",
                "from_environment": previous.environment if previous else "paper",
                "to": account.name if account else "paper",
                "to_environment": account.environment if account else "paper",
                "confirmed_by_name": bool(account and account.environment == Environment.LIVE),
            },
        )
    where = f"{account.name} ({account.environment})" if account else "paper"
    return f"{bot.name} now trades on {where}."


@guarded_callback(
    Output("exchange-assign-result", "children"),
    Output("exchange-assign-bots", "children"),
    Output("exchange-assign-confirm", "value"),
    Input("exchange-assign", "n_clicks"),
    State("exchange-assign-bot", "value"),
    State("exchange-assign-account", "value"),
    State("exchange-assign-confirm", "value"),
    prevent_initial_call=True,
    role=Role.ADMIN,
)
def point_bot(clicks, bot_id, target, confirmation):
    if not clicks:
        raise PreventUpdate
    try:
        message = assign(bot_id, target, confirmation)
    except ExchangeAccountError as error:
        with desk_db().writing() as db_session:
            acting.record(
                db_session,
                "bot.exchange_account",
                target=f"bot:{bot_id}",
                outcome="refused",
                reason=str(error),
            )
        return outcome_alert(f"{error}", ok=False), dash.no_update, ""
    return outcome_alert(message), bots_venues(current_bots()), ""
