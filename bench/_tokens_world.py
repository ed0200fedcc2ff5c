"""Scenery shared by the token benchmarks: one active grant, its holder, a signing keyring.

The organisation and committee come from the governance services (they make groups); the
dataset, request, review, decision and grant are inserted directly: they are scenery for what is measured (token issue, introspection), which
goes through the real services.
"""

from __future__ import annotations

import base64
import os
from datetime import timedelta

from _harness import organisation_and_committee


def set_kek() -> str:
    """A throw-away key-encryption key in the environment (inherited by a gunicorn child)."""
    kek = base64.b64encode(os.urandom(32)).decode()
    os.environ["TESSERA_KEY_ENCRYPTION_KEY"] = kek
    return kek


def build(holders: int = 1):
    """`holders` researchers, each with an active grant on the dataset: [(grant, holder), ...]."""
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from access.models import AccessRequest, Decision, Grant, Review
    from governance.models import (
        ConsentScope,
        Dataset,
        OntologyTerm,
    )
    from tokens import keyring

    User = get_user_model()
    now = timezone.now()
    org, committee = organisation_and_committee(slug="bench-dac")
    scope = ConsentScope.objects.create(
        name="GRU", permission=OntologyTerm.objects.get(ontology="DUO", shorthand="GRU")
    )
    dataset = Dataset.objects.create(
        accession="TSR-DS-000001",
        title="Bench dataset",
        species="animal",
        organ="liver",
        storage_location="s3://bench/1",
        status="published",
        controller=org,
        committee=committee,
        consent_scope=scope,
        published_at=now,
    )
    out = []
    for n in range(holders):
        holder = User.objects.create_user(f"bench-researcher-{n}", f"r{n}@example.org", "pw")
        request = AccessRequest.objects.create(
            applicant=holder,
            title="Bench",
            status="submitted",
            ethics_expiry=(now + timedelta(days=365)).date(),
        )
        request.datasets.add(dataset)
        review = Review.objects.create(request=request, committee=committee, status="approved")
        decision = Decision.objects.create(
            review=review, round=1, outcome="approve", end_date=(now + timedelta(days=180)).date()
        )
        decision.approved_datasets.add(dataset)
        grant = Grant.objects.create(
            user=holder,
            dataset=dataset,
            request=request,
            decision=decision,
            valid_from=now - timedelta(minutes=1),
            valid_until=now + timedelta(days=180),
        )
        assert grant.inactive_reason() is None
        out.append((grant, holder))
    keyring.keys_bootstrap(actor=None)
    return out
