"""The stewards' admin: saves go through the services (and so into the ledger), forms show the
rule that was broken, and nobody deletes a dataset."""

from __future__ import annotations

import pytest

from audit.choices import EventType
from audit.models import AuditEvent
from governance import services
from governance.choices import AgreementStatus, DatasetStatus
from governance.models import (
    AccessAgreement,
    CommitteeMembership,
    ConsentScope,
    DataAccessCommittee,
    Dataset,
    LegalBasis,
    Organisation,
)
from governance.services import agreement_create
from tests import factories
from tests.access_world import publish_agreement

pytestmark = pytest.mark.django_db

DATASETS = "/admin/governance/dataset/"
SCOPES = "/admin/governance/consentscope/"
BASES = "/admin/governance/legalbasis/"
AGREEMENTS = "/admin/governance/accessagreement/"


def last_seq() -> int:
    last = AuditEvent.objects.order_by("-seq").first()
    return last.seq if last else -1


def event_types_after(seq: int) -> list[str]:
    """Our events after `seq`; django-auditlog's per-field captures beneath them are left out."""
    return list(
        AuditEvent.objects.filter(seq__gt=seq)
        .exclude(event_type=EventType.FIELD_CHANGE)
        .order_by("seq")
        .values_list("event_type", flat=True)
    )


def inline_management(prefix: str = "parties") -> dict[str, str]:
    return {
        f"{prefix}-TOTAL_FORMS": "0",
        f"{prefix}-INITIAL_FORMS": "0",
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }


def dataset_form(*, committee, controller, **overrides) -> dict:
    data = {
        "title": "Prostate biopsies, H&E",
        "description": "Core needle biopsies, 2015-2020.",
        "species": "human",
        "organ": "prostate",
        "stains": "H&E",
        "scanner": "Hamamatsu NanoZoomer S360",
        "slide_count": "1200",
        "total_bytes": str(2 * 10**12),
        "storage_location": "s3://tessera/prostate-2015",
        "controller": str(controller.pk),
        "committee": str(committee.pk),
        "consent_scope": str(factories.consent_scope("HMB").pk),
        "legal_basis": str(factories.legal_basis().pk),
        "retention_until": "",
        "_save": "Save",
        **inline_management(),
    }
    data.update({k: str(v) for k, v in overrides.items()})
    return data


def form_errors(response) -> dict[str, list[str]]:
    form = response.context["adminform"].form
    return {field: list(errors) for field, errors in form.errors.items()}


# --- stewards add and edit datasets -----------------------------------------------------------
def test_steward_adds_a_dataset_for_their_organisation(client, steward, committee, organisation):
    client.force_login(steward)
    data = dataset_form(committee=committee, controller=organisation)
    start = last_seq()
    response = client.post(f"{DATASETS}add/", data)
    assert response.status_code == 302, form_errors(response)
    ds = Dataset.objects.get(title="Prostate biopsies, H&E")
    assert ds.accession == f"TSR-DS-{ds.pk:06d}"
    assert ds.status == DatasetStatus.DRAFT
    assert ds.controller == organisation
    recorded = event_types_after(start)
    assert EventType.DATASET_CREATED in recorded
    assert recorded[-1] == EventType.ADMIN_ACTION
    admin_event = AuditEvent.objects.filter(event_type=EventType.ADMIN_ACTION).last()
    assert admin_event.payload == {"action": "add"}
    assert admin_event.target_id == ds.accession


def test_steward_cannot_add_a_dataset_for_another_organisation(client, steward, committee):
    leeds = factories.organisation("Leeds Teaching Hospitals")
    client.force_login(steward)
    data = dataset_form(committee=committee, controller=leeds)
    start = last_seq()
    response = client.post(f"{DATASETS}add/", data)
    assert response.status_code == 200
    assert "controller" in form_errors(response)
    assert not Dataset.objects.filter(title="Prostate biopsies, H&E").exists()
    assert not AuditEvent.objects.filter(seq__gt=start).exists()


def test_steward_is_offered_only_their_organisation_as_controller(client, steward, organisation):
    factories.organisation("Leeds Teaching Hospitals")
    client.force_login(steward)
    form = client.get(f"{DATASETS}add/").context["adminform"].form
    assert list(form.fields["controller"].queryset) == [organisation]


def test_member_who_is_no_steward_cannot_add_a_dataset(client, member, committee, organisation):
    client.force_login(member)
    assert client.get(f"{DATASETS}add/").status_code == 403
    response = client.post(
        f"{DATASETS}add/", dataset_form(committee=committee, controller=organisation)
    )
    assert response.status_code == 403
    assert not Dataset.objects.filter(title="Prostate biopsies, H&E").exists()


def post_edit(client, dataset, **changes):
    """Post `dataset`'s change form: the form's data with the dataset's own committee,
    controller, consent scope and legal basis, and `changes` over them. Returns the response and
    the ledger's last seq before the post (building the form writes events of its own)."""
    own = {"consent_scope": dataset.consent_scope_id, "legal_basis": dataset.legal_basis_id}
    data = dataset_form(
        committee=dataset.committee, controller=dataset.controller, **{**own, **changes}
    )
    start = last_seq()
    return client.post(f"{DATASETS}{dataset.pk}/change/", data), start


def test_steward_edits_their_dataset_and_both_events_are_recorded(client, steward, dataset):
    client.force_login(steward)
    response, start = post_edit(client, dataset, title="Lung adenocarcinoma, H&E (re-scanned)")
    assert response.status_code == 302, form_errors(response)
    dataset.refresh_from_db()
    assert dataset.title == "Lung adenocarcinoma, H&E (re-scanned)"
    assert dataset.status == DatasetStatus.PUBLISHED
    assert event_types_after(start) == [EventType.DATASET_CHANGED, EventType.ADMIN_ACTION]
    changed = AuditEvent.objects.get(seq__gt=start, event_type=EventType.DATASET_CHANGED)
    assert changed.payload["changes"]["title"] == [
        "Lung adenocarcinoma H&E",
        "Lung adenocarcinoma, H&E (re-scanned)",
    ]


def test_edit_breaking_a_dataset_rule_shows_the_rule_and_changes_nothing(client, steward, dataset):
    """Dropping the legal basis of a published human dataset: the form says which rule."""
    client.force_login(steward)
    response, start = post_edit(client, dataset, legal_basis="")
    assert response.status_code == 200
    assert any("Art. 9" in e for e in form_errors(response)["legal_basis"])
    dataset.refresh_from_db()
    assert dataset.legal_basis_id is not None
    assert not AuditEvent.objects.filter(seq__gt=start).exists()


def test_steward_of_another_organisation_gets_404_for_our_dataset(
    client, dataset, committee, admin_user
):
    leeds = factories.organisation("Leeds Teaching Hospitals")
    leeds_steward = factories.user("leedssteward", is_staff=True)
    services.organisation_steward_add(organisation=leeds, user=leeds_steward, actor=admin_user)
    client.force_login(leeds_steward)
    assert client.get(f"{DATASETS}{dataset.pk}/change/").status_code == 404
    data = dataset_form(committee=committee, controller=leeds, title="Taken over")
    assert client.post(f"{DATASETS}{dataset.pk}/change/", data).status_code == 404
    dataset.refresh_from_db()
    assert dataset.title == "Lung adenocarcinoma H&E"


# --- nobody deletes a dataset -----------------------------------------------------------------
@pytest.mark.parametrize("persona", ["steward", "admin_user"])
def test_nobody_can_delete_a_dataset(client, dataset, persona, request):
    client.force_login(request.getfixturevalue(persona))
    assert client.get(f"{DATASETS}{dataset.pk}/delete/").status_code == 403
    assert client.post(f"{DATASETS}{dataset.pk}/delete/", {"post": "yes"}).status_code == 403
    client.post(
        DATASETS, {"action": "delete_selected", "_selected_action": [dataset.pk], "post": "yes"}
    )
    assert Dataset.objects.filter(pk=dataset.pk).exists()
    actions = client.get(DATASETS).context["action_form"].fields["action"].choices
    assert "delete_selected" not in [value for value, _ in actions]


# --- publish and retire actions ---------------------------------------------------------------
def dataset_action(client, action, dataset, **data) -> list[str]:
    """Run the dataset changelist's `action` on `dataset` and follow to the page it lands on;
    refresh the dataset and return that page's messages."""
    response = client.post(
        DATASETS, {"action": action, "_selected_action": [dataset.pk], **data}, follow=True
    )
    dataset.refresh_from_db()
    return [str(m) for m in response.context["messages"]]


def test_steward_publishes_a_draft_through_the_admin_action(
    client, steward, committee, organisation
):
    draft = factories.dataset(committee=committee, controller=organisation, publish=False)
    client.force_login(steward)
    start = last_seq()
    messages = dataset_action(client, "publish", draft)
    assert draft.status == DatasetStatus.PUBLISHED
    assert f"Published {draft.accession}." in messages
    assert EventType.DATASET_PUBLISHED in event_types_after(start)


def test_publish_action_shows_the_rule_when_the_dataset_breaks_one(
    client, steward, committee, organisation
):
    draft = factories.dataset(
        committee=committee,
        controller=organisation,
        publish=False,
        legal_basis=factories.legal_basis("f", None),
    )
    client.force_login(steward)
    [message] = dataset_action(client, "publish", draft)
    assert draft.status == DatasetStatus.DRAFT
    assert draft.accession in message
    assert "Art. 9" in message


def test_member_who_is_no_steward_cannot_publish(client, member, committee, organisation):
    draft = factories.dataset(committee=committee, controller=organisation, publish=False)
    client.force_login(member)
    start = last_seq()
    messages = dataset_action(client, "publish", draft)
    assert draft.status == DatasetStatus.DRAFT
    assert any("may not publish" in m for m in messages)
    assert not AuditEvent.objects.filter(seq__gt=start).exists()


def test_retire_action_asks_for_a_reason_first(client, steward, dataset):
    client.force_login(steward)
    response = client.post(DATASETS, {"action": "retire", "_selected_action": [dataset.pk]})
    assert response.status_code == 200
    assert "reason" in response.context["form"].fields
    dataset.refresh_from_db()
    assert dataset.status == DatasetStatus.PUBLISHED


def test_steward_retires_a_dataset_with_a_reason(client, steward, dataset):
    client.force_login(steward)
    start = last_seq()
    dataset_action(client, "retire", dataset, reason="consent withdrawn")
    assert dataset.status == DatasetStatus.RETIRED
    retired = AuditEvent.objects.get(seq__gt=start, event_type=EventType.DATASET_RETIRED)
    assert retired.payload == {"reason": "consent withdrawn"}


def test_member_who_is_no_steward_cannot_retire(client, member, dataset):
    client.force_login(member)
    messages = dataset_action(client, "retire", dataset, reason="I say so")
    assert dataset.status == DatasetStatus.PUBLISHED
    assert any("may not retire" in m for m in messages)


def test_actions_cannot_reach_another_committees_dataset(client, member, other_dataset):
    client.force_login(member)
    dataset_action(client, "retire", other_dataset, reason="mischief")
    assert other_dataset.status == DatasetStatus.PUBLISHED


# --- the consent-scope form -------------------------------------------------------------------
def scope_form(**overrides) -> dict:
    data = {
        "name": "Lung cancer research only",
        "permission": str(factories.term("DS").pk),
        "modifiers": [],
        "diseases": [str(factories.term("DOID:1324").pk)],
        "region": "",
        "moratorium_until": "",
        "time_limit_months": "",
        "named_users": "",
        "named_projects": "",
        "named_institutions": "",
        "_save": "Save",
    }
    data.update(overrides)
    return data


def test_admin_adds_a_coherent_consent_scope_with_both_events(client, admin_user):
    client.force_login(admin_user)
    start = last_seq()
    response = client.post(
        f"{SCOPES}add/",
        scope_form(modifiers=[str(factories.term("GS").pk)], region="nl, be eu"),
    )
    assert response.status_code == 302, form_errors(response)
    scope = ConsentScope.objects.get(name="Lung cancer research only")
    assert scope.region == ["BE", "EU", "NL"]
    assert [m.shorthand for m in scope.modifiers.all()] == ["GS"]
    assert [d.curie for d in scope.diseases.all()] == ["DOID:1324"]
    assert event_types_after(start) == [EventType.CONSENT_SCOPE_CREATED, EventType.ADMIN_ACTION]


@pytest.mark.parametrize(
    ("overrides", "field", "rule"),
    [
        ({"diseases": []}, "diseases", "(DS)"),
        ({"modifiers": ["GS"]}, "region", "(GS)"),
        ({"region": "ZZ", "modifiers": ["GS"]}, "region", "ZZ"),
        ({"modifiers": ["MOR"]}, "moratorium_until", "(MOR)"),
        ({"modifiers": ["TS"]}, "time_limit_months", "(TS)"),
        ({"modifiers": ["US"]}, "named_users", "US"),
        ({"named_projects": "PANCAN"}, "named_projects", "PS"),
        ({"modifiers": ["NPUNCU", "NPU"]}, "modifiers", "NPUNCU"),
    ],
)
def test_consent_scope_form_shows_the_rule_for_an_incoherent_scope(
    client, admin_user, overrides, field, rule
):
    if "modifiers" in overrides:
        overrides["modifiers"] = [str(factories.term(m).pk) for m in overrides["modifiers"]]
    client.force_login(admin_user)
    start = last_seq()
    response = client.post(f"{SCOPES}add/", scope_form(**overrides))
    assert response.status_code == 200
    errors = form_errors(response)
    assert field in errors, errors
    assert any(rule in e for e in errors[field]), errors
    assert rule in response.content.decode()
    assert not ConsentScope.objects.filter(name="Lung cancer research only").exists()
    assert not AuditEvent.objects.filter(seq__gt=start).exists()


def test_consent_scope_form_checks_the_new_permission_not_the_stored_one(client, admin_user):
    scope = factories.consent_scope("DS", diseases=["DOID:162"], name="Cancer only")
    client.force_login(admin_user)
    response = client.post(
        f"{SCOPES}{scope.pk}/change/",
        scope_form(name="Cancer only", permission=str(factories.term("GRU").pk)),
    )
    assert response.status_code == 200
    assert "diseases" in form_errors(response)
    scope.refresh_from_db()
    assert scope.permission.shorthand == "DS"


def test_consent_scope_change_records_the_diff_and_the_admin_action(client, admin_user):
    scope = factories.consent_scope("DS", diseases=["DOID:1324"], name="Lung cancer research only")
    client.force_login(admin_user)
    start = last_seq()
    response = client.post(
        f"{SCOPES}{scope.pk}/change/",
        scope_form(modifiers=[str(factories.term("IRB").pk)]),
    )
    assert response.status_code == 302, form_errors(response)
    assert event_types_after(start) == [EventType.CONSENT_SCOPE_CHANGED, EventType.ADMIN_ACTION]
    changed = AuditEvent.objects.get(seq__gt=start, event_type=EventType.CONSENT_SCOPE_CHANGED)
    assert changed.payload["changes"] == {"modifiers": [[], ["DUO:0000021"]]}


# --- the legal-basis form ---------------------------------------------------------------------
def basis_form(a6: str, a9: str | None, law: str = "") -> dict:
    article = factories.article
    return {
        "name": "Research exemption",
        "article6": str(article("6", a6).pk),
        "article9": str(article("9", a9).pk) if a9 else "",
        "law_reference": law,
        "notes": "",
        "_save": "Save",
    }


def test_legal_basis_form_names_the_article_that_needs_a_law(client, admin_user):
    client.force_login(admin_user)
    response = client.post(f"{BASES}add/", basis_form("e", "j"))
    assert response.status_code == 200
    [message] = form_errors(response)["law_reference"]
    assert "Art. 6(1)(e)" in message
    assert "Art. 9(2)(j)" in message
    assert not LegalBasis.objects.exists()


def test_admin_adds_a_legal_basis_with_its_law(client, admin_user):
    client.force_login(admin_user)
    start = last_seq()
    response = client.post(f"{BASES}add/", basis_form("e", "j", law="UAVG Art. 24"))
    assert response.status_code == 302, form_errors(response)
    assert LegalBasis.objects.get().law_reference == "UAVG Art. 24"
    assert event_types_after(start) == [EventType.LEGAL_BASIS_CREATED, EventType.ADMIN_ACTION]


def test_dropping_art9_from_a_basis_published_datasets_rely_on_is_a_form_error(
    client, admin_user, dataset
):
    lb = dataset.legal_basis
    client.force_login(admin_user)
    data = {**basis_form("e", None, law=lb.law_reference), "name": lb.name}
    response = client.post(f"{BASES}{lb.pk}/change/", data)
    assert response.status_code == 200
    assert "article9" in form_errors(response)
    lb.refresh_from_db()
    assert lb.article9 is not None


# --- agreements -------------------------------------------------------------------------------
def test_a_published_agreement_is_read_only_in_the_admin(client, admin_user, committee):
    agreement = publish_agreement(committee, "DAA", text="Original.", actor=admin_user)
    client.force_login(admin_user)
    url = f"{AGREEMENTS}{agreement.pk}/change/"
    assert 'name="_save"' not in client.get(url).content.decode()
    response = client.post(
        url, {"committee": committee.pk, "title": "DAA", "text": "Changed.", "_save": "Save"}
    )
    assert response.status_code == 403
    agreement.refresh_from_db()
    assert agreement.text == "Original."
    assert agreement.status == AgreementStatus.PUBLISHED


def test_admin_publish_action_makes_the_new_version_current(client, admin_user, committee):
    first = publish_agreement(committee, "DAA", text="v1", actor=admin_user)
    second = agreement_create(
        agreement=AccessAgreement(committee=committee, title="DAA", text="v2"), actor=admin_user
    )
    client.force_login(admin_user)
    client.post(AGREEMENTS, {"action": "publish", "_selected_action": [second.pk]})
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, second.status) == (AgreementStatus.SUPERSEDED, AgreementStatus.PUBLISHED)


def test_a_draft_agreement_cannot_be_moved_to_another_committee(
    client, admin_user, committee, other_committee
):
    draft = agreement_create(
        agreement=AccessAgreement(committee=committee, title="DAA", text="v1"), actor=admin_user
    )
    client.force_login(admin_user)
    response = client.post(
        f"{AGREEMENTS}{draft.pk}/change/",
        {
            "committee": other_committee.pk,
            "dataset": "",
            "title": "DAA",
            "text": "v1 edited",
            "_save": "Save",
        },
    )
    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.committee == committee
    assert draft.text == "v1 edited"


# --- committee memberships --------------------------------------------------------------------
def membership_formset(committee, rows, *, initial: int) -> dict:
    data = {
        "name": committee.name,
        "slug": committee.slug,
        "description": "",
        "contact_email": committee.contact_email,
        "organisation": committee.organisation_id or "",
        "decision_policy": committee.decision_policy,
        "quorum": committee.quorum,
        "service_level_days": committee.service_level_days,
        "requires_ethics_approval": "on",
        "_save": "Save",
        "memberships-TOTAL_FORMS": str(len(rows)),
        "memberships-INITIAL_FORMS": str(initial),
        "memberships-MIN_NUM_FORMS": "0",
        "memberships-MAX_NUM_FORMS": "1000",
    }
    for i, row in enumerate(rows):
        for key, value in row.items():
            data[f"memberships-{i}-{key}"] = value
    return data


def test_admin_adds_changes_and_removes_members_through_the_services(
    client, admin_user, committee, member
):
    newcomer = factories.user("newcomer", is_staff=True)
    seat = CommitteeMembership.objects.get(committee=committee, user=member)
    client.force_login(admin_user)
    start = last_seq()
    response = client.post(
        f"/admin/governance/dataaccesscommittee/{committee.pk}/change/",
        membership_formset(
            committee,
            [
                {"id": seat.pk, "committee": committee.pk, "user": member.pk, "role": "chair"},
                {"committee": committee.pk, "user": newcomer.pk, "role": "secretary"},
            ],
            initial=1,
        ),
    )
    assert response.status_code == 302, form_errors(response)
    assert dict(
        CommitteeMembership.objects.filter(committee=committee).values_list(
            "user__username", "role"
        )
    ) == {"member": "chair", "newcomer": "secretary"}
    assert newcomer.groups.filter(pk=committee.member_group_id).exists()
    recorded = event_types_after(start)
    assert EventType.MEMBERSHIP_CHANGED in recorded
    assert EventType.MEMBERSHIP_ADDED in recorded

    start = last_seq()
    new_seat = CommitteeMembership.objects.get(committee=committee, user=newcomer)
    response = client.post(
        f"/admin/governance/dataaccesscommittee/{committee.pk}/change/",
        membership_formset(
            committee,
            [
                {"id": seat.pk, "committee": committee.pk, "user": member.pk, "role": "chair"},
                {
                    "id": new_seat.pk,
                    "committee": committee.pk,
                    "user": newcomer.pk,
                    "role": "secretary",
                    "DELETE": "on",
                },
            ],
            initial=2,
        ),
    )
    assert response.status_code == 302, form_errors(response)
    assert not CommitteeMembership.objects.filter(committee=committee, user=newcomer).exists()
    assert not newcomer.groups.filter(pk=committee.member_group_id).exists()
    assert EventType.MEMBERSHIP_REMOVED in event_types_after(start)


def test_the_person_in_an_existing_seat_cannot_be_swapped(client, admin_user, committee, member):
    intruder = factories.user("intruder", is_staff=True)
    seat = CommitteeMembership.objects.get(committee=committee, user=member)
    client.force_login(admin_user)
    url = f"/admin/governance/dataaccesscommittee/{committee.pk}/change/"
    form = client.get(url).context["inline_admin_formsets"][0].formset.forms[0]
    assert form.fields["user"].disabled
    client.post(
        url,
        membership_formset(
            committee,
            [{"id": seat.pk, "committee": committee.pk, "user": intruder.pk, "role": "member"}],
            initial=1,
        ),
    )
    assert CommitteeMembership.objects.get(pk=seat.pk).user == member
    assert not CommitteeMembership.objects.filter(user=intruder).exists()


def test_admin_adds_an_organisation_with_a_steward_through_the_services(client, admin_user):
    person = factories.user("newsteward", is_staff=True)
    client.force_login(admin_user)
    start = last_seq()
    response = client.post(
        "/admin/governance/organisation/add/",
        {
            "name": "Leiden University Medical Center",
            "country": "NL",
            "ror_id": "05xvt9f17",
            "dpo_name": "",
            "dpo_email": "dpo@lumc.example.org",
            "stewards": [person.pk],
            "_save": "Save",
        },
    )
    assert response.status_code == 302, form_errors(response)
    org = Organisation.objects.get(name="Leiden University Medical Center")
    assert list(org.stewards.all()) == [person]
    assert person.groups.filter(pk=org.steward_group_id).exists()
    assert event_types_after(start) == [
        EventType.ORGANISATION_CREATED,
        EventType.STEWARD_ADDED,
        EventType.ADMIN_ACTION,
    ]


def test_admin_adds_a_committee_with_its_chair(client, admin_user):
    chair = factories.user("newchair", is_staff=True)
    client.force_login(admin_user)
    blank = DataAccessCommittee(name="UMCU DAC", slug="umcu-dac", contact_email="dac@umcu.nl")
    data = membership_formset(blank, [{"user": chair.pk, "role": "chair"}], initial=0)
    response = client.post("/admin/governance/dataaccesscommittee/add/", data)
    assert response.status_code == 302, form_errors(response)
    dac = DataAccessCommittee.objects.get(slug="umcu-dac")
    assert dac.memberships.get().user == chair
    assert chair.groups.filter(pk=dac.member_group_id).exists()
