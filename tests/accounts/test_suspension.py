"""Suspending and reinstating accounts: the services, their ledger events and the User admin's
actions. A suspension revokes every token and visa derived from the person's grants."""

# ruff: noqa: F401, F811  (fixtures are imported from token_support, then used as parameters)

from __future__ import annotations

import json

import pytest
from django.contrib.auth.models import Permission
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from accounts.services import user_reinstate, user_suspend
from audit.actors import pseudonym_for
from audit.choices import EventType
from core.exceptions import Conflict
from tests.tokens.token_support import (
    api_client,
    events_of,
    feed,
    grant,
    introspect,
    storage,
    token_keys,
)
from tokens.issue import token_issue
from tokens.models import IssuedToken

pytestmark = pytest.mark.django_db


def test_suspending_the_user_revokes_every_token_and_signs_them_out(
    grant, researcher, admin_user, storage
):
    _, bearer = storage
    issued = token_issue(grant=grant, actor=researcher)
    client = api_client(researcher)
    suspension = user_suspend(user=researcher, actor=admin_user, reason="Shared their token.")
    researcher.refresh_from_db()
    assert researcher.is_active is False
    assert introspect(bearer, issued.token).json() == {"active": False}
    assert [e["jti"] for e in feed(bearer)["revoked"]] == [issued.jti]
    assert client.get(reverse("access:grant-list")).status_code == 302  # signed out
    event = events_of(EventType.USER_SUSPENDED)[-1]
    assert event.payload == {"user": pseudonym_for(researcher), "grants": 1, "tokens_revoked": 1}
    assert event.target_id == str(suspension.pk)
    assert "Shared their token." not in json.dumps(event.payload)
    # Reinstating the account does not bring revoked tokens back; new ones work.
    lifted = user_reinstate(user=researcher, actor=admin_user, reason="Cleared.")
    assert lifted.pk == suspension.pk and lifted.lifted_by == admin_user
    researcher.refresh_from_db()
    assert researcher.is_active
    assert introspect(bearer, issued.token).json() == {"active": False}
    fresh = token_issue(grant=grant, actor=researcher)
    assert introspect(bearer, fresh.token).json()["active"] is True
    event = events_of(EventType.USER_REINSTATED)[-1]
    assert event.payload == {"user": pseudonym_for(researcher)}
    assert event.target_id == str(suspension.pk)


def test_only_an_administrator_suspends_and_never_themself(researcher, outsider, admin_user):
    with pytest.raises(PermissionDenied):
        user_suspend(user=researcher, actor=outsider, reason="No.")
    with pytest.raises(PermissionDenied):
        user_suspend(user=admin_user, actor=admin_user, reason="Oops.")
    outsider.user_permissions.add(Permission.objects.get(codename="change_user"))
    outsider = type(outsider).objects.get(pk=outsider.pk)
    user_suspend(user=researcher, actor=outsider, reason="Compromised account.")
    with pytest.raises(Conflict):
        user_suspend(user=researcher, actor=admin_user, reason="Again.")


def test_user_admin_action_suspends_with_a_reason(grant, researcher, admin_user):
    issued = token_issue(grant=grant, actor=researcher)
    client = api_client(admin_user)
    url = reverse("admin:auth_user_changelist")
    data = {"action": "suspend", "_selected_action": [researcher.pk]}
    page = client.post(url, data)
    assert page.status_code == 200 and "Reason for suspending" in page.content.decode()
    researcher.refresh_from_db()
    assert researcher.is_active
    response = client.post(url, {**data, "reason": "Lost laptop."}, follow=True)
    assert response.status_code == 200
    researcher.refresh_from_db()
    assert researcher.is_active is False
    assert IssuedToken.objects.get(jti=issued.jti).revoked_at is not None


def test_reinstating_needs_a_suspension_a_reason_and_an_administrator(
    researcher, outsider, admin_user
):
    with pytest.raises(Conflict, match="not suspended"):
        user_reinstate(user=researcher, actor=admin_user, reason="Why not.")
    user_suspend(user=researcher, actor=admin_user, reason="Compromised.")
    with pytest.raises(PermissionDenied):
        user_reinstate(user=researcher, actor=outsider, reason="Let me in.")
    with pytest.raises(ValidationError):
        user_reinstate(user=researcher, actor=admin_user, reason=" ")
    user_reinstate(user=researcher, actor=admin_user, reason="Password reset.")
    with pytest.raises(Conflict, match="not suspended"):
        user_reinstate(user=researcher, actor=admin_user, reason="Again.")
    # Deactivated by hand (no suspension): not this action's business.
    type(outsider).objects.filter(pk=outsider.pk).update(is_active=False)
    with pytest.raises(Conflict, match="without a suspension"):
        user_reinstate(user=outsider, actor=admin_user, reason="x")


def test_user_admin_action_reinstates_with_a_reason(grant, researcher, admin_user):
    user_suspend(user=researcher, actor=admin_user, reason="Lost laptop.")
    client = api_client(admin_user)
    url = reverse("admin:auth_user_changelist")
    data = {"action": "reinstate", "_selected_action": [researcher.pk]}
    page = client.post(url, data).content.decode()
    assert "Reason for reinstating" in page and "Reinstate the accounts" in page
    response = client.post(url, {**data, "reason": "Laptop found."}, follow=True)
    assert "Reinstated researcher" in response.content.decode()
    researcher.refresh_from_db()
    assert researcher.is_active
    again = client.post(url, {**data, "reason": "Twice."}, follow=True).content.decode()
    assert "This account is not suspended." in again
