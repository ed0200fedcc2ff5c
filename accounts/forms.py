"""The forms of a person's own account pages: their profile (name, ORCID iD), a code from their
authenticator app, and Django's password reset forms with their ledger events."""

from __future__ import annotations

from django import forms
from django.contrib.auth import forms as auth_forms

from . import passwords
from .profile import NAME_MAX


class ProfileForm(forms.Form):
    """Name and ORCID iD; accounts.profile.profile_update checks them (ORCID's checksum too)."""

    first_name = forms.CharField(
        label="First name",
        max_length=NAME_MAX,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "given-name"}),
    )
    last_name = forms.CharField(
        label="Last name",
        max_length=NAME_MAX,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "family-name"}),
    )
    orcid = forms.CharField(
        label="ORCID iD (optional)",
        max_length=60,
        required=False,
        help_text="16 characters, like 0000-0002-1825-0097; the https://orcid.org/ link works too.",
        widget=forms.TextInput(attrs={"spellcheck": "false", "autocapitalize": "characters"}),
    )


class NotificationPreferenceForm(forms.Form):
    """Immediate e-mail or one daily digest (access.services.notifications)."""

    delivery = forms.ChoiceField(
        label="How do you want your e-mail from Tessera?",
        choices=[
            ("immediate", "One e-mail for each thing that happens, as it happens"),
            ("digest", "One summary e-mail a day"),
        ],
        widget=forms.RadioSelect,
        error_messages={"required": "Choose how you want your e-mail."},
        help_text="Invitations to join a team always come at once.",
    )


class CodeForm(forms.Form):
    """Six digits from the authenticator app (spaces allowed, as some apps show them)."""

    token = forms.CharField(
        label="Code from your authenticator app",
        max_length=12,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "spellcheck": "false"}
        ),
        error_messages={"required": "Enter the 6-digit code your app shows."},
    )

    def clean_token(self) -> str:
        token = self.cleaned_data["token"].replace(" ", "")
        if not (token.isdigit() and len(token) == 6):
            raise forms.ValidationError("Enter the 6-digit code your app shows.")
        return token


class PasswordResetForm(auth_forms.PasswordResetForm):
    """Django's form; its ledger event names the accounts sent a link, never the address."""

    def save(self, **kwargs):
        users = list(self.get_users(self.cleaned_data["email"]))
        super().save(**kwargs)
        passwords.password_reset_requested(users=users)


class SetPasswordForm(auth_forms.SetPasswordForm):
    """Django's form, saved through accounts.passwords.password_reset_complete (its event)."""

    def save(self, commit=True):  # noqa: ARG002 - Django's signature; the service saves
        return passwords.password_reset_complete(
            user=self.user, password=self.cleaned_data["new_password1"]
        )
