"""Sign-in lockout on the portal and the admin (django-axes), with Tessera's two limits.

Axes counts failures per group of lockout parameters (`AXES_LOCKOUT_PARAMETERS`: account and
address together, then address alone) but compares every group with one `AXES_FAILURE_LIMIT`.
Tessera allows few failures for one account from one address and more from one address over all
accounts (a shared NAT, an institute's proxy), so `LockoutHandler.get_failures` scales each
group's count onto the account limit: floor(count * account_limit / group_limit) reaches
account_limit exactly when count reaches group_limit.
"""

from __future__ import annotations

from axes.handlers.database import AxesDatabaseHandler
from django.conf import settings
from django.db.models import Sum
from django.shortcuts import render


def group_limits() -> list[int]:
    """The failure limit of each group in `AXES_LOCKOUT_PARAMETERS`, in the same order."""
    return [
        settings.TESSERA_LOGIN_FAILURES_PER_ACCOUNT,
        settings.TESSERA_LOGIN_FAILURES_PER_ADDRESS,
    ]


class LockoutHandler(AxesDatabaseHandler):
    """Axes' database handler with a limit per lockout group (see the module docstring)."""

    def get_failures(self, request, credentials=None) -> int:
        account_limit = settings.AXES_FAILURE_LIMIT
        scaled = 0
        for attempts, limit in zip(
            self.get_user_attempts(request, credentials), group_limits(), strict=True
        ):
            count = attempts.aggregate(total=Sum("failures_since_start"))["total"] or 0
            scaled = max(scaled, count * account_limit // limit)
        return scaled


def lockout_response(request, original_response=None, credentials=None):  # noqa: ARG001 - AXES_LOCKOUT_CALLABLE signature
    """The branded 429 page for a locked-out sign-in (AXES_LOCKOUT_CALLABLE)."""
    return render(
        request,
        "errors/429_login_locked_out.html",
        # Every attempt while locked out starts the cool-off again, so it is the whole wait.
        {"minutes": settings.TESSERA_LOGIN_COOL_OFF_MINUTES},
        status=429,
    )
