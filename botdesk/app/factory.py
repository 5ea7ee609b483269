"""Build the desk: a Flask server with the login routes and the wall, and Dash on top."""

import importlib
import logging
from datetime import timedelta
from pathlib import Path

import dash
from dash import _callback as dash_callback
from flask import Flask
from flask_wtf.csrf import CSRFProtect

from botdesk.app import (
    api,
    auth,
    exports,
    headers,
    limits,
    metrics,
    second_factor,
    shell,
    wall,
)
from botdesk.app.kept_index import KeptIndexDash
from botdesk.db.session import Database, database_for
from botdesk.engine.strategies.loader import load_user_strategies
from botdesk.keys import secret_key
from botdesk.settings import Settings, get_settings

ASSETS = Path(__file__).resolve().parent.parent / "assets"

# One module per page, in botdesk/pages; imported after the Dash app exists.
PAGES = [
    "overview",
    "bots",
    "bot_detail",
    "market",
    "signals",
    "positions",
    "trades",
    "orders",
    "fills",
    "backtests",
    "models",
    "strategies",
    "research",
    "pnl_report",
    "risk",
    "api_keys",
    "account",
    "users",
    "exchange_accounts",
    "audit_log",
    "notifications",
    "logs",
]

csrf = CSRFProtect()


def create_server(settings: Settings, db: Database) -> Flask:
    server = Flask("botdesk.app")
    server.config.update(
        SECRET_KEY=secret_key(settings),
        SESSION_COOKIE_NAME="botdesk_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.SECURE_COOKIES,
        REMEMBER_COOKIE_HTTPONLY=True,
        PERMANENT_SESSION_LIFETIME=timedelta(hours=settings.SESSION_LIFETIME_HOURS),
        # the cookie is sent when its contents change (sign-in, the idle clock), not again
        # with every answer: signing it costs each request time under many users
        SESSION_REFRESH_EACH_REQUEST=False,
        WTF_CSRF_TIME_LIMIT=3600,
        # Dash posts JSON to its own endpoints; forms opt in to CSRF checks (FlaskForm).
        WTF_CSRF_CHECK_DEFAULT=False,
        BOTDESK_SETTINGS=settings,
        BOTDESK_DB=db,
        BOTDESK_ASSETS=str(ASSETS),
    )
    csrf.init_app(server)
    auth.login_manager.init_app(server)
    server.register_blueprint(auth.blueprint)
    server.register_blueprint(second_factor.blueprint)
    server.register_blueprint(exports.blueprint)
    server.register_blueprint(metrics.blueprint)
    limiter = limits.install(server, settings)
    api.install(server)
    limits.limit_key_guessing(limiter, settings, *api.machine_blueprints())
    return server


_callbacks: tuple[dict, list] | None = None


def _attach_pages_and_callbacks(app: dash.Dash) -> None:
    """Import the pages once per process and give this app every `dash.callback`.

    Dash moves module-level callbacks (and the clientside ones' inline scripts) into the
    first app that serves a request and empties its global lists; keeping a copy lets
    tests and benchmarks build several apps.
    """
    global _callbacks
    if _callbacks is None:
        for page in PAGES:
            module = importlib.import_module(f"botdesk.pages.{page}")
            # What Dash's pages-folder import does: the registry serves the module's layout.
            dash.page_registry[module.__name__]["layout"] = module.layout
        _callbacks = (
            dict(dash_callback.GLOBAL_CALLBACK_MAP),
            list(dash_callback.GLOBAL_CALLBACK_LIST),
            list(dash_callback.GLOBAL_INLINE_SCRIPTS),  # clientside callbacks' code
        )
        dash_callback.GLOBAL_CALLBACK_MAP.clear()
        dash_callback.GLOBAL_CALLBACK_LIST.clear()
        dash_callback.GLOBAL_INLINE_SCRIPTS.clear()
    callback_map, callback_list, inline_scripts = _callbacks
    app.callback_map.update(callback_map)
    app._callback_list.extend(callback_list)
    app._inline_scripts.extend(inline_scripts)


def create_app(settings: Settings | None = None, db: Database | None = None) -> dash.Dash:
    settings = settings or get_settings()
    db = db or database_for(settings.DATABASE_URL)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    load_user_strategies(settings.STRATEGY_PATH)  # failures on the Strategies page, not fatal
    server = create_server(settings, db)
    app = KeptIndexDash(
        "botdesk",
        server=server,
        use_pages=True,
        pages_folder="",
        assets_folder=str(ASSETS),
        title="botdesk",
        update_title=None,
        suppress_callback_exceptions=True,
        external_stylesheets=[],
        serve_locally=True,
    )
    _attach_pages_and_callbacks(app)
    app.layout = shell.layout
    wall.install(app)
    headers.install(app, settings)
    return app
