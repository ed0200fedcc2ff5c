"""A person's own account pages: "My account" (/accounts/me/), the second factor for staff
(/accounts/mfa/), and Django's password reset views, branded (/accounts/password/reset/…).
Writes go through accounts.profile, accounts.mfa and accounts.passwords."""

from __future__ import annotations

from base64 import b32encode

import segno
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST
from django_otp import login as otp_login

from access.portal.team import invitation_rows
from access.selectors import notification_digest_chosen
from access.services.notifications import notification_preference_set
from core.exceptions import Invalid, add_form_errors

from . import mfa, oidc
from .forms import (
    CodeForm,
    NotificationPreferenceForm,
    PasswordResetForm,
    ProfileForm,
    SetPasswordForm,
)
from .profile import account_overview, profile_update


@never_cache
@login_required
def account(request):
    """The signed-in person's account: what Tessera knows about them, their name and ORCID iD
    to change."""
    overview = account_overview(request.user)
    profile = overview.profile
    initial = {
        "first_name": request.user.first_name,
        "last_name": request.user.last_name,
        "orcid": profile.orcid if profile else "",
    }
    form = ProfileForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            changed = profile_update(user=request.user, actor=request.user, **form.cleaned_data)
        except Invalid as refused:
            add_form_errors(form, refused)
        else:
            messages.success(
                request, "Your profile is saved." if changed else "Nothing had changed."
            )
            return redirect("account")
    return _account_page(request, overview=overview, form=form)


def _account_page(request, *, overview, form, delivery_form=None):
    if delivery_form is None:
        chosen = "digest" if notification_digest_chosen(request.user) else "immediate"
        delivery_form = NotificationPreferenceForm(initial={"delivery": chosen})
    return render(
        request,
        "accounts/account.html",
        {
            "overview": overview,
            # The team invitations waiting for the person's answer, as on "My invitations".
            "invitations": invitation_rows(request.user),
            "form": form,
            "delivery_form": delivery_form,
            "mfa_applies": mfa.subject_to_mfa(request.user),
            "mfa_devices": mfa.confirmed_devices(request.user),
            "provider": oidc.provider(),  # None: no identity provider, nothing to link
        },
        status=400 if form.errors or delivery_form.errors else 200,
    )


@never_cache
@login_required
@require_POST
def account_notifications(request):
    """The person's choice of immediate e-mail or a daily digest, from "My account"."""
    delivery_form = NotificationPreferenceForm(request.POST)
    if not delivery_form.is_valid():
        overview = account_overview(request.user)
        profile = overview.profile
        form = ProfileForm(
            initial={
                "first_name": request.user.first_name,
                "last_name": request.user.last_name,
                "orcid": profile.orcid if profile else "",
            }
        )
        return _account_page(request, overview=overview, form=form, delivery_form=delivery_form)
    digest = delivery_form.cleaned_data["delivery"] == "digest"
    notification_preference_set(user=request.user, actor=request.user, digest=digest)
    messages.success(
        request,
        "You will get one summary e-mail a day."
        if digest
        else "You will get each e-mail as it happens.",
    )
    return redirect(reverse("account") + "#notifications-heading")


def _next(request) -> str:
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return reverse("admin:index" if request.user.is_staff else settings.LOGIN_REDIRECT_URL)


def _qr_data_uri(uri: str) -> str:
    return segno.make(uri, error="m").svg_data_uri(scale=4, border=2)


@never_cache
@login_required
def mfa_page(request):
    """Verify a code from the authenticator app, or, without one, enrol it: its key shown as a
    QR code and as text, confirmed by its first code. Anyone not asked goes straight on."""
    destination = _next(request)
    if not mfa.mfa_required(request):
        return redirect(destination)
    enrolling = not mfa.confirmed_devices(request.user)
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        service = mfa.mfa_enrol if enrolling else mfa.mfa_verify
        device = service(user=request.user, token=form.cleaned_data["token"])
        if device is not None:
            otp_login(request, device)
            if enrolling:
                messages.success(request, "Your authenticator app is set up.")
            return redirect(destination)
        form.add_error(
            "token",
            "That code is not right (or was used already). Try the next code your app shows.",
        )
    context = {"form": form, "next": destination, "enrolling": enrolling}
    if enrolling:
        device = mfa.mfa_device_draft(user=request.user)
        context.update(
            secret=b32encode(device.bin_key).decode(),
            otpauth_uri=device.config_url,
            qr_data_uri=_qr_data_uri(device.config_url),
        )
    return render(request, "accounts/mfa.html", context, status=400 if form.errors else 200)


class PasswordResetView(auth_views.PasswordResetView):
    """Django's; the link in the e-mail uses the site's public URL, never the Host header."""

    form_class = PasswordResetForm
    email_template_name = "registration/password_reset_email.txt"
    subject_template_name = "registration/password_reset_subject.txt"
    success_url = reverse_lazy("password_reset_done")

    @property
    def extra_email_context(self):
        return {"base_url": settings.TESSERA_BASE_URL}


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    form_class = SetPasswordForm
    success_url = reverse_lazy("password_reset_complete")
