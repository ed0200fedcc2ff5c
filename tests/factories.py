"""Factories for test state. Catalogue objects are created through the services, as in production,
so that permissions and ledger events exist exactly as they would."""

from __future__ import annotations

import itertools

from django.contrib.auth import get_user_model

from governance import services
from governance.models import (
    ConsentScope,
    DataAccessCommittee,
    Dataset,
    LegalBasis,
    LegalBasisArticle,
    OntologyTerm,
    Organisation,
)

_n = itertools.count(1)


def user(username: str | None = None, **extra):
    username = username or f"user{next(_n)}"
    return get_user_model().objects.create_user(
        username=username, email=f"{username}@example.org", password="pw", **extra
    )


def committee_staff(username: str, committee: DataAccessCommittee, role: str):
    """A staff user who sits on `committee` in `role`."""
    person = user(username, is_staff=True)
    services.membership_add(committee=committee, user=person, role=role, actor=None)
    return person


def term(code: str) -> OntologyTerm:
    if ":" in code:
        return OntologyTerm.objects.get(curie=code)
    return OntologyTerm.objects.get(ontology="DUO", shorthand=code)


def organisation(name: str | None = None, *, actor=None, **fields) -> Organisation:
    n = next(_n)
    defaults = {
        "name": name or f"Organisation {n}",
        "country": "NL",
        "dpo_email": f"dpo{n}@example.org",
    }
    return services.organisation_create(
        organisation=Organisation(**{**defaults, **fields}), actor=actor
    )


def committee(slug: str | None = None, *, actor=None, **fields) -> DataAccessCommittee:
    n = next(_n)
    slug = slug or f"dac-{n}"
    defaults = {"name": f"Committee {slug}", "slug": slug, "contact_email": f"{slug}@example.org"}
    return services.committee_create(
        committee=DataAccessCommittee(**{**defaults, **fields}), actor=actor
    )


def consent_scope(
    permission: str = "GRU", *, modifiers=(), diseases=(), actor=None, **fields
) -> ConsentScope:
    scope = ConsentScope(
        name=fields.pop("name", f"{permission} scope {next(_n)}"),
        permission=term(permission),
        **fields,
    )
    return services.consent_scope_create(
        scope=scope,
        modifiers=[term(m) for m in modifiers],
        diseases=[term(d) for d in diseases],
        actor=actor,
    )


def article(article: str, point: str) -> LegalBasisArticle:
    return LegalBasisArticle.objects.get(article=article, point=point)


def legal_basis(
    a6: str = "e", a9: str | None = "j", *, law: str = "Dutch UAVG Art. 24", actor=None
) -> LegalBasis:
    lb = LegalBasis(
        name=f"6(1)({a6}) + 9(2)({a9}) {next(_n)}",
        article6=article("6", a6),
        article9=article("9", a9) if a9 else None,
        law_reference=law,
    )
    return services.legal_basis_create(legal_basis=lb, actor=actor)


def dataset(*, committee, controller, publish: bool = True, actor=None, **fields) -> Dataset:
    n = next(_n)
    defaults = {
        "title": f"Dataset {n}",
        "species": "human",
        "organ": "lung",
        "stains": "H&E",
        "storage_location": f"s3://tessera/ds{n}",
        "slide_count": 100,
        "total_bytes": 10**11,
    }
    if "consent_scope" not in fields:
        defaults["consent_scope"] = consent_scope("GRU")
    if "legal_basis" not in fields and fields.get("species", "human") == "human":
        defaults["legal_basis"] = legal_basis()
    ds = services.dataset_create(
        dataset=Dataset(committee=committee, controller=controller, **{**defaults, **fields}),
        actor=actor,
    )
    if publish:
        ds = services.dataset_publish(dataset=ds, actor=actor)
    return ds
