"""The OpenID provider Tessera signs people in with, through Authlib's Django client.

Authlib does the protocol: discovery (`<issuer>/.well-known/openid-configuration`), the
authorisation code flow with PKCE (S256), state and nonce kept in the session, the code
exchange, and the ID token's checks (signature against the provider's JWKS with the algorithms
discovery names, `iss`, `aud`, `exp`, `iat`, `nonce`, `at_hash`). Tessera adds one rule: `iss`
must be exactly `TESSERA_OIDC_ISSUER`, not merely what the discovery document says.

Nothing here writes: the views (`accounts.views`) call the services (`accounts.services`) with
what `finish()` returns, and record failures through `accounts.services.identity_sign_in_failed`
with the `reason` (an `accounts.choices.SignInFailure`) of the `SignInFailed` raised here.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass

import requests
from authlib.common.errors import AuthlibBaseError
from authlib.integrations.base_client import MismatchingStateError, OAuthError
from authlib.integrations.django_client import OAuth
from django.conf import settings
from joserfc.errors import JoseError

from .choices import SignInFailure

NAME = "tessera_oidc"
_CODE_JUNK = re.compile(r"[^A-Za-z0-9_.-]+")
DENIED = SignInFailure.DENIED
PROVIDER_ERROR = SignInFailure.PROVIDER_ERROR
BAD_STATE = SignInFailure.BAD_STATE
UNREACHABLE = SignInFailure.UNREACHABLE
BAD_ID_TOKEN = SignInFailure.BAD_ID_TOKEN


class SignInFailed(Exception):
    """The provider's answer cannot sign anyone in; `reason` says why (the ledger's code)."""

    def __init__(self, reason: SignInFailure, detail: str = ""):
        super().__init__(reason)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class Provider:
    """The configured provider (None when TESSERA_OIDC_ISSUER is unset)."""

    issuer: str
    name: str
    client: object  # Authlib's DjangoOAuth2App


_lock = threading.Lock()
_clients: dict[tuple, object] = {}


def provider() -> Provider | None:
    """The provider of the current settings, or None: no issuer, no provider sign-in.

    Authlib caches the discovery document and keys on its client, so one client is kept per
    configuration (tests change the settings; a site has one)."""
    issuer = settings.TESSERA_OIDC_ISSUER.strip()  # compared exactly with the ID token's iss
    if not issuer:
        return None
    key = (
        issuer,
        settings.TESSERA_OIDC_CLIENT_ID,
        settings.TESSERA_OIDC_CLIENT_SECRET,
        settings.TESSERA_OIDC_SCOPES,
        settings.TESSERA_OIDC_TIMEOUT,
    )
    with _lock:
        client = _clients.get(key)
        if client is None:
            registry = OAuth()
            client = registry.register(
                NAME,
                client_id=settings.TESSERA_OIDC_CLIENT_ID,
                client_secret=settings.TESSERA_OIDC_CLIENT_SECRET,
                server_metadata_url=discovery_url(issuer),
                client_kwargs={
                    "scope": settings.TESSERA_OIDC_SCOPES,
                    "code_challenge_method": "S256",
                    "default_timeout": settings.TESSERA_OIDC_TIMEOUT,
                },
            )
            _clients[key] = client
    return Provider(issuer=issuer, name=settings.TESSERA_OIDC_NAME, client=client)


def discovery_url(issuer: str) -> str:
    """OpenID Connect Discovery 1.0, section 4: the issuer without a trailing "/", then
    /.well-known/openid-configuration."""
    return f"{issuer.rstrip('/')}/.well-known/openid-configuration"


def start(request, *, provider: Provider, redirect_uri: str):
    """The redirect to the provider's authorisation endpoint (state, nonce and the PKCE
    verifier go into the session). Raises SignInFailed(UNREACHABLE) when discovery fails."""
    try:
        return provider.client.authorize_redirect(request, redirect_uri)
    except (requests.RequestException, ValueError) as exc:
        raise SignInFailed(UNREACHABLE, type(exc).__name__) from None


def finish(request, *, provider: Provider) -> tuple[dict, str]:
    """The verified claims of the person the provider signed in, and the raw ID token (for the
    end-session hint). Raises SignInFailed with the reason."""
    if "error" in request.GET:
        # An OAuth error code is [\x20-\x7e]; keep what a log line can hold safely.
        error = _CODE_JUNK.sub("", request.GET.get("error", ""))[:64]
        raise SignInFailed(DENIED if error == "access_denied" else PROVIDER_ERROR, error)
    try:
        token = provider.client.authorize_access_token(
            request,
            claims_options={
                "iss": {"essential": True, "values": [provider.issuer]},
                "sub": {"essential": True},
            },
        )
    except MismatchingStateError:
        raise SignInFailed(BAD_STATE) from None
    except requests.RequestException as exc:
        raise SignInFailed(UNREACHABLE, type(exc).__name__) from None
    except OAuthError as exc:  # the token endpoint's refusal (an invalid or reused code)
        raise SignInFailed(PROVIDER_ERROR, _CODE_JUNK.sub("", exc.error or "")[:64]) from None
    except (AuthlibBaseError, JoseError, ValueError) as exc:
        # A bad signature, wrong issuer or audience, expired, wrong nonce, malformed token. The
        # libraries' messages name the claim, never its value.
        raise SignInFailed(BAD_ID_TOKEN, f"{type(exc).__name__}: {exc}"[:200]) from None
    claims = token.get("userinfo")
    if not claims or not claims.get("sub"):
        # No ID token (or none Authlib could check against a nonce): nothing vouches for anyone.
        raise SignInFailed(BAD_ID_TOKEN, "no ID token")
    claims = dict(claims)
    extra = _userinfo(provider, token)
    if extra.get("sub") == claims["sub"]:
        # OIDC Core 5.3.2: userinfo counts only for the ID token's subject; the ID token wins.
        claims = {**extra, **claims}
    return claims, token.get("id_token", "")


def _userinfo(provider: Provider, token: dict) -> dict:
    """The userinfo endpoint's claims (providers such as LS Login send affiliation there), or
    {} when the provider has none or does not answer: the ID token alone still signs in."""
    metadata = provider.client.load_server_metadata()
    if not metadata.get("userinfo_endpoint") or not token.get("access_token"):
        return {}
    try:
        return dict(provider.client.userinfo(token=token))
    except (requests.RequestException, ValueError, AuthlibBaseError):
        return {}


def end_session_url(*, provider: Provider, id_token: str, post_logout_redirect_uri: str) -> str:
    """The provider's end-session URL (RP-initiated logout), or "" when it has none or cannot be
    reached."""
    try:
        metadata = provider.client.load_server_metadata()
    except (requests.RequestException, ValueError):
        return ""
    if not metadata.get("end_session_endpoint"):
        return ""
    extra = {"client_id": settings.TESSERA_OIDC_CLIENT_ID}
    return provider.client.create_logout_url(
        post_logout_redirect_uri=post_logout_redirect_uri, id_token_hint=id_token or None, **extra
    )["url"]
