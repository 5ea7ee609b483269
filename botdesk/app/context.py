"""What a request handler needs from the desk process: its database and its settings."""

from flask import current_app

from botdesk.db.session import Database
from botdesk.settings import Settings


def desk_db() -> Database:
    return current_app.config["BOTDESK_DB"]


def desk_settings() -> Settings:
    return current_app.config["BOTDESK_SETTINGS"]
