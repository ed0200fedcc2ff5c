"""Standard Webhooks signatures (https://www.standardwebhooks.com/): the secret's format and the
three headers of a request. Pure: knows the `standardwebhooks` package and nothing of the ORM."""

from __future__ import annotations

import base64
import binascii
import secrets
import uuid
from datetime import datetime
from math import floor

from standardwebhooks.webhooks import Webhook

PREFIX = "whsec_"
# The specification asks for secrets of 24 to 64 random bytes; ours are 32.
MIN_BYTES, MAX_BYTES, NEW_BYTES = 24, 64, 32


def secret_new() -> str:
    return PREFIX + base64.b64encode(secrets.token_bytes(NEW_BYTES)).decode()


def secret_problem(secret: str) -> str | None:
    """Why `secret` is not a Standard Webhooks secret ("whsec_" + base64 of 24-64 bytes), or None."""
    if not secret.startswith(PREFIX):
        return f"A webhook secret starts with {PREFIX!r} (Standard Webhooks)."
    try:
        raw = base64.b64decode(secret[len(PREFIX) :], validate=True)
    except (binascii.Error, ValueError):
        return f"A webhook secret is {PREFIX!r} followed by base64."
    if not MIN_BYTES <= len(raw) <= MAX_BYTES:
        return f"A webhook secret holds {MIN_BYTES} to {MAX_BYTES} random bytes."
    return None


def webhook_id_new() -> str:
    return f"msg_{uuid.uuid4().hex}"


def signed_headers(*, secret: str, webhook_id: str, timestamp: datetime, body: bytes) -> dict:
    """The headers of one attempt: the id is the delivery's, the timestamp the attempt's."""
    return {
        "content-type": "application/json",
        "webhook-id": webhook_id,
        "webhook-timestamp": str(floor(timestamp.timestamp())),
        "webhook-signature": Webhook(secret).sign(
            msg_id=webhook_id, timestamp=timestamp, data=body
        ),
    }
