"""An access-request world: two committees with agreements, datasets under each, a team; the
submitted request's review by each committee."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from access.services import requests as request_services
from access.services import team as team_services
from governance import services as gov
from governance.models import AccessAgreement
from tests import factories

from .admin_support import approve_data, review_for, url


def publish_agreement(committee, title="Data access agreement"):
    draft = gov.agreement_create(
        agreement=AccessAgreement(
            committee=committee, title=title, text=f"{title} for {committee.name}."
        ),
        actor=None,
    )
    return gov.agreement_publish(agreement=draft, actor=None)


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
def other_chair(db, other_committee):
    person = factories.user("otherchair", is_staff=True)
    gov.membership_add(committee=other_committee, user=person, role="chair", actor=None)
    return person


@pytest.fixture
def draft(researcher, dataset, other_dataset, agreement, other_agreement, teammate):
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


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "uploads"


# --- the review of the submitted request, by each committee (the admin and its workspace) ---
@pytest.fixture
def review(submitted, committee):
    return review_for(submitted, committee)


@pytest.fixture
def other_review(submitted, other_committee):
    return review_for(submitted, other_committee)


@pytest.fixture
def approved(client, review, chair, dataset):
    client.force_login(chair)
    response = client.post(url("decide", review), approve_data(dataset))
    assert response.status_code == 302, response.content[:500]
    return review
