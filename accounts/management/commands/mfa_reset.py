"""`python manage.py mfa_reset USERNAME`: remove a person's authenticator apps (a lost or
replaced phone), so that they enrol a new one at their next password sign-in. Recorded as
auth.mfa_reset by the system (`accounts.mfa.mfa_reset`). Check who is asking before running it:
the second factor is only as strong as this step."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from accounts.mfa import mfa_reset


class Command(BaseCommand):
    help = "Remove a person's authenticator apps (TOTP devices) so they enrol a new one."

    def add_arguments(self, parser):
        parser.add_argument("username")

    def handle(self, *args, username, **options):
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No account named {username}.")
        removed = mfa_reset(user=user, actor=None)
        self.stdout.write(f"Removed {removed} authenticator app(s) of {username}.")
