from django.db import models


class SignInFailure(models.TextChoices):
    """Why a sign-in with an identity provider failed: the `reason` in the ledger's
    auth.identity_sign_in_failed, and (the label) what the error page tells the person."""

    DENIED = "access_denied", "You did not allow Tessera to use your identity."
    PROVIDER_ERROR = "provider_error", "The identity provider refused the sign-in."
    BAD_STATE = (
        "bad_state",
        "This sign-in link is not the one Tessera started, or it was already used.",
    )
    UNREACHABLE = "provider_unreachable", "The identity provider could not be reached."
    BAD_ID_TOKEN = (
        "bad_id_token",
        "The identity provider's answer could not be verified (its signature, issuer, audience, "
        "expiry or nonce was wrong).",
    )
    SUSPENDED = "account_suspended", "Your Tessera account is suspended."
    LINKED_ELSEWHERE = (
        "identity_linked_elsewhere",
        "This identity is already linked to another Tessera account.",
    )
