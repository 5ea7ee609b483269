"""`botdesk webhook issue|withdraw`: per-bot TradingView webhook tokens, from the host.

The same as the admin card on the desk's API keys page. The CLI acts as an admin; every
change is audited under `cli:<os user>`.
"""

import click

from botdesk.cli.common import actor, database, settings
from botdesk.db import webhook_tokens
from botdesk.db.models import Role
from botdesk.db.webhook_tokens import WebhookTokenError


@click.group("webhook")
def webhook() -> None:
    """TradingView webhook tokens: one per bot, shown once, stored hashed."""


@webhook.command("issue")
@click.argument("bot_name")
@click.option(
    "--base-url",
    default=None,
    help="The desk's address as TradingView reaches it (default: http://HOST:PORT).",
)
def issue(bot_name: str, base_url: str | None) -> None:
    """Issue (or rotate) BOT_NAME's token, turn its webhook on, print the URL once."""
    try:
        with database().writing() as session:
            bot = webhook_tokens.bot_named(session=session, name=bot_name)
            token = webhook_tokens.issue(session=session, bot=bot, actor=actor(), role=Role.ADMIN)
    except WebhookTokenError as error:
        raise click.ClickException(str(error)) from None
    base = (base_url or f"http://{settings().HOST}:{settings().PORT}").rstrip("/")
    click.echo(f"Webhook for {bot.name} ({bot.symbol}) is on. Shown once, store it now:")
    click.echo(f"{base}/webhook/tradingview/{token}")


@webhook.command("withdraw")
@click.argument("bot_name")
def withdraw(bot_name: str) -> None:
    """Turn BOT_NAME's webhook off and forget its token."""
    try:
        with database().writing() as session:
            bot = webhook_tokens.bot_named(session=session, name=bot_name)
            webhook_tokens.withdraw(session=session, bot=bot, actor=actor(), role=Role.ADMIN)
    except WebhookTokenError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"webhook for {bot.name} is off; its URL no longer works")
