"""The session secret and the data-encryption key: from settings, or generated once into var/."""

import os
import secrets
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from botdesk.settings import Settings, get_settings


def _read_or_create(path: Path, generate) -> str:
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    value = generate()
    # O_EXCL: when two processes race at first start, one writes and the other reads.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(value + "\n")
    return value


def secret_key(settings: Settings | None = None) -> str:
    settings = settings or get_settings()
    if settings.SECRET_KEY:
        return settings.SECRET_KEY
    return _read_or_create(settings.VAR_DIR / "secret_key", lambda: secrets.token_urlsafe(48))


def data_key(settings: Settings | None = None) -> str:
    settings = settings or get_settings()
    if settings.DATA_KEY:
        return settings.DATA_KEY
    return _read_or_create(settings.VAR_DIR / "data_key", lambda: Fernet.generate_key().decode())


def ensure_keys(settings: Settings | None = None) -> None:
    """Create both keys when they are not configured (botdesk init)."""
    secret_key(settings)
    data_key(settings)


class DecryptionError(Exception):
    """Stored ciphertext cannot be read with the configured DATA_KEY."""


def encrypt(plaintext: str, settings: Settings | None = None) -> str:
    return Fernet(data_key(settings).encode()).encrypt(plaintext.encode()).decode()


def decrypt(ciphertext: str, settings: Settings | None = None) -> str:
    try:
        return Fernet(data_key(settings).encode()).decrypt(ciphertext.encode()).decode()
    except InvalidToken as exc:
        raise DecryptionError(
            "stored secret cannot be decrypted: BOTDESK_DATA_KEY differs from the key it was "
            "encrypted with"
        ) from exc
