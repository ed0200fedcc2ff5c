"""Names and e-mail addresses held in catalogue objects: the ledger and django-auditlog record
that such a field changed, never its value (README "GDPR": payloads hold no names or
addresses; the ledger is append-only, so a value written there could never be erased).

`PERSONAL_FIELDS` is the one list. The typed events (`audit.events._record`), the
field-change capture (`audit.capture`) and auditlog's own masking (`governance.auditing`,
`mask_callable="audit.personal.mask"`) all derive from it.

In place of a value they keep a fingerprint: an HMAC-SHA256 under `AUDIT_PERSONAL_FIELD_KEY`
(by default derived from SECRET_KEY). Equal values give equal fingerprints, so an auditor with
the key can confirm a value someone claims ("was the DPO address dpo@example.org on that
date?"), but the ledger alone reveals nothing. Changing the key changes later fingerprints only.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.utils.crypto import salted_hmac

# Model label (app_label.model_name) -> the fields that name or address a person.
PERSONAL_FIELDS: dict[str, frozenset[str]] = {
    "governance.organisation": frozenset({"dpo_name", "dpo_email"}),
    "governance.dataaccesscommittee": frozenset({"contact_email"}),
}

PREFIX = "hmac-sha256:"
_SALT = "tessera.audit.personal"
# auditlog masks `smart_str(value)`, so an unset field arrives as "None".
_EMPTY = (None, "", "None")


def personal_fields(label: str) -> frozenset[str]:
    return PERSONAL_FIELDS.get(label, frozenset())


def fingerprint(value: Any) -> Any:
    """The keyed hash standing for a personal value; an empty value stays as it is (that a
    field was cleared or filled is not personal), and a fingerprint is not hashed again."""
    if value in _EMPTY or (isinstance(value, str) and value.startswith(PREFIX)):
        return value
    key = getattr(settings, "AUDIT_PERSONAL_FIELD_KEY", None) or settings.SECRET_KEY
    return PREFIX + salted_hmac(_SALT, str(value), secret=key, algorithm="sha256").hexdigest()


def mask(value: str) -> str:
    """django-auditlog's `mask_callable` for the fields in `PERSONAL_FIELDS`."""
    return fingerprint(value)


def redact(label: str, values: dict[str, Any]) -> dict[str, Any]:
    """`{field: value}` or `{field: [before, after]}` of a `label` object, with every personal
    value replaced by its fingerprint."""
    fields = personal_fields(label)
    if not fields or not isinstance(values, dict):
        return values
    out = {}
    for name, value in values.items():
        if name not in fields:
            out[name] = value
        elif isinstance(value, list | tuple):
            out[name] = [fingerprint(v) for v in value]
        else:
            out[name] = fingerprint(value)
    return out
