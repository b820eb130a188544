"""Encryption at rest for stored credentials (Airtable tokens)."""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken

from services.errors import ConfigurationError


class TokenCipher:
    """Fernet (AES-128-CBC + HMAC-SHA256) with a key derived from `ENCRYPTION_KEY`."""

    def __init__(self, encryption_key: str) -> None:
        digest = hashlib.sha256(b"pyairtable-assistant/token-cipher/v1" + encryption_key.encode())
        self._fernet = Fernet(base64.urlsafe_b64encode(digest.digest()))

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode()

    def decrypt(self, ciphertext: str) -> str:
        try:
            return self._fernet.decrypt(ciphertext.encode()).decode()
        except InvalidToken as exc:
            raise ConfigurationError(
                "A stored token cannot be decrypted: ENCRYPTION_KEY has changed."
            ) from exc
