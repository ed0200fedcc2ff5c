"""Staff who signed in with a local password verify a code from their authenticator app before
any admin page, or the API with their session (accounts.mfa). After django_otp's
OTPMiddleware, which reads the verified device from the session."""

from __future__ import annotations

from urllib.parse import urlencode

from django.http import JsonResponse
from django.shortcuts import redirect
from django.urls import reverse

from .mfa import is_api, mfa_protected, mfa_required


class StaffMfaMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if mfa_protected(request) and mfa_required(request):
            if is_api(request):
                detail = f"Enter the code from your authenticator app first: {reverse('mfa')}"
                return JsonResponse({"detail": detail}, status=403)
            query = urlencode({"next": request.get_full_path()})
            return redirect(f"{reverse('mfa')}?{query}")
        return self.get_response(request)
