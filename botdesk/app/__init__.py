"""The desk process: Dash app factory, auth wall, roles, REST API, CSV exports, components."""
