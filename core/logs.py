"""Log lines an operator can search: `LOG_FORMAT=json` gives one JSON object per line.

Every line has `time` (UTC, ISO 8601), `level`, `logger` and `message`, and the `request_id`
of the request it was written in (`core.context`). The request line that
`audit.middleware.RequestLogMiddleware` writes adds `method`, `path`, `status`, `duration_ms`
and `actor` (the person's ledger pseudonym, never a name).

What a line may carry is a fixed list (`FIELDS`): a record's other attributes are never
written. Django's own records carry the whole `request` (its query string, its headers), and a
field added by a library tomorrow could carry anything. Messages and tracebacks pass through
`redact`, which blanks bearer tokens, credentials in query strings or forms, and e-mail
addresses, in case a message quotes one. A URL written whole (a webhook endpoint) goes through
`url_without_secrets`: every query value blanked, whatever its name.
"""

from __future__ import annotations

import logging
import math
import re
import threading
import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

from pythonjsonlogger.json import JsonFormatter

from . import context

# The fields a request line adds, from `extra=` (audit.middleware.RequestLogMiddleware).
REQUEST_FIELDS = ("method", "path", "status", "duration_ms", "actor")
FIELDS = ("time", "level", "logger", "message", "request_id", *REQUEST_FIELDS, "exc_info")

_BEARER = re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+")
_CREDENTIAL = re.compile(
    r"(?i)\b(access_token|refresh_token|id_token|token|password|passwd|secret|client_secret|"
    r"code|code_verifier|state|nonce|key|signature|csrfmiddlewaretoken)=[^&\s\"']*"
)
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
_JWT = re.compile(r"\beyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")
# Django's signed values (e-mailed links: team and expert invitations): payload:timestamp:signature.
_SIGNED = re.compile(r"\b[A-Za-z0-9_-]{8,}:[A-Za-z0-9]{4,}:[A-Za-z0-9_-]{20,}")
# The URL parts that are secrets (an e-mailed link's token, a password reset's user id) or name
# a person (a username in a team or GA4GH route): blanked in every logged path.
SECRET_PATH_PARTS = ("token", "uidb64", "username", "user")


def redact(text: str) -> str:
    """`text` with bearer tokens, JWTs, credentials given as `name=value` and e-mail addresses
    replaced by `[redacted]`."""
    text = _BEARER.sub(lambda m: f"{m.group(1)} [redacted]", text)
    text = _JWT.sub("[redacted]", text)
    text = _SIGNED.sub("[redacted]", text)
    text = _CREDENTIAL.sub(lambda m: f"{m.group(1)}=[redacted]", text)
    return _EMAIL.sub("[redacted]", text)


def path_without_secrets(request) -> str:
    """The request's path without its query string, its secret and personal parts
    (`SECRET_PATH_PARTS`, as the URL resolver named them) blanked, and anything `redact`
    would blank."""
    path = request.path
    match = getattr(request, "resolver_match", None)
    if match is not None:
        secret = {str(match.kwargs[n]) for n in SECRET_PATH_PARTS if match.kwargs.get(n)}
        if secret:
            # Whole segments only: a username like "api" must not blank "/api/" too.
            path = "/".join(
                "[redacted]" if unquote(part) in secret else part for part in path.split("/")
            )
    return redact(path)


def url_without_secrets(url: str) -> str:
    """`url` as the ledger and the logs may keep it: scheme, host, port and path (through
    `redact`), each query value `[redacted]` (names kept), no userinfo and no fragment. Some
    receivers take a token in the query string (`?token=…`) under any name, so every value goes."""
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    query = "&".join(
        f"{name}=[redacted]" if sep else "[redacted]"
        for name, sep, _value in (pair.partition("=") for pair in parts.query.split("&") if pair)
    )
    return urlunsplit((parts.scheme, host, redact(parts.path), query, ""))


def _message(record, message_dict) -> str:
    """The record's message, redacted. Django's own records ("Not Found: /invitations/…/",
    "Forbidden (CSRF cookie not set.): …") quote the request's raw path: it is replaced by the
    path with its secret parts blanked first."""
    text = str(record.message or message_dict.get("message", ""))
    request = getattr(record, "request", None)
    path = getattr(request, "path", None)
    if path and path in text:
        text = text.replace(path, path_without_secrets(request))
    return redact(text)


class TesseraJsonFormatter(JsonFormatter):
    """python-json-logger's formatter, writing only `FIELDS` (see the module)."""

    def add_fields(self, log_data: dict[str, Any], record, message_dict: dict[str, Any]) -> None:
        log_data["time"] = datetime.fromtimestamp(record.created, UTC).isoformat(
            timespec="milliseconds"
        )
        log_data["level"] = record.levelname
        log_data["logger"] = record.name
        log_data["message"] = _message(record, message_dict)
        request_id = getattr(record, "request_id", "") or context.current().request_id
        if request_id:
            log_data["request_id"] = request_id
        for name in REQUEST_FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                log_data[name] = value
        if message_dict.get("exc_info"):
            log_data["exc_info"] = redact(str(message_dict["exc_info"]))


class CacheOutage(logging.Filter):
    """django-redis logs every cache call it let fail (IGNORE_EXCEPTIONS) with a traceback:
    during a Redis outage, several per request. This lets one line through per `interval`
    seconds and process, saying what failed and how many calls failed since the last line."""

    def __init__(self, interval: float = 60.0):
        super().__init__()
        self.interval = interval
        self.last = -math.inf
        self.failed = 0
        self.lock = threading.Lock()

    def filter(self, record: logging.LogRecord) -> bool:
        now = time.monotonic()
        with self.lock:
            self.failed += 1
            if now - self.last < self.interval:
                return False
            self.last, failed, self.failed = now, self.failed, 0
        error = record.exc_info[1] if record.exc_info else None
        cause = getattr(error, "__cause__", None) or error
        # django-redis passes the exception; django-prometheus' backend logs its text, which
        # starts with the kind ("Redis ConnectionError: Error 111 connecting to host:port").
        what = type(cause).__name__ if cause is not None else record.getMessage().split(":")[0]
        record.msg = "cache unreachable (%s): requests go on without it; %d failed calls since the last such line"
        record.args = (what, failed)
        record.exc_info = record.exc_text = None
        record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


def logging_config(log_format: str, *, level: str) -> dict[str, Any]:
    """The LOGGING setting for `plain` or `json` lines on standard error."""
    formatter = (
        {"()": "core.logs.TesseraJsonFormatter"}
        if log_format == "json"
        else {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}
    )
    config: dict[str, Any] = {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"tessera": formatter},
        "filters": {"cache_outage": {"()": "core.logs.CacheOutage"}},
        "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "tessera"}},
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            # Django's own console handler (DEBUG only) would write a second, plain line for
            # each of its records: they go to the root's handler alone. (ADMINS is unset, so
            # its mail_admins handler had nothing to do.)
            "django": {"handlers": [], "propagate": True},
            "django.db.backends": {"level": "WARNING"},
            # Eager Celery logs every task at INFO; keep the development console readable.
            "celery.app.trace": {"level": "WARNING"},
            # django-redis, for each cache call that failed and was let go (settings.CACHES).
            "tessera.cache": {"filters": ["cache_outage"]},
        },
    }
    if log_format == "json":
        # runserver's own request lines repeat ours, with the query string: only its warnings,
        # through our handler (its own writes plain text).
        config["loggers"]["django.server"] = {
            "handlers": ["console"],
            "level": "WARNING",
            "propagate": False,
        }
    return config
