"""`seed_demo` builds the demo world through the services, once, and only where it is safe."""

from __future__ import annotations

from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command
from guardian.models import GroupObjectPermission

from audit.models import AuditEvent
from governance import selectors
from governance.models import (
    AccessAgreement,
    CommitteeMembership,
    ConsentScope,
    DataAccessCommittee,
    Dataset,
    LegalBasis,
    Organisation,
)

DEMO_USERNAMES = [
    "researcher",
    "researcher2",
    "chair",
    "member",
    "secretary",
    "steward",
    "auditor",
    "outsider",
    "admin",
]
SEEDED_MODELS = [
    get_user_model(),
    Group,
    Organisation,
    DataAccessCommittee,
    CommitteeMembership,
    AccessAgreement,
    LegalBasis,
    ConsentScope,
    Dataset,
    GroupObjectPermission,
    AuditEvent,
]


def run_seed(*args: str) -> str:
    out = StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    # The demo requests upload their ethics approvals; keep them out of the working tree.
    settings.MEDIA_ROOT = tmp_path / "uploads"


@pytest.fixture
def seeded(db, settings):
    settings.DEBUG = True
    return run_seed()


def counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in SEEDED_MODELS}


def test_seed_builds_organisations_committees_and_datasets_across_species(seeded):
    assert Organisation.objects.count() >= 3
    assert all(o.dpo_email.endswith("@example.org") for o in Organisation.objects.all())
    assert Dataset.objects.count() >= 20
    assert set(Dataset.objects.values_list("species", flat=True)) == {"human", "animal"}
    statuses = list(Dataset.objects.values_list("status", flat=True))
    assert statuses.count("published") > len(statuses) / 2
    assert 1 <= statuses.count("draft") <= 2
    assert statuses.count("retired") == 1


def test_committees_use_different_decision_policies(seeded):
    committees = list(DataAccessCommittee.objects.all())
    assert len(committees) == 3
    assert {c.decision_policy for c in committees} == {"single", "chair", "majority"}
    majority = next(c for c in committees if c.decision_policy == "majority")
    assert majority.quorum == 2
    assert majority.memberships.count() >= majority.quorum


def test_every_committee_has_a_current_agreement(seeded):
    for committee in DataAccessCommittee.objects.all():
        assert committee.agreements.filter(status="published", dataset__isnull=True).count() == 1
    for dataset in Dataset.objects.all():
        assert dataset.current_agreement is not None


def test_consent_scopes_cover_the_duo_permissions_and_modifiers(seeded):
    permissions = set(ConsentScope.objects.values_list("permission__shorthand", flat=True))
    assert permissions == {"NRES", "GRU", "HMB", "DS", "POA"}
    modifiers = set(ConsentScope.objects.values_list("modifiers__shorthand", flat=True))
    assert {"NCU", "NPU", "IRB", "PUB", "GS", "TS", "MOR", "COL", "NMDS"} <= modifiers
    diseases = set(ConsentScope.objects.values_list("diseases__curie", flat=True))
    assert {"DOID:162", "DOID:1324", "DOID:9256"} <= diseases


def test_legal_bases_cover_consent_public_interest_research_and_care(seeded):
    pairs = set(LegalBasis.objects.values_list("article6__point", "article9__point"))
    assert {("a", "a"), ("e", "j"), ("e", "h")} <= pairs
    for basis in LegalBasis.objects.filter(article6__point="e"):
        assert basis.law_reference.strip()


def test_animal_datasets_have_no_legal_basis_and_human_ones_an_article_9_condition(seeded):
    assert not Dataset.objects.filter(species="animal", legal_basis__isnull=False).exists()
    published_human = Dataset.objects.filter(species="human", status="published")
    assert published_human.exists()
    assert not published_human.filter(legal_basis__article9__isnull=True).exists()


def test_every_catalogue_object_was_created_through_a_service_with_its_ledger_event(seeded):
    events = AuditEvent.objects.values_list("event_type", flat=True)
    assert list(events).count("governance.dataset_created") == Dataset.objects.count()
    assert list(events).count("governance.committee_created") == 3
    assert list(events).count("governance.dataset_retired") == 1
    assert list(events).count("governance.agreement_published") == 3


def test_demo_users_log_in_with_the_demo_password_in_their_roles(seeded):
    User = get_user_model()
    for username in DEMO_USERNAMES:
        assert User.objects.get(username=username).check_password("demo"), username
    assert User.objects.get(username="admin").is_superuser
    for username in ("chair", "member", "secretary", "steward", "auditor"):
        assert User.objects.get(username=username).is_staff, username
    assert User.objects.get(username="auditor").groups.filter(name="auditors").exists()
    roles = dict(
        CommitteeMembership.objects.filter(
            user__username__in=["chair", "member", "secretary"]
        ).values_list("user__username", "role")
    )
    assert roles == {"chair": "chair", "member": "member", "secretary": "secretary"}
    outsider = User.objects.get(username="outsider")
    assert not outsider.is_staff
    assert not outsider.groups.exists()


def test_chair_holds_a_seat_on_one_committee_only(seeded):
    assert CommitteeMembership.objects.filter(user__username="chair").count() == 1


def test_chair_sees_only_their_committees_datasets(seeded):
    chair = get_user_model().objects.get(username="chair")
    committee = CommitteeMembership.objects.get(user=chair).committee
    visible = set(selectors.dataset_list_for_user(chair))
    assert visible == set(Dataset.objects.filter(committee=committee))
    assert 0 < len(visible) < Dataset.objects.count()


def test_steward_sees_only_their_organisations_datasets(seeded):
    steward = get_user_model().objects.get(username="steward")
    organisation = steward.stewarded_organisations.get()
    visible = set(selectors.dataset_list_for_user(steward))
    assert visible == set(Dataset.objects.filter(controller=organisation))
    assert visible


def test_outsider_sees_no_dataset_in_the_admin(seeded):
    outsider = get_user_model().objects.get(username="outsider")
    assert not selectors.dataset_list_for_user(outsider).exists()


@pytest.mark.parametrize(
    "username", ["chair", "member", "secretary", "steward", "auditor", "admin"]
)
def test_staff_demo_login_signs_in_through_the_admin_login_page(seeded, client, username):
    response = client.post("/admin/login/?next=/admin/", {"username": username, "password": "demo"})
    assert response.status_code == 302, response.content[:300]
    assert client.get("/admin/").status_code == 200


def test_researcher_demo_login_signs_in_through_the_portal(seeded, client):
    response = client.post("/accounts/login/", {"username": "researcher", "password": "demo"})
    assert response.status_code == 302
    assert client.get("/").wsgi_request.user.username == "researcher"


def test_second_run_changes_nothing_and_says_so(seeded):
    before = counts()
    last_event = AuditEvent.objects.order_by("-seq").values_list("seq", flat=True).first()
    output = run_seed()
    assert counts() == before
    assert AuditEvent.objects.order_by("-seq").values_list("seq", flat=True).first() == last_event
    assert "nothing changed" in output


def test_output_lists_every_demo_login_with_where_to_go(seeded):
    for username in DEMO_USERNAMES:
        assert f"\n  {username} " in seeded
    assert "http://127.0.0.1:8000/admin/" in seeded


def test_refuses_to_run_with_debug_off(db, settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="--force"):
        run_seed()
    assert not Organisation.objects.exists()
    assert not get_user_model().objects.filter(username="admin").exists()


def test_force_runs_with_debug_off(db, settings):
    settings.DEBUG = False
    run_seed("--force")
    assert Dataset.objects.count() >= 20
