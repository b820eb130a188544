"""Signed, expiring tokens for the HTML forms that post to `/api/auth/*`.

Together with the Origin check in the routes and SameSite=Lax cookies, they stop
cross-site requests from signing people in or out.
"""

from __future__ import annotations

import hashlib
import hmac
import time

_MAX_AGE_S = 2 * 3600


class FormTokens:
    def __init__(self, secret: str) -> None:
        self._key = hashlib.sha256(b"form-token/" + secret.encode()).digest()

    def _sign(self, purpose: str, issued: int) -> str:
        message = f"{purpose}:{issued}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()

    def issue(self, purpose: str, *, now: float | None = None) -> str:
        issued = int(now if now is not None else time.time())
        return f"{issued}.{self._sign(purpose, issued)}"

    def valid(self, purpose: str, token: str, *, now: float | None = None) -> bool:
        issued_text, _, signature = token.partition(".")
        # isdecimal, not isdigit: "²" is a digit that int() refuses.
        if not issued_text.isdecimal():
            return False
        issued = int(issued_text)
        age = (now if now is not None else time.time()) - issued
        if not 0 <= age <= _MAX_AGE_S:
            return False
        return hmac.compare_digest(signature, self._sign(purpose, issued))
