"""Per-bot TradingView webhook tokens: issued or rotated by an admin, shown once, stored hashed.

Issuing a token also sets the bot to accept webhook signals; turning webhooks off clears the
token, so only bots that accept webhook signals have one, and a rotated token stops working
at once.
"""

import hashlib
import re
import secrets

from sqlmodel import Session, col, select

from botdesk.db import audit
from botdesk.db.models import Bot, Role
from botdesk.db.types import utcnow

TOKEN_PATTERN = re.compile(r"^whk_[A-Za-z0-9_-]{43}$")


class WebhookTokenError(ValueError):
    """A token cannot be issued or withdrawn as asked; the message says why."""


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _require_admin(role: Role | str) -> None:
    if Role(role) != Role.ADMIN:
        raise WebhookTokenError("managing webhook tokens needs the admin role")


def bot_named(*, session: Session, name: str) -> Bot:
    bot = session.exec(select(Bot).where(Bot.name == name.strip())).first()
    if bot is None:
        raise WebhookTokenError(f"no bot named {name.strip()!r}")
    return bot


def issue(
    *,
    session: Session,
    bot: Bot,
    actor: str,
    role: Role | str,
    actor_user_id: int | None = None,
    ip: str | None = None,
) -> str:
    """Give the bot a new token (replacing any old one) and accept webhooks; returns the token."""
    _require_admin(role)
    token = f"whk_{secrets.token_urlsafe(32)}"
    action = "webhook_token.rotate" if bot.webhook_token_hash else "webhook_token.issue"
    _set(session, bot, hash_token(token), action, actor, actor_user_id, ip)
    return token


def withdraw(
    *,
    session: Session,
    bot: Bot,
    actor: str,
    role: Role | str,
    actor_user_id: int | None = None,
    ip: str | None = None,
) -> None:
    """Stop accepting webhook signals for the bot and forget its token."""
    _require_admin(role)
    if not bot.accepts_webhook and bot.webhook_token_hash is None:
        raise WebhookTokenError(f"bot {bot.name!r} does not accept webhook signals")
    _set(session, bot, None, "webhook_token.withdraw", actor, actor_user_id, ip)


def _set(session, bot, token_hash, action, actor, actor_user_id, ip) -> None:
    bot.webhook_token_hash = token_hash
    bot.accepts_webhook = token_hash is not None
    bot.updated_at = utcnow()
    session.add(bot)
    audit.record(
        session=session,
        actor=actor,
        user_id=actor_user_id,
        action=action,
        target=f"bot:{bot.id}",
        ip=ip,
        details={"bot": bot.name},
    )


def bot_for_token(*, session: Session, token: str) -> Bot | None:
    """The bot this token belongs to, if it is well formed and current."""
    if not TOKEN_PATTERN.match(token or ""):
        return None
    return session.exec(select(Bot).where(Bot.webhook_token_hash == hash_token(token))).first()


def bots_by_name(*, session: Session) -> list[Bot]:
    """Every bot, for the admin's webhook control (which ones accept alerts is on each)."""
    return list(session.exec(select(Bot).order_by(col(Bot.name))))
