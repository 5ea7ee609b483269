"""WSGI entry point for gunicorn: `gunicorn botdesk.app.wsgi:server`."""

from botdesk.app.factory import create_app
from botdesk.logs import configure_logging

configure_logging("web")
app = create_app()
server = app.server
