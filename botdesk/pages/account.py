"""Account (everyone signed in): change your password, set up or replace your authenticator,
regenerate backup codes, turn two-factor off where the desk allows it."""

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, ctx, html
from dash.exceptions import PreventUpdate
from flask_login import current_user
from sqlmodel import col, select

from botdesk.app import account_changes, twofactor
from botdesk.app.account_changes import AccountError
from botdesk.app.components import format_time, outcome_alert
from botdesk.app.context import desk_db, desk_settings
from botdesk.app.roles import guarded_callback
from botdesk.db.models import AuditLog, Role, User

dash.register_page(
    __name__, path="/account", name="Account", title="Account · botdesk", hidden=True
)


def password_card() -> dbc.Card:
    def field(label, suffix, autocomplete):
        return dbc.Row(
            [
                dbc.Label(label, html_for=f"account-password-{suffix}", width=4),
                dbc.Col(
                    dbc.Input(
                        id=f"account-password-{suffix}",
                        type="password",
                        autoComplete=autocomplete,
                    ),
                    width=8,
                ),
            ],
            className="mb-2",
        )

    return dbc.Card(
        [
            dbc.CardHeader("Password"),
            dbc.CardBody(
                [
                    field("Current password", "current", "current-password"),
                    field("New password", "new", "new-password"),
                    field("New password again", "confirm", "new-password"),
                    html.P(
                        "At least 12 characters. Changing it signs you out everywhere else.",
                        className="small text-secondary",
                    ),
                    dbc.Button("Change password", id="account-password-save", color="primary"),
                    html.Div(id="account-password-result", className="mt-3"),
                ]
            ),
        ],
        className="h-100",
    )


def two_factor_status(user_id: int) -> html.Div:
    with desk_db().reading() as db_session:
        user = db_session.get(User, user_id)
        left = twofactor.backup_codes_left(session=db_session, user_id=user_id)
    if not user.totp_enabled:
        return html.Div(
            [dbc.Badge("off", color="danger", className="me-2"), "Two-factor is not set up."]
        )
    return html.Div(
        [
            dbc.Badge("on", color="success", className="me-2"),
            f"Authenticator app set up · {left} of {twofactor.BACKUP_CODE_COUNT} backup codes left",
        ]
    )


def two_factor_card(user_id: int) -> dbc.Card:
    required = desk_settings().REQUIRE_2FA
    code_input = dbc.Input(
        id="account-2fa-code",
        placeholder="code from your app",
        autoComplete="one-time-code",
        inputMode="numeric",
        maxLength=32,
    )
    return dbc.Card(
        [
            dbc.CardHeader("Two-factor sign-in"),
            dbc.CardBody(
                [
                    html.Div(two_factor_status(user_id), id="account-2fa-status", className="mb-3"),
                    dbc.Button(
                        "Set up a new authenticator",
                        id="account-2fa-start",
                        color="primary",
                        className="mb-3",
                    ),
                    dbc.Collapse(enrol_panel(), id="account-2fa-enrol-collapse", is_open=False),
                    html.Hr(),
                    html.P(
                        "Regenerate backup codes: confirm with a code from your app (or a "
                        "backup code)."
                        + (
                            " This desk requires two-factor, so it cannot be turned off."
                            if required
                            else " The same confirms turning two-factor off."
                        ),
                        className="small text-secondary mb-2",
                    ),
                    dbc.InputGroup(
                        [
                            code_input,
                            dbc.Button(
                                "Regenerate backup codes",
                                id="account-2fa-regenerate",
                                color="secondary",
                            ),
                            dbc.Button(
                                "Turn off",
                                id="account-2fa-disable",
                                color="outline-danger",
                                disabled=required,
                            ),
                        ]
                    ),
                    html.Div(id="account-2fa-result", className="mt-3"),
                ]
            ),
        ],
        className="h-100",
    )


def enrol_panel() -> html.Div:
    return html.Div(
        [
            html.Div(id="account-2fa-enrol-qr"),
            dbc.InputGroup(
                [
                    dbc.Input(
                        id="account-2fa-enrol-code",
                        placeholder="6-digit code the app shows",
                        autoComplete="one-time-code",
                        inputMode="numeric",
                        maxLength=12,
                    ),
                    dbc.Button("Turn on with this app", id="account-2fa-confirm", color="success"),
                ],
                className="mb-1",
            ),
            html.P(
                "Until you confirm, your current authenticator keeps working.",
                className="small text-secondary",
            ),
        ],
        className="mb-3",
    )


def enrol_qr(secret: str) -> list:
    uri = twofactor.provisioning_uri(secret, current_user.username)
    return [
        html.P("Scan this with your authenticator app, or type the key by hand:"),
        html.Img(src=twofactor.qr_svg_data_uri(uri), className="qr-code mb-2", alt="QR code"),
        html.Code(
            twofactor.readable_secret(secret),
            className="d-block secret-key mb-2",
            id="account-2fa-secret",
        ),
    ]


def recent_sign_ins(user_id: int) -> dbc.Card:
    query = (
        select(AuditLog)
        .where(AuditLog.user_id == user_id, col(AuditLog.action).startswith("login."))
        .order_by(col(AuditLog.id).desc())
        .limit(10)
    )
    with desk_db().reading() as db_session:
        rows = list(db_session.exec(query))
    body = [
        html.Tr(
            [
                html.Td(format_time(row.at)),
                html.Td(row.action.removeprefix("login.")),
                html.Td(row.reason or ""),
                html.Td(row.ip or ""),
            ]
        )
        for row in rows
    ]
    table = dbc.Table(
        [
            html.Thead(html.Tr([html.Th(h) for h in ("when", "result", "why", "from")])),
            html.Tbody(body),
        ],
        size="sm",
        className="mb-0",
    )
    return dbc.Card(
        [
            dbc.CardHeader("Your recent sign-ins"),
            dbc.CardBody(table if rows else html.P("None yet.", className="mb-0")),
        ]
    )


def layout(**_query):
    user_id = current_user.id
    return html.Div(
        [
            html.H1("Your account", className="h3 my-3"),
            html.P(
                f"Signed in as {current_user.username} ({current_user.role.value}).",
                className="text-secondary",
            ),
            dbc.Row(
                [
                    dbc.Col(password_card(), lg=6),
                    dbc.Col(two_factor_card(user_id), lg=6),
                ],
                className="g-3 mb-3",
            ),
            recent_sign_ins(user_id),
        ]
    )


@guarded_callback(
    Output("account-password-result", "children"),
    Output("account-password-current", "value"),
    Output("account-password-new", "value"),
    Output("account-password-confirm", "value"),
    Input("account-password-save", "n_clicks"),
    State("account-password-current", "value"),
    State("account-password-new", "value"),
    State("account-password-confirm", "value"),
    prevent_initial_call=True,
    role=Role.VIEWER,
)
def save_password(n_clicks, current, new, confirm):
    if not n_clicks:
        raise PreventUpdate
    try:
        account_changes.change_password(current or "", new or "", confirm or "")
    except AccountError as error:
        return outcome_alert(str(error), ok=False), "", "", ""
    done = "Password changed. Your other sessions are signed out."
    return outcome_alert(done, id="account-password-done"), "", "", ""


@guarded_callback(
    Output("account-2fa-enrol-qr", "children"),
    Output("account-2fa-enrol-collapse", "is_open"),
    Output("account-2fa-result", "children"),
    Output("account-2fa-status", "children"),
    Output("account-2fa-code", "value"),
    Output("account-2fa-enrol-code", "value"),
    Input("account-2fa-start", "n_clicks"),
    Input("account-2fa-confirm", "n_clicks"),
    Input("account-2fa-regenerate", "n_clicks"),
    Input("account-2fa-disable", "n_clicks"),
    State("account-2fa-enrol-code", "value"),
    State("account-2fa-code", "value"),
    prevent_initial_call=True,
    role=Role.VIEWER,
)
def two_factor(_start, _confirm, _regenerate, _disable, enrol_code, code):
    action = ctx.triggered_id
    unchanged = dash.no_update
    if action == "account-2fa-start":
        secret = account_changes.start_new_authenticator()
        return enrol_qr(secret), True, None, unchanged, unchanged, ""
    try:
        if action == "account-2fa-confirm":
            codes = account_changes.confirm_new_authenticator(enrol_code or "")
            result = backup_codes_shown(codes, "Two-factor is on with your new app.")
        elif action == "account-2fa-regenerate":
            codes = account_changes.regenerate_backup_codes(code or "")
            result = backup_codes_shown(codes, "New backup codes; the old ones no longer work.")
        elif action == "account-2fa-disable":
            account_changes.turn_off(code or "")
            result = outcome_alert("Two-factor is off: signing in needs only your password.")
        else:
            raise PreventUpdate
    except AccountError as error:
        return unchanged, unchanged, outcome_alert(str(error), ok=False), unchanged, "", ""
    status = two_factor_status(current_user.id)
    if action == "account-2fa-confirm":
        return [], False, result, status, "", ""
    return unchanged, unchanged, result, status, "", ""


def backup_codes_shown(codes: list[str], title: str) -> dbc.Alert:
    return dbc.Alert(
        [
            html.Strong(title),
            html.P(
                "Store these 10 backup codes now: each signs you in once if you lose your "
                "phone. They are not shown again.",
                className="mb-2",
            ),
            html.Ul(
                [html.Li(html.Code(code)) for code in codes],
                className="backup-codes mb-0",
                id="account-backup-codes",
            ),
        ],
        color="warning",
        className="mb-0",
    )
