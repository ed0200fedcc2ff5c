"""When a webhook may go where, and when it is tried again. Pure: no database."""

from __future__ import annotations

from datetime import datetime, timedelta
from urllib.parse import urlsplit

# The first retry after this many seconds, each later one twice as late, at most this many.
FIRST_RETRY_SECONDS = 5
LONGEST_WAIT_SECONDS = 3600


def url_problem(url: str, *, debug: bool) -> str | None:
    """Why an endpoint may not receive webhooks, or None. Plain HTTP only while DEBUG is on."""
    parts = urlsplit(url or "")
    allowed = ("https", "http") if debug else ("https",)
    if parts.scheme not in allowed:
        return "A webhook endpoint must use HTTPS." if not debug else "Use an http(s) URL."
    if not parts.hostname:
        return "The endpoint's URL has no host."
    if parts.username or parts.password:
        return "Put no credentials in the URL: the signature authenticates each request."
    return None


def retry_at(
    *, created_at: datetime, attempts: int, now: datetime, hours: float
) -> datetime | None:
    """After `attempts` failed attempts, when to try again: exponential backoff, or None once
    the delivery is `hours` old (it is then given up)."""
    if now >= created_at + timedelta(hours=hours):
        return None
    wait = min(FIRST_RETRY_SECONDS * 2 ** max(attempts - 1, 0), LONGEST_WAIT_SECONDS)
    return now + timedelta(seconds=wait)
