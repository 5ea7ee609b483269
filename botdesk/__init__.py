"""botdesk: an operator desk for automated crypto trading (engine + desk over one database)."""

__version__ = "0.1.0"
