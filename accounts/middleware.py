"""Staff who signed in with a local password verify a code from their authenticator app before
any admin page (accounts.mfa). After django_otp's OTPMiddleware, which reads the verified
device from the session."""

from __future__ import annotations

from urllib.parse import urlencode

from django.shortcuts import redirect
from django.urls import reverse

from .mfa import mfa_protected, mfa_required


class StaffMfaMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if mfa_protected(request) and mfa_required(request):
            query = urlencode({"next": request.get_full_path()})
            return redirect(f"{reverse('mfa')}?{query}")
        return self.get_response(request)
