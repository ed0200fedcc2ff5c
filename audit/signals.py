"""Logins, logouts and failed logins go to the ledger (the one place signals are right:
Django's auth emits them and no service of ours performs the login)."""

from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db import transaction
from django.dispatch import receiver

from . import events


@receiver(user_logged_in, dispatch_uid="audit_login")
def on_login(sender, request, user, **kwargs):
    with transaction.atomic():
        events.login(user=user)


@receiver(user_logged_out, dispatch_uid="audit_logout")
def on_logout(sender, request, user, **kwargs):
    if user is not None:
        with transaction.atomic():
            events.logout(user=user)


@receiver(user_login_failed, dispatch_uid="audit_login_failed")
def on_login_failed(sender, credentials, request=None, **kwargs):
    User = get_user_model()
    username = credentials.get(User.USERNAME_FIELD) or credentials.get("username")
    user = User.objects.filter(**{User.USERNAME_FIELD: username}).first() if username else None
    with transaction.atomic():
        events.login_failed(user=user)
