"""API keys: create a key for scripts (shown once), see when each was last used, revoke.

Everyone manages their own keys, at most at their own role's scope; admins manage every
user's keys, and also the per-bot TradingView webhook tokens (the card at the bottom).
"""

import dash
import dash_bootstrap_components as dbc
from dash import ALL, Input, Output, State, ctx, dcc, html
from dash.exceptions import PreventUpdate
from flask import request
from flask_login import current_user

from botdesk.app.components import format_time
from botdesk.app.context import desk_db
from botdesk.app.roles import guarded_callback
from botdesk.db import api_keys, users, webhook_tokens
from botdesk.db.api_keys import ROLE_SCOPE, ApiKeyError, scope_rank
from botdesk.db.models import Bot, Role, Scope, User
from botdesk.db.webhook_tokens import WebhookTokenError

dash.register_page(
    __name__, path="/api-keys", name="API keys", title="API keys · botdesk", order=90
)

SCOPE_HELP = {
    Scope.READ: "read: everything a viewer sees",
    Scope.TRADE: "trade: also start/stop bots, close positions, engage the kill switch",
    Scope.ADMIN: "admin: also release the kill switch",
}


def scopes_for(role: Role) -> list[dict]:
    widest = scope_rank(ROLE_SCOPE[role])
    return [{"label": SCOPE_HELP[s], "value": s.value} for s in Scope if scope_rank(s) <= widest]


def _is_admin() -> bool:
    return current_user.is_authenticated and current_user.role == Role.ADMIN


def key_table() -> html.Div:
    admin = _is_admin()
    with desk_db().reading() as session:
        rows = api_keys.listed(session=session, user_id=None if admin else current_user.id)
    if not rows:
        return html.P("No API keys yet.", className="text-secondary", id="api-keys-empty")
    header = ["Prefix", "Name", "Owner", "Scope", "State", "Created", "Expires", "Last used"]
    header += ["Allowed from", ""]
    body = []
    for key, owner in rows:
        state = api_keys.state(key)
        revoke = (
            dbc.Button(
                "Revoke",
                id={"type": "api-keys-revoke", "index": key.prefix},
                color="danger",
                size="sm",
                outline=True,
            )
            if state == "active"
            else ""
        )
        body.append(
            html.Tr(
                [
                    html.Td(html.Code(key.prefix)),
                    html.Td(key.name),
                    html.Td(owner),
                    html.Td(key.scope),
                    html.Td(state, className="text-success" if state == "active" else "text-muted"),
                    html.Td(format_time(key.created_at)),
                    html.Td(format_time(key.expires_at) if key.expires_at else "never"),
                    html.Td(format_time(key.last_used_at) if key.last_used_at else "never"),
                    html.Td(
                        key.allowed_ips.replace(",", ", ") if key.allowed_ips else "anywhere",
                        className="small",
                    ),
                    html.Td(revoke),
                ],
                id=f"api-keys-row-{key.prefix}",
            )
        )
    return dbc.Table(
        [html.Thead(html.Tr([html.Th(h) for h in header])), html.Tbody(body)],
        size="sm",
        hover=True,
        id="api-keys-table",
    )


def owner_choices() -> list[dict]:
    if not _is_admin():
        return [{"label": current_user.username, "value": current_user.id}]
    with desk_db().reading() as session:
        everyone = users.all_users(session=session)
    return [
        {"label": f"{u.username} ({u.role})", "value": u.id} for u in everyone if not u.disabled
    ]


def create_form() -> dbc.Card:
    return dbc.Card(
        dbc.CardBody(
            [
                html.H2("New key", className="h5"),
                dbc.Row(
                    [
                        dbc.Col(
                            [
                                dbc.Label("Name", html_for="api-keys-name"),
                                dbc.Input(id="api-keys-name", placeholder="my script"),
                                dbc.FormText(f"up to {api_keys.MAX_NAME} characters"),
                            ],
                            md=3,
                        ),
                        dbc.Col(
                            [
                                dbc.Label("Scope", html_for="api-keys-scope"),
                                dcc.Dropdown(
                                    id="api-keys-scope",
                                    options=scopes_for(current_user.role),
                                    value=Scope.READ.value,
                                    clearable=False,
                                ),
                            ],
                            md=4,
                        ),
                        dbc.Col(
                            [
                                dbc.Label("Expires after (days)", html_for="api-keys-expires"),
                                # text, not type=number with min/max: the browser would send
                                # nothing for -5 or 1.5, and the key would never expire
                                dbc.Input(
                                    id="api-keys-expires",
                                    inputmode="numeric",
                                    placeholder="never",
                                ),
                                dbc.FormText(f"1 to {api_keys.MAX_EXPIRES_DAYS}, or empty"),
                            ],
                            md=2,
                        ),
                        dbc.Col(
                            [
                                dbc.Label("Owner", html_for="api-keys-owner"),
                                dcc.Dropdown(
                                    id="api-keys-owner",
                                    options=owner_choices(),
                                    value=current_user.id,
                                    clearable=False,
                                    disabled=not _is_admin(),
                                ),
                            ],
                            md=3,
                        ),
                    ],
                    className="g-3 mb-3",
                ),
                dbc.Row(
                    dbc.Col(
                        [
                            dbc.Label("Allowed from (optional)", html_for="api-keys-allowed-ips"),
                            dbc.Input(
                                id="api-keys-allowed-ips",
                                maxLength=2000,
                                placeholder="any address; or e.g. 203.0.113.7, 10.0.0.0/8",
                            ),
                            dbc.FormText(
                                "IP addresses or CIDR networks, separated by commas or spaces: "
                                "the key is refused from anywhere else."
                            ),
                        ],
                        md=7,
                    ),
                    className="g-3 mb-3",
                ),
                dbc.Button("Create key", id="api-keys-create", color="primary"),
                html.Div(id="api-keys-created", className="mt-3"),
            ]
        ),
        className="mb-4",
    )


def webhook_states(bots: list[Bot]) -> list[html.Li]:
    return [
        html.Li(
            [
                html.Strong(bot.name),
                f" ({bot.symbol}): ",
                "accepts alerts" if bot.accepts_webhook else "off",
            ],
            id=f"api-keys-webhook-state-{bot.id}",
        )
        for bot in bots
    ]


def _bots() -> list[Bot]:
    with desk_db().reading() as session:
        return webhook_tokens.bots_by_name(session=session)


def webhook_card() -> dbc.Card:
    bots = _bots()
    return dbc.Card(
        dbc.CardBody(
            [
                html.H2("TradingView webhooks (admin)", className="h5"),
                html.P(
                    "Issuing a token turns the bot's webhook on; the URL is shown once. "
                    "Issuing again rotates it (the old URL stops working). "
                    "Turning it off forgets the token.",
                    className="text-secondary small",
                ),
                html.Ul(webhook_states(bots), id="api-keys-webhook-bots", className="small"),
                dbc.Row(
                    [
                        dbc.Col(
                            dcc.Dropdown(
                                id="api-keys-webhook-bot",
                                options=[{"label": b.name, "value": b.id} for b in bots],
                                placeholder="choose a bot",
                            ),
                            md=4,
                        ),
                        dbc.Col(
                            [
                                dbc.Button(
                                    "Issue or rotate token",
                                    id="api-keys-webhook-issue",
                                    color="warning",
                                    className="me-2",
                                ),
                                dbc.Button(
                                    "Turn off", id="api-keys-webhook-withdraw", color="secondary"
                                ),
                            ],
                            md=8,
                        ),
                    ],
                    className="g-2",
                ),
                html.Div(id="api-keys-webhook-result", className="mt-3"),
            ]
        ),
        id="api-keys-webhook-card",
    )


def layout(**_query):
    parts = [
        html.H1("API keys", className="h3 my-3"),
        html.P(
            [
                "Scripts call ",
                html.Code("/api/v1"),
                " with a key in the ",
                html.Code("X-API-Key"),
                " header. A key never does more than its owner's current role allows.",
            ],
            className="text-secondary",
        ),
        create_form(),
        html.Div(key_table(), id="api-keys-list"),
    ]
    if _is_admin():
        parts.append(webhook_card())
    return html.Div(parts)


def shown_once(title: str, secret: str, secret_id: str) -> dbc.Alert:
    return dbc.Alert(
        [
            html.Strong(title),
            html.Div(
                [html.Code(secret, id=secret_id), dcc.Clipboard(target_id=secret_id)],
                className="d-flex gap-2 my-2",
            ),
            html.Div("It is shown once: copy it now. botdesk keeps only its hash."),
        ],
        color="success",
    )


def _create(name, scope, expires, owner_id, allowed_ips=None) -> dbc.Alert:
    try:
        days = api_keys.expiry_days(expires)
        with desk_db().writing() as session:
            owner = session.get(User, owner_id) if isinstance(owner_id, int) else None
            if owner is None or not api_keys.may_manage(
                actor_role=current_user.role, actor_user_id=current_user.id, owner_id=owner.id
            ):
                raise ApiKeyError("you can create keys only for yourself")
            row, key = api_keys.create(
                session=session,
                owner=owner,
                scope=scope if isinstance(scope, str) else "",
                name=name if isinstance(name, str) else None,
                expires_days=days,
                allowed_ips=allowed_ips if isinstance(allowed_ips, str) else None,
                actor=current_user.username,
                actor_user_id=current_user.id,
                ip=request.remote_addr,
            )
    except ApiKeyError as error:
        return dbc.Alert(str(error), color="danger", id="api-keys-error")
    return shown_once(f"Key {row.prefix} created for {owner.username}.", key, "api-keys-new-key")


def _revoke(prefix: str) -> dbc.Alert:
    try:
        with desk_db().writing() as session:
            api_keys.revoke(
                session=session,
                prefix=prefix,
                actor=current_user.username,
                actor_role=current_user.role,
                actor_user_id=current_user.id,
                ip=request.remote_addr,
            )
    except ApiKeyError as error:
        return dbc.Alert(str(error), color="danger", id="api-keys-error")
    return dbc.Alert(f"Key {prefix} revoked: it stops working now.", color="info")


@guarded_callback(
    Output("api-keys-created", "children"),
    Output("api-keys-list", "children"),
    Input("api-keys-create", "n_clicks"),
    Input({"type": "api-keys-revoke", "index": ALL}, "n_clicks"),
    State("api-keys-name", "value"),
    State("api-keys-scope", "value"),
    State("api-keys-expires", "value"),
    State("api-keys-owner", "value"),
    State("api-keys-allowed-ips", "value"),
    prevent_initial_call=True,
    role=Role.VIEWER,
)
def act_on_keys(_create_clicks, _revoke_clicks, name, scope, expires, owner_id, allowed_ips):
    """Create or revoke; the owner and scope checks are on the server (db.api_keys)."""
    if not ctx.triggered or not ctx.triggered[0]["value"]:
        raise PreventUpdate  # a revoke button appeared or the page loaded: nothing clicked
    if ctx.triggered_id == "api-keys-create":
        message = _create(name, scope, expires, owner_id, allowed_ips)
    elif isinstance(ctx.triggered_id, dict) and isinstance(ctx.triggered_id.get("index"), str):
        message = _revoke(ctx.triggered_id["index"])
    else:
        raise PreventUpdate
    return message, key_table()


@guarded_callback(
    Output("api-keys-webhook-result", "children"),
    Output("api-keys-webhook-bots", "children"),
    Input("api-keys-webhook-issue", "n_clicks"),
    Input("api-keys-webhook-withdraw", "n_clicks"),
    State("api-keys-webhook-bot", "value"),
    prevent_initial_call=True,
    role=Role.ADMIN,
)
def manage_webhook(_issue, _withdraw, bot_id):
    if not isinstance(bot_id, int):
        return dbc.Alert("Choose a bot first.", color="warning"), dash.no_update
    try:
        with desk_db().writing() as session:
            bot = session.get(Bot, bot_id)
            if bot is None:
                raise WebhookTokenError("that bot no longer exists")
            change = dict(
                session=session,
                bot=bot,
                actor=current_user.username,
                role=current_user.role,
                actor_user_id=current_user.id,
                ip=request.remote_addr,
            )
            if ctx.triggered_id == "api-keys-webhook-issue":
                token = webhook_tokens.issue(**change)
                url = f"{request.host_url.rstrip('/')}/webhook/tradingview/{token}"
                message = shown_once(f"Webhook URL for {bot.name}:", url, "api-keys-webhook-url")
            else:
                webhook_tokens.withdraw(**change)
                message = dbc.Alert(f"Webhook alerts for {bot.name} are off.", color="info")
    except WebhookTokenError as error:
        return dbc.Alert(str(error), color="danger"), dash.no_update
    return message, webhook_states(_bots())
