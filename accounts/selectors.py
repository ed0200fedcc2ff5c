"""Reads about people's identities (no writes here; see accounts.services)."""

from __future__ import annotations

from django.conf import settings

from .models import ExternalIdentity, Profile


def identity_owner(*, issuer: str, subject: str):
    """The account that holds this identity, or None."""
    identity = (
        ExternalIdentity.objects.filter(issuer=issuer, subject=subject)
        .select_related("user")
        .first()
    )
    return identity.user if identity is not None else None


def federated_subject(user) -> str | None:
    """The person's subject at the configured provider (their LS ID with Life Science Login),
    for the `sub` of their GA4GH visas; None without such an identity (or without a provider:
    an identity from a provider the site no longer uses names nobody its visas' readers know)."""
    issuer = settings.TESSERA_OIDC_ISSUER.strip()
    if not issuer or user is None or not user.pk:
        return None
    return (
        ExternalIdentity.objects.filter(user=user, issuer=issuer)
        .order_by("created", "pk")
        .values_list("subject", flat=True)
        .first()
    )


def verified_addresses(user) -> set[str]:
    """The e-mail addresses that are the person's for certain: an account an administrator made
    (no identity at a provider) has the address they entered; an account that signs in with a
    provider has its address only if the provider said `email_verified`. (Not "no Profile": a
    local account has one too once its owner saves an ORCID iD on the account page.)"""
    email = (getattr(user, "email", "") or "").strip()
    if not email or user is None or not user.pk:
        return set()
    if not ExternalIdentity.objects.filter(user=user).exists():
        return {email}
    verified = Profile.objects.filter(user=user).values_list("email_verified", flat=True).first()
    return {email} if verified else set()
