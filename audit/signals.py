"""Logins, logouts, failed logins and lockouts go to the ledger (Django's auth and django-axes
emit them and no service of ours performs the login), and so do the API's refusals that
`core.api` announces (core sits below audit and cannot call it)."""

import hashlib

from axes.signals import user_locked_out
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.core.cache import cache
from django.db import transaction
from django.dispatch import receiver

from core.signals import api_refused

from . import events
from .bounded import sign_in_failure_record
from .choices import EventType
from .refusals import access_refused_record


@receiver(api_refused, dispatch_uid="audit_api_refused")
def on_api_refused(sender, *, who, action, method, path, status, **kwargs):  # noqa: ARG001
    access_refused_record(who=who, action=action, method=method, path=path, status=status)


@receiver(user_logged_in, dispatch_uid="audit_login")
def on_login(sender, request, user, **kwargs):  # noqa: ARG001 - signal receiver
    with transaction.atomic():
        events.login(user=user)


@receiver(user_logged_out, dispatch_uid="audit_logout")
def on_logout(sender, request, user, **kwargs):  # noqa: ARG001 - signal receiver
    if user is not None:
        with transaction.atomic():
            events.logout(user=user)


def _account(username):
    User = get_user_model()
    return User.objects.filter(**{User.USERNAME_FIELD: username}).first() if username else None


def _window_seconds() -> int:
    return settings.TESSERA_LOGIN_COOL_OFF_MINUTES * 60


def _record_bounded(event_type: EventType, record) -> None:
    """Call `record()` within the per-address bound of failed sign-ins (audit/bounded.py)."""
    sign_in_failure_record(kind=event_type, write=record)


@receiver(user_login_failed, dispatch_uid="audit_login_failed")
def on_login_failed(sender, credentials, request=None, **kwargs):  # noqa: ARG001 - signal receiver
    User = get_user_model()
    username = credentials.get(User.USERNAME_FIELD) or credentials.get("username")
    _record_bounded(EventType.LOGIN_FAILED, lambda: events.login_failed(user=_account(username)))


@receiver(user_locked_out, dispatch_uid="audit_login_locked_out")
def on_locked_out(sender, request, username, ip_address, **kwargs):  # noqa: ARG001 - signal receiver
    # Axes signals again for every attempt made while locked out; one event per account and
    # address per cool-off is the fact worth keeping (the username only as a hash in the cache).
    digest = hashlib.sha256((username or "").encode()).hexdigest()
    # False: recorded already in this cool-off. None: the cache is down (settings.CACHES), and
    # one event too many is better than none.
    added = cache.add(f"tessera:audit:locked_out:{ip_address}:{digest}", 1, _window_seconds())
    if added is False:
        return
    _record_bounded(
        EventType.LOGIN_LOCKED_OUT,
        lambda: events.login_locked_out(
            user=_account(username), cool_off_minutes=settings.TESSERA_LOGIN_COOL_OFF_MINUTES
        ),
    )
