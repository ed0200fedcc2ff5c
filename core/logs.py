"""Log lines an operator can search: `LOG_FORMAT=json` gives one JSON object per line.

Every line has `time` (UTC, ISO 8601), `level`, `logger` and `message`, and the `request_id`
of the request it was written in (`core.context`). The request line that
`audit.middleware.RequestLogMiddleware` writes adds `method`, `path`, `status`, `duration_ms`
and `actor` (the person's ledger pseudonym, never a name).

What a line may carry is a fixed list (`FIELDS`): a record's other attributes are never
written. Django's own records carry the whole `request` (its query string, its headers), and a
field added by a library tomorrow could carry anything. Messages and tracebacks pass through
`redact`, which blanks bearer tokens, credentials in query strings or forms, and e-mail
addresses, in case a message quotes one.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

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


def redact(text: str) -> str:
    """`text` with bearer tokens, JWTs, credentials given as `name=value` and e-mail addresses
    replaced by `[redacted]`."""
    text = _BEARER.sub(lambda m: f"{m.group(1)} [redacted]", text)
    text = _JWT.sub("[redacted]", text)
    text = _CREDENTIAL.sub(lambda m: f"{m.group(1)}=[redacted]", text)
    return _EMAIL.sub("[redacted]", text)


class TesseraJsonFormatter(JsonFormatter):
    """python-json-logger's formatter, writing only `FIELDS` (see the module)."""

    def add_fields(self, log_data: dict[str, Any], record, message_dict: dict[str, Any]) -> None:
        log_data["time"] = datetime.fromtimestamp(record.created, UTC).isoformat(
            timespec="milliseconds"
        )
        log_data["level"] = record.levelname
        log_data["logger"] = record.name
        log_data["message"] = redact(str(record.message or message_dict.get("message", "")))
        request_id = getattr(record, "request_id", "") or context.current().request_id
        if request_id:
            log_data["request_id"] = request_id
        for name in REQUEST_FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                log_data[name] = value
        if message_dict.get("exc_info"):
            log_data["exc_info"] = redact(str(message_dict["exc_info"]))


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
