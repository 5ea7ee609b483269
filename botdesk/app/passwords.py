"""argon2id password hashing (argon2-cffi), with rehash when the parameters change."""

import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

_hasher = PasswordHasher()  # argon2id, the library's current recommended parameters

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 1024  # the sign-in form reads no more


class WeakPassword(ValueError):
    """The password does not meet the minimum the desk accepts."""


def check_strength(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise WeakPassword(f"password must be at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise WeakPassword(
            f"password: at most {MAX_PASSWORD_LENGTH} characters ({len(password)} given)"
        )
    if password.strip() != password:
        raise WeakPassword("password must not start or end with a space")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(stored_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    return _hasher.check_needs_rehash(stored_hash)


def generate_password() -> str:
    return secrets.token_urlsafe(15)  # 20 characters, ~120 bits


# A real hash to verify against when the username is unknown, so timing does not reveal it.
DUMMY_HASH = hash_password(secrets.token_urlsafe(16))
