"""Every DRF view that accepts a token declares the scopes each of its actions needs, so that a
view added later cannot forget: the URL walk below finds it and fails until it declares them
(or refuses tokens by authenticating sessions only). And the permission fails closed."""

from __future__ import annotations

import secrets
from datetime import timedelta

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone
from oauth2_provider.models import AccessToken, Application
from rest_framework.authentication import SessionAuthentication
from rest_framework.response import Response
from rest_framework.test import APIRequestFactory, force_authenticate
from rest_framework.views import APIView

from core.api_auth import OneOf, TokenScopes, declared_scopes
from core.scopes import SCOPES
from tests import factories
from tokens.oauth import ClientHasScope


def _patterns(resolver: URLResolver, prefix: str = ""):
    for pattern in resolver.url_patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from _patterns(pattern, route)
        elif isinstance(pattern, URLPattern):
            yield route, pattern.callback


def drf_views():
    """(route, view instance, {action or method: HTTP method}) for every DRF view routed."""
    for route, callback in _patterns(get_resolver()):
        cls = getattr(callback, "cls", None)
        if cls is None or not issubclass(cls, APIView):
            continue
        view = cls(**getattr(callback, "initkwargs", {}))
        actions = getattr(callback, "actions", None)
        if actions:  # a viewset route: {http method: action}
            served = {
                action: method
                for method, action in actions.items()
                if method in view.http_method_names
            }
        else:
            served = {
                method: method
                for method in view.http_method_names
                if method not in ("options", "head") and hasattr(view, method)
            }
        yield route, view, served


class _Request:
    def __init__(self, method):
        self.method = method.upper()


def test_the_walk_finds_the_api():
    routes = {route for route, _, _ in drf_views()}
    assert any("access-requests" in r for r in routes)
    assert any("tokens/introspect" in r for r in routes)
    assert any("audit/events" in r for r in routes)
    assert len(routes) >= 15


def test_every_view_accepting_tokens_declares_known_scopes_for_every_action():
    undeclared, unchecked, unknown = [], [], []
    for route, view, served in drf_views():
        accepts_tokens = any(
            not isinstance(a, SessionAuthentication) for a in view.get_authenticators()
        )
        if not accepts_tokens:
            continue  # sessions only: a bearer token is ignored, the caller is anonymous
        checks = (TokenScopes, ClientHasScope)  # not `|`: DRF permissions overload it
        if not any(isinstance(p, checks) for p in view.get_permissions()):
            unchecked.append(route)
        for action, method in served.items():
            view.action = action
            required = declared_scopes(view, _Request(method))
            if required is None:
                undeclared.append(f"{route} {action}")
            else:
                unknown += [f"{route} {action}: {s}" for s in required if s not in SCOPES]
    assert not unchecked, f"views accepting tokens without a scope check: {unchecked}"
    assert not undeclared, f"actions accepting tokens without declared scopes: {undeclared}"
    assert not unknown, f"scopes not defined in core/scopes.py: {unknown}"


# --- the permission fails closed --------------------------------------------------------------
class Undeclared(APIView):
    def get(self, request):
        return Response({"ok": True})


class Declared(Undeclared):
    required_scopes = ["grants:read"]


class ByAction(Undeclared):
    token_scopes = {"post": ["requests:write"]}  # nothing for get

    def post(self, request):
        return Response({"ok": True})


class EitherScope(Undeclared):
    required_scopes = OneOf(("requests:read", "committee:review"))


@pytest.fixture
def user_and_token(db):
    user = factories.user("someone")
    app = Application.objects.create(
        name="tool",
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
        redirect_uris="https://tool.example.org/cb",
    )

    def token(scope):
        return AccessToken.objects.create(
            user=user,
            application=app,
            token=secrets.token_urlsafe(16),
            scope=scope,
            expires=timezone.now() + timedelta(hours=1),
        )

    return user, token


def call(view, user, token=None, method="get"):
    request = getattr(APIRequestFactory(), method)("/x")
    force_authenticate(request, user=user, token=token)
    return view.as_view()(request).status_code


def test_a_view_that_declares_nothing_refuses_every_token(user_and_token):
    user, token = user_and_token
    for scope in ["", *SCOPES]:
        assert call(Undeclared, user, token(scope)) == 403
    assert call(Undeclared, user) == 200, "a person's session is not limited"


def test_a_declared_scope_is_needed_and_enough(user_and_token):
    user, token = user_and_token
    assert call(Declared, user, token("grants:read")) == 200
    assert call(Declared, user, token("grants:read requests:read")) == 200
    assert call(Declared, user, token("requests:read")) == 403


def test_an_action_missing_from_token_scopes_refuses_tokens(user_and_token):
    user, token = user_and_token
    assert call(ByAction, user, token("requests:write"), "post") == 200
    assert call(ByAction, user, token("requests:write"), "get") == 403


def test_one_of_is_met_by_any_of_its_scopes(user_and_token):
    user, token = user_and_token
    assert call(EitherScope, user, token("requests:read")) == 200
    assert call(EitherScope, user, token("committee:review")) == 200
    assert call(EitherScope, user, token("catalogue:read")) == 403
