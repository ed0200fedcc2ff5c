"""The access-request world, for every test directory (the root conftest registers this module
as a plugin): published agreements for both committees, a teammate, the researcher's draft
request for both datasets and that request submitted; the helpers that build others
(make_draft, join_team, submit_request, reply_to_committee, approve_part,
publish_agreement) and a REST client (api).

A draft uploads an ethics approval: `temporary_media` sends it to the test's own folder (the
directories whose tests call `make_draft` directly use it for every test, see their conftest)."""

from __future__ import annotations

import importlib
from datetime import timedelta

import pytest
from django.apps import apps
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.utils import timezone
from rest_framework.test import APIClient

from access.services import decisions as decision_services
from access.services import requests as request_services
from access.services import reviews as review_services
from access.services import team as team_services
from governance import services as gov
from governance.models import AccessAgreement, LegalBasisArticle, OntologyTerm
from tests import factories


def api(user=None, **defaults) -> APIClient:
    """A REST client, authenticated as `user` when one is given."""
    client = APIClient(**defaults)
    if user is not None:
        client.force_authenticate(user)
    return client


@pytest.fixture
def temporary_media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "uploads"


def reference_data_restore() -> None:
    """Put back the reference data a transactional test's flush removed (pytest-django empties
    every table after one): the GDPR articles a data migration loads, and the ontologies
    conftest loads once per session. Cheap when they are there."""
    if not LegalBasisArticle.objects.exists():
        importlib.import_module(
            "governance.migrations.0001_squashed_0004_pre_restructure"
        ).seed_articles(apps, None)
    if not OntologyTerm.objects.filter(ontology="DUO").exists():
        call_command("load_ontologies", verbosity=0)


def publish_agreement(committee, title="Data access agreement", *, text=None, actor=None):
    """A published agreement of `committee` (its text by default names title and committee)."""
    text = text or f"{title} for {committee.name}."
    draft = gov.agreement_create(
        agreement=AccessAgreement(committee=committee, title=title, text=text), actor=actor
    )
    return gov.agreement_publish(agreement=draft, actor=actor)


@pytest.fixture
def agreement(committee):
    return publish_agreement(committee)


@pytest.fixture
def other_agreement(other_committee):
    return publish_agreement(other_committee)


@pytest.fixture
def teammate(db):
    return factories.user("teammate")


@pytest.fixture
def draft(
    temporary_media, researcher, dataset, other_dataset, agreement, other_agreement, teammate
):
    return make_draft(researcher, [dataset, other_dataset], team=[teammate])


def make_draft(applicant, datasets, *, team=(), **data):
    fields = {
        "title": "Tumour-infiltrating lymphocytes in lung cancer",
        "lay_summary": "We teach computers to count immune cells in tumour slides.",
        "scientific_abstract": "Deep learning for TIL quantification on H&E whole-slide images.",
        "methods_development": True,
        "requested_months": 12,
        "institution": "Example University",
        "ethics_reference": "METC-2026-001",
        "ethics_expiry": timezone.localdate() + timedelta(days=365),
        "ethics_document": SimpleUploadedFile(
            "approval.pdf", b"%PDF-1.4 test", content_type="application/pdf"
        ),
        **data,
    }
    access_request = request_services.request_create(
        applicant=applicant,
        data=fields,
        datasets=datasets,
        diseases=[factories.term("DOID:1324")],
    )
    for member in team:
        join_team(access_request, member)
    return access_request


def join_team(access_request, member):
    """`member` joins the team the only way there is: invited by address, accepting the link."""
    invitation = team_services.invitation_send(
        access_request=access_request, actor=access_request.applicant, email=member.email
    )
    return team_services.invitation_accept(
        token=team_services.invitation_token(invitation), actor=member
    )


def accept_all(access_request, user):
    for agreement in set(request_services.required_agreements(access_request).values()):
        request_services.agreement_accept(
            access_request=access_request, user=user, agreement=agreement
        )


def submit_request(applicant, datasets, **data):
    access_request = make_draft(applicant, datasets, **data)
    accept_all(access_request, applicant)
    return request_services.request_submit(access_request=access_request, actor=applicant)


@pytest.fixture
def submitted(draft, researcher):
    accept_all(draft, researcher)
    return request_services.request_submit(access_request=draft, actor=researcher)


def reply_to_committee(access_request, body="Here are the answers to your questions."):
    """The applicant replies to the committees (a returned request resubmits only after one)."""
    return review_services.comment_add(
        access_request=access_request, actor=access_request.applicant, body=body
    )


def approve_part(access_request, dataset, chair, *, days=180, **decision):
    """`chair` approves the part of `access_request` that `dataset`'s committee reviews (with
    `decision`'s further fields, e.g. conditions); the grants end in `days` days, the date
    returned."""
    end = timezone.localdate() + timedelta(days=days)
    decision_services.decision_record(
        review=access_request.reviews.get(committee=dataset.committee),
        actor=chair,
        outcome="approve",
        end_date=end,
        **decision,
    )
    return end
