"""Standard Webhooks signatures (`webhook-id`, `webhook-timestamp`, `webhook-signature`),
made by the `standardwebhooks` package itself.

During a secret rotation's overlap the header carries one `v1,` signature per secret,
space separated, as the spec allows: a receiver that knows either secret verifies.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Sequence
from datetime import UTC, datetime

from standardwebhooks import Webhook

SECRET_PREFIX = "whsec_"  # noqa: S105 - the format's prefix, not a secret
SECRET_BYTES = 24


def new_secret() -> str:
    """A fresh `whsec_…` secret (24 random bytes, base64)."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def message_id(*parts: str) -> str:
    """A stable `webhook-id` for what `parts` name (an endpoint and an event, a run's step)."""
    digest = hashlib.sha256("|".join(parts).encode()).hexdigest()
    return f"msg_{digest[:32]}"


def signature(signers: Sequence[Webhook], msg_id: str, at: datetime, payload: bytes) -> str:
    """The `webhook-signature` value: one `v1,<base64>` per secret."""
    return " ".join(signer.sign(msg_id, at, payload) for signer in signers)


def signed_headers(
    signers: Sequence[Webhook], msg_id: str, payload: bytes, *, at: datetime | None = None
) -> dict[str, str]:
    """The three Standard Webhooks headers (and the JSON content type) for one attempt."""
    at = at or datetime.now(UTC)
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": signature(signers, msg_id, at, payload),
        "content-type": "application/json",
    }
