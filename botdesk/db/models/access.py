"""People and access: users, backup codes, API keys, exchange accounts."""

from datetime import datetime

from sqlmodel import Field, SQLModel

from botdesk.db.models.columns import check_in, time_column
from botdesk.db.models.vocabulary import (
    Environment,
    Role,
    Scope,
)


class User(SQLModel, table=True):
    __tablename__ = "user"
    __table_args__ = (check_in("role", Role, "ck_user_role"),)

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=64, unique=True, index=True)
    password_hash: str = Field(max_length=255)
    role: str = Field(default=Role.VIEWER, max_length=16)
    disabled: bool = Field(default=False)
    totp_secret_encrypted: str | None = Field(default=None, max_length=512)
    totp_enabled: bool = Field(default=False)
    totp_last_step: int | None = Field(default=None)  # refuses a code from a step already used
    failed_attempts: int = Field(default=0)
    locked_until: datetime | None = time_column()
    session_version: int = Field(default=1)  # bumped to revoke every session of the user
    created_at: datetime = time_column(nullable=False)
    last_login_at: datetime | None = time_column()
    password_changed_at: datetime | None = time_column()


class BackupCode(SQLModel, table=True):
    __tablename__ = "backup_code"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True, ondelete="CASCADE")
    code_hash: str = Field(max_length=255)
    used_at: datetime | None = time_column()
    created_at: datetime = time_column(nullable=False)


class ApiKey(SQLModel, table=True):
    __tablename__ = "api_key"
    __table_args__ = (check_in("scope", Scope, "ck_api_key_scope"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True, ondelete="CASCADE")
    name: str = Field(max_length=100)
    prefix: str = Field(max_length=32, unique=True, index=True)  # visible part, e.g. bd_3f9a1c
    key_hash: str = Field(max_length=255)
    scope: str = Field(max_length=16)
    created_at: datetime = time_column(nullable=False)
    expires_at: datetime | None = time_column()
    last_used_at: datetime | None = time_column()
    revoked_at: datetime | None = time_column()
    # addresses the key is accepted from: CIDRs separated by commas, None for anywhere
    allowed_ips: str | None = Field(default=None, max_length=2000)


class ExchangeAccount(SQLModel, table=True):
    __tablename__ = "exchange_account"
    __table_args__ = (check_in("environment", Environment, "ck_exchange_account_environment"),)

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100, unique=True)
    venue: str = Field(default="binance", max_length=32)
    environment: str = Field(default=Environment.TESTNET, max_length=16)
    api_key_encrypted: str = Field(max_length=1024)
    api_secret_encrypted: str = Field(max_length=1024)
    api_key_last4: str = Field(max_length=4)
    base_url: str | None = Field(default=None, max_length=255)  # only for a local test server
    created_by: str | None = Field(default=None, max_length=64)
    created_at: datetime = time_column(nullable=False)
    updated_at: datetime | None = time_column()
