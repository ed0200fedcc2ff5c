"""The trusted GA4GH visa issuers, read from TESSERA_TRUSTED_VISA_ISSUERS (config/settings.py).

The value lists `iss|jku` pairs, separated by commas or newlines:

    TESSERA_TRUSTED_VISA_ISSUERS="https://login.elixir-czech.org/oidc/|https://login.elixir-czech.org/oidc/jwk"

`iss` is exactly the visa's `iss` claim; `jku` is the URL of that issuer's JWKS, which must be
exactly the `jku` in the visa's header. Keys are fetched only from these URLs
(accounts/passports.py). An issuer may be listed once. In production every `jku` must be https.
A wrong value stops Django at start-up with a message naming the entry, never a guess.
"""

from __future__ import annotations

import re
from urllib.parse import urlparse

from django.core.exceptions import ImproperlyConfigured

VARIABLE = "TESSERA_TRUSTED_VISA_ISSUERS"


def parse_trusted_issuers(text: str, *, require_https: bool) -> dict[str, str]:
    """{iss: jku} from the setting's text; blank text trusts no issuer."""
    issuers: dict[str, str] = {}
    for entry in (e.strip() for e in re.split(r"[,\n]", text or "")):
        if not entry:
            continue
        parts = [p.strip() for p in entry.split("|")]
        if len(parts) != 2 or not all(parts):
            raise ImproperlyConfigured(
                f"{VARIABLE}: {entry!r} is not an 'iss|jku' pair (the issuer, a '|', then the "
                "URL of its JWKS)."
            )
        iss, jku = parts
        url = urlparse(jku)
        allowed = ("https",) if require_https else ("https", "http")
        if url.scheme not in allowed or not url.netloc:
            raise ImproperlyConfigured(
                f"{VARIABLE}: the JWKS URL of {iss!r} must be an {' or '.join(allowed)} URL."
            )
        if iss in issuers:
            raise ImproperlyConfigured(f"{VARIABLE}: {iss!r} is listed twice.")
        issuers[iss] = jku
    return issuers
