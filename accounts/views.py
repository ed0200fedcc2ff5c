"""Sign-in and sign-out: the login page (the identity provider first, the local password
second), the OpenID Connect redirect and callback, and sign-out that offers the provider's
end-session endpoint.

The protocol is Authlib's (accounts/oidc.py); the writes are the services' (accounts/services.py).
Every failure of the flow is a page with a 4xx status (503 when the provider cannot be reached)
and an auth.identity_sign_in_failed event, never a 500.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from core.exceptions import Conflict, Forbidden

from . import mfa, oidc, passports, selectors, services
from .choices import SignInFailure

# The session keys of a sign-in in progress and of the provider's ID token (the end-session
# hint). Authlib keeps its own (state, nonce, PKCE verifier) under `_state_tessera_oidc_*`.
SESSION_INTENT = "tessera_oidc_intent"
SESSION_ID_TOKEN = "tessera_oidc_id_token"  # noqa: S105 - a session key, not a secret
BACKEND = "django.contrib.auth.backends.ModelBackend"

logger = logging.getLogger(__name__)

STATUS = {
    SignInFailure.DENIED: 403,
    SignInFailure.SUSPENDED: 403,
    SignInFailure.LINKED_ELSEWHERE: 409,
    SignInFailure.UNREACHABLE: 503,
}


def _provider() -> oidc.Provider:
    provider = oidc.provider()
    if provider is None:  # no issuer configured: local sign-in only
        raise Http404
    return provider


def _safe_next(request, candidate: str | None) -> str:
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return ""


def _callback_url() -> str:
    # The redirect URI registered with the provider: the site's public URL, not the Host header.
    return f"{settings.TESSERA_BASE_URL}{reverse('oidc-callback')}"


def _failed(request, provider: oidc.Provider, reason: SignInFailure, *, user=None, detail=""):
    # The detail is an error code or an exception's class name, never a token or a claim.
    logger.warning("Sign-in with %s failed: %s %s", provider.issuer, reason.value, detail)
    services.identity_sign_in_failed(issuer=provider.issuer, reason=reason, user=user)
    response = render(
        request,
        "registration/oidc_failed.html",
        {
            "provider_name": provider.name,
            "reason": reason.label,
            "retry": reason not in (SignInFailure.SUSPENDED, SignInFailure.LINKED_ELSEWHERE),
        },
        status=STATUS.get(reason, 400),
    )
    if reason == SignInFailure.UNREACHABLE:
        response["Retry-After"] = "60"
    return response


class LoginView(auth_views.LoginView):
    """Django's login view; its page offers the identity provider (when one is configured)
    before the username and password form."""

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        provider = oidc.provider()
        context["oidc_name"] = provider.name if provider else ""
        return context


class LogoutView(auth_views.LogoutView):
    """Django's logout (POST only). When the session came from the provider and the provider
    has an end-session endpoint, the page after it offers to sign out there too."""

    def post(self, request, *args, **kwargs):
        id_token = request.session.get(SESSION_ID_TOKEN, "")
        response = super().post(request, *args, **kwargs)
        provider = oidc.provider()
        if provider is None or not id_token:
            return response
        end_session = oidc.end_session_url(
            provider=provider,
            id_token=id_token,
            post_logout_redirect_uri=f"{settings.TESSERA_BASE_URL}{reverse('portal:home')}",
        )
        if not end_session:
            return response
        return render(
            request,
            "registration/signed_out.html",
            {"provider_name": provider.name, "end_session_url": end_session},
        )


@never_cache
@require_GET
def oidc_login(request):
    """Send the person to the provider to sign in. Someone already signed in goes where they
    were going: a sign-in never starts from a signed-in session (a link on another site could
    otherwise switch them to an identity they did not choose); linking is `oidc_link`."""
    if request.user.is_authenticated:
        return redirect(_safe_next(request, request.GET.get("next")) or "account")
    return _to_provider(request, next_url=request.GET.get("next"), link=None)


@never_cache
@login_required
@require_POST
def oidc_link(request):
    """Link the identity the person signs in with at the provider to their signed-in account
    (accounts.services.identity_link). A POST with the CSRF token, from the account page only:
    a cross-site link cannot start it (the identity could be someone else's)."""
    return _to_provider(request, next_url=request.POST.get("next"), link=request.user.pk)


def _to_provider(request, *, next_url: str | None, link: int | None):
    provider = _provider()
    request.session[SESSION_INTENT] = {"next": _safe_next(request, next_url), "link": link}
    try:
        return oidc.start(request, provider=provider, redirect_uri=_callback_url())
    except oidc.SignInFailed as failed:
        return _failed(request, provider, failed.reason, detail=failed.detail)


@never_cache
@require_GET
def oidc_callback(request):
    """The provider's answer: sign the person in (their account created on first sign-in), or
    link the identity to the signed-in account, or say why not."""
    provider = _provider()
    intent = request.session.pop(SESSION_INTENT, None) or {}
    try:
        claims, id_token = oidc.finish(request, provider=provider)
    except oidc.SignInFailed as failed:
        return _failed(request, provider, failed.reason, detail=failed.detail)
    subject = claims["sub"]
    destination = intent.get("next") or reverse(settings.LOGIN_REDIRECT_URL)
    link_to = intent.get("link")
    if link_to is not None:
        if not request.user.is_authenticated or request.user.pk != link_to:
            return _failed(request, provider, SignInFailure.BAD_STATE)
        try:
            services.identity_link(
                user=request.user,
                issuer=provider.issuer,
                subject=subject,
                claims=claims,
                actor=request.user,
            )
        except Conflict:
            return _failed(request, provider, SignInFailure.LINKED_ELSEWHERE, user=request.user)
        except Forbidden:
            return _failed(request, provider, SignInFailure.SUSPENDED, user=request.user)
        request.session[SESSION_ID_TOKEN] = id_token
        passports.researcher_status_from_claims(user=request.user, claims=claims)
        return redirect(destination)
    try:
        signed_in = services.identity_sign_in(
            issuer=provider.issuer, subject=subject, claims=claims
        )
    except Forbidden:
        owner = selectors.identity_owner(issuer=provider.issuer, subject=subject)
        return _failed(request, provider, SignInFailure.SUSPENDED, user=owner)
    login(request, signed_in.user, backend=BACKEND)  # a new session key; records auth.login
    request.session[SESSION_ID_TOKEN] = id_token
    # The institution's login is this session's factor: staff are not asked for a TOTP code
    # (accounts.mfa). Set here only, never when an identity is linked to a signed-in account.
    request.session[mfa.SESSION_SIGNED_IN_WITH] = provider.issuer
    # The passport's ResearcherStatus visas: verified against the trusted issuers' keys,
    # recorded or ignored (and logged); a bad visa never refuses the sign-in.
    passports.researcher_status_from_claims(user=signed_in.user, claims=claims)
    return redirect(destination)
