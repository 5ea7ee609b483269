"""Users (admin): create users, change roles, disable and enable, unlock, reset two-factor,
end a user's sessions. Every change is audited; the server checks the admin role on every
call, whatever the browser shows."""

from datetime import timedelta

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, ctx, html
from dash.exceptions import PreventUpdate
from flask_login import current_user

from botdesk.app import acting
from botdesk.app.components import format_time, outcome_alert
from botdesk.app.context import desk_db, desk_settings
from botdesk.app.passwords import WeakPassword, check_strength, generate_password, hash_password
from botdesk.app.roles import guarded_callback, restricted_layout
from botdesk.db import desk_sessions, lockout, users
from botdesk.db.models import Role, User
from botdesk.db.users import UserError

dash.register_page(
    __name__, path="/users", name="Users", title="Users · botdesk", role=Role.ADMIN, order=90
)

ROLE_OPTIONS = [{"label": role.value, "value": role.value} for role in Role]

# button id -> (audit action, the change, may an admin do it to their own account)
CHANGES = {
    "users-set-role": ("user.set_role", "set the role", False),
    "users-disable": ("user.disable", "disable", False),
    "users-enable": ("user.enable", "enable", False),
    "users-unlock": ("user.unlock", "unlock", True),
    "users-reset-2fa": ("2fa.reset", "reset two-factor of", False),
    "users-revoke": ("user.revoke_sessions", "sign out", False),
}


def apply_change(button: str, db_session, user: User, role: str | None) -> None:
    if button == "users-set-role":
        users.set_role(session=db_session, user=user, role=role or "", by=current_user.username)
    elif button in ("users-disable", "users-enable"):
        users.set_disabled(session=db_session, user=user, disabled=button == "users-disable")
    elif button == "users-unlock":
        lockout.unlock(session=db_session, user=user)
    elif button == "users-reset-2fa":
        users.reset_two_factor(session=db_session, user=user)
    elif button == "users-revoke":
        users.revoke_sessions(session=db_session, user=user)


def state_badge(user: User) -> dbc.Badge:
    if user.disabled:
        return dbc.Badge("disabled", color="secondary")
    if until := lockout.locked_until(user):
        return dbc.Badge(f"locked to {until:%H:%M} UTC", color="danger")
    return dbc.Badge("active", color="success")


def two_factor_badge(user: User) -> dbc.Badge:
    if user.totp_enabled:
        return dbc.Badge("on", color="success")
    if user.totp_secret_encrypted:
        return dbc.Badge("being set up", color="warning", text_color="dark")
    return dbc.Badge("not set up", color="warning", text_color="dark")


def users_table(rows: list[User]) -> dbc.Table:
    settings = desk_settings()
    with desk_db().reading() as db_session:
        signed_in = desk_sessions.open_counts(
            session=db_session,
            idle=timedelta(minutes=settings.SESSION_IDLE_MINUTES),
            lifetime=timedelta(hours=settings.SESSION_LIFETIME_HOURS),
        )
    header = (
        "username",
        "role",
        "state",
        "two-factor",
        "wrong attempts",
        "last sign-in",
        "open sessions",
    )
    body = [
        html.Tr(
            [
                html.Td(user.username),
                html.Td(user.role),
                html.Td(state_badge(user)),
                html.Td(two_factor_badge(user)),
                html.Td(user.failed_attempts),
                html.Td(format_time(user.last_login_at)),
                html.Td(signed_in.get(user.id, 0), id=f"users-sessions-{user.username}"),
            ],
            id=f"users-row-{user.username}",
        )
        for user in rows
    ]
    return dbc.Table(
        [html.Thead(html.Tr([html.Th(h) for h in header])), html.Tbody(body)],
        hover=True,
        responsive=True,
        size="sm",
        className="mb-0",
    )


def current_rows() -> list[User]:
    with desk_db().reading() as db_session:
        return users.all_users(session=db_session)


def user_options(rows: list[User]) -> list[dict]:
    return [{"label": f"{u.username} ({u.role})", "value": u.username} for u in rows]


def add_card() -> dbc.Card:
    return dbc.Card(
        [
            dbc.CardHeader("Add a user"),
            dbc.CardBody(
                [
                    dbc.Input(id="users-new-name", placeholder="username", className="mb-2"),
                    dbc.Select(
                        id="users-new-role", options=ROLE_OPTIONS, value="viewer", className="mb-2"
                    ),
                    dbc.Input(
                        id="users-new-password",
                        type="password",
                        placeholder="initial password (empty: generate one)",
                        autoComplete="new-password",
                        className="mb-2",
                    ),
                    html.P(
                        "They set up two-factor at their first sign-in.",
                        className="small text-secondary",
                    ),
                    dbc.Button("Add user", id="users-create", color="primary"),
                    html.Div(id="users-create-result", className="mt-3"),
                ]
            ),
        ],
        className="h-100",
    )


def change_card(rows: list[User]) -> dbc.Card:
    def button(button_id, label, color="secondary"):
        return dbc.Button(label, id=button_id, color=color, className="me-2 mb-2", size="sm")

    return dbc.Card(
        [
            dbc.CardHeader("Change a user"),
            dbc.CardBody(
                [
                    dbc.Select(
                        id="users-target",
                        options=user_options(rows),
                        placeholder="choose a user",
                        className="mb-2",
                    ),
                    dbc.InputGroup(
                        [
                            dbc.Select(id="users-role", options=ROLE_OPTIONS, value="viewer"),
                            dbc.Button("Set role", id="users-set-role", color="primary"),
                        ],
                        className="mb-3",
                    ),
                    button("users-unlock", "Unlock"),
                    button("users-revoke", "Sign out everywhere"),
                    button("users-reset-2fa", "Reset two-factor", "warning"),
                    button("users-disable", "Disable", "danger"),
                    button("users-enable", "Enable", "success"),
                    html.P(
                        "Changing a role, resetting two-factor or disabling ends the user's "
                        "sessions at once.",
                        className="small text-secondary mb-0",
                    ),
                    html.Div(id="users-change-result", className="mt-3"),
                ]
            ),
        ],
        className="h-100",
    )


@restricted_layout(Role.ADMIN)
def layout(**_query):
    rows = current_rows()
    return html.Div(
        [
            html.H1("Users", className="h3 my-3"),
            dbc.Card(
                [
                    dbc.CardHeader("Everyone who can sign in"),
                    dbc.CardBody(id="users-table", children=users_table(rows)),
                ],
                className="mb-3",
            ),
            dbc.Row([dbc.Col(add_card(), lg=5), dbc.Col(change_card(rows), lg=7)], className="g-3"),
        ]
    )


def create_user(username: str, role: str, password: str) -> list:
    generated = not password
    password = password or generate_password()
    try:
        check_strength(password)
    except WeakPassword as error:
        raise UserError(f"The {error}.") from None
    with desk_db().writing() as db_session:
        user = users.create(
            session=db_session,
            username=username,
            password_hash=hash_password(password),
            role=role,
        )
        acting.record(
            db_session, "user.create", target=f"user:{user.username}", details={"role": role}
        )
    message = [f"Added {user.username} ({role})."]
    if generated:
        shown = html.Code(password, id="users-generated-password", className="user-select-all")
        message += [" Their password, shown once: ", shown]
    return message


def change_user(button: str, username: str | None, role: str | None) -> str:
    action, verb, on_self = CHANGES[button]
    if not username:
        raise UserError("Choose a user first.")
    if username == current_user.username and not on_self:
        raise UserError(
            f"You cannot {verb} your own account here: use your Account page, or ask another admin."
        )
    with desk_db().writing() as db_session:
        user = users.require(session=db_session, username=username)
        apply_change(button, db_session, user, role)
        details = {"role": role} if button == "users-set-role" else None
        acting.record(db_session, action, target=f"user:{user.username}", details=details)
    if button == "users-set-role":
        return f"{username} is now {role}; their sessions ended."
    return f"Done: {verb} {username}."


@guarded_callback(
    Output("users-table", "children"),
    Output("users-target", "options"),
    Output("users-create-result", "children"),
    Output("users-change-result", "children"),
    Output("users-new-name", "value"),
    Output("users-new-password", "value"),
    Input("users-create", "n_clicks"),
    *[Input(button, "n_clicks") for button in CHANGES],
    State("users-new-name", "value"),
    State("users-new-role", "value"),
    State("users-new-password", "value"),
    State("users-target", "value"),
    State("users-role", "value"),
    prevent_initial_call=True,
    role=Role.ADMIN,
)
def change(*values):
    button = ctx.triggered_id
    new_name, new_role, new_password, target, role = values[-5:]
    if button is None or not any(values[: 1 + len(CHANGES)]):
        raise PreventUpdate
    unchanged = dash.no_update
    creating = button == "users-create"
    try:
        if creating:
            message = create_user(new_name or "", new_role or "", new_password or "")
        else:
            message = change_user(button, target, role)
    except UserError as error:
        alert = outcome_alert(str(error), ok=False)
        created, changed = (alert, unchanged) if creating else (unchanged, alert)
        return unchanged, unchanged, created, changed, unchanged, ""
    rows = current_rows()
    alert = outcome_alert(message)
    created, changed = (alert, None) if creating else (None, alert)
    cleared = "" if creating else unchanged
    return users_table(rows), user_options(rows), created, changed, cleared, ""
