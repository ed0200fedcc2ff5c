"""Who sees which dataset: committee members their committee's, stewards their organisation's,
nobody else anything, and a forbidden object looks exactly like a missing one."""

from __future__ import annotations

import pytest

from governance import selectors, services
from governance.models import CommitteeMembership
from tests import factories

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/governance/dataset/"


def change_url(pk) -> str:
    return f"{CHANGELIST}{pk}/change/"


# --- the selector -----------------------------------------------------------------------------
def test_member_lists_only_their_committees_datasets(member, dataset, other_dataset):
    assert set(selectors.dataset_list_for_user(member)) == {dataset}


def test_member_of_the_other_committee_lists_only_theirs(other_member, dataset, other_dataset):
    assert set(selectors.dataset_list_for_user(other_member)) == {other_dataset}


def test_member_also_sees_their_committees_drafts(member, committee, organisation):
    draft = factories.dataset(committee=committee, controller=organisation, publish=False)
    assert draft in selectors.dataset_list_for_user(member)


def test_steward_lists_their_organisations_datasets_whatever_the_committee(
    steward, organisation, other_committee, dataset, other_dataset
):
    elsewhere = factories.dataset(committee=other_committee, controller=organisation)
    assert set(selectors.dataset_list_for_user(steward)) == {dataset, elsewhere}


def test_outsider_and_researcher_list_nothing(outsider, researcher, dataset, other_dataset):
    assert list(selectors.dataset_list_for_user(outsider)) == []
    assert list(selectors.dataset_list_for_user(researcher)) == []


def test_superuser_lists_everything(admin_user, dataset, other_dataset):
    assert set(selectors.dataset_list_for_user(admin_user)) == {dataset, other_dataset}


def test_a_person_on_two_committees_sees_both(member, other_committee, dataset, other_dataset):
    services.membership_add(committee=other_committee, user=member, actor=None)
    assert set(selectors.dataset_list_for_user(member)) == {dataset, other_dataset}


# --- the admin changelist ---------------------------------------------------------------------
@pytest.mark.parametrize(
    ("viewer", "theirs", "not_theirs"),
    [("member", "dataset", "other_dataset"), ("other_member", "other_dataset", "dataset")],
)
def test_a_member_sees_only_their_committees_dataset_in_the_changelist(
    client, request, viewer, theirs, not_theirs
):
    client.force_login(request.getfixturevalue(viewer))
    shown, hidden = request.getfixturevalue(theirs), request.getfixturevalue(not_theirs)
    response = client.get(CHANGELIST)
    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == [shown]
    content = response.content.decode()
    assert shown.accession in content
    assert hidden.accession not in content


def test_searching_the_changelist_does_not_reach_other_committees_datasets(
    client, member, dataset, other_dataset
):
    client.force_login(member)
    response = client.get(CHANGELIST, {"q": other_dataset.accession})
    assert list(response.context["cl"].result_list) == []


def test_member_of_another_committee_gets_404_for_a_guessed_change_url(
    client, other_member, dataset
):
    client.force_login(other_member)
    response = client.get(change_url(dataset.pk))
    assert response.status_code == 404


def test_guessed_url_and_missing_dataset_answer_the_same(client, other_member, dataset):
    client.force_login(other_member)
    forbidden = client.get(change_url(dataset.pk))
    missing = client.get(change_url(dataset.pk + 10_000))
    assert forbidden.status_code == missing.status_code == 404
    assert dataset.title not in forbidden.content.decode()


def test_member_of_another_committee_gets_404_for_the_history_page(client, other_member, dataset):
    client.force_login(other_member)
    assert client.get(f"{CHANGELIST}{dataset.pk}/history/").status_code == 404


def test_member_may_view_but_not_change_their_committees_dataset(client, member, dataset):
    client.force_login(member)
    page = client.get(change_url(dataset.pk))
    assert page.status_code == 200
    assert page.context["original"] == dataset
    assert 'name="_save"' not in page.content.decode()
    response = client.post(change_url(dataset.pk), {"title": "Hijacked"})
    assert response.status_code == 403
    dataset.refresh_from_db()
    assert dataset.title == "Lung adenocarcinoma H&E"


def test_outsider_with_staff_status_sees_no_dataset_at_all(client, outsider, dataset):
    client.force_login(outsider)
    index = client.get("/admin/")
    assert index.status_code == 200
    assert CHANGELIST not in index.content.decode()
    changelist = client.get(CHANGELIST)
    assert changelist.status_code == 403
    assert dataset.accession not in changelist.content.decode()


def test_outsider_gets_the_same_answer_for_an_existing_and_a_missing_dataset(
    client, outsider, dataset
):
    client.force_login(outsider)
    existing = client.get(change_url(dataset.pk))
    missing = client.get(change_url(dataset.pk + 10_000))
    assert existing.status_code == missing.status_code
    assert existing.status_code in (403, 404)
    assert dataset.title not in existing.content.decode()


def test_researcher_without_staff_status_is_sent_to_the_admin_login(client, researcher, dataset):
    client.force_login(researcher)
    response = client.get(change_url(dataset.pk))
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_member_removed_from_the_committee_loses_the_dataset(
    client, member, committee, dataset, admin_user
):
    services.membership_remove(
        membership=CommitteeMembership.objects.get(committee=committee, user=member),
        actor=admin_user,
    )
    client.force_login(member)
    assert client.get(change_url(dataset.pk)).status_code in (403, 404)
    assert dataset.accession not in client.get(CHANGELIST).content.decode()


# --- committees in the admin ------------------------------------------------------------------
def test_member_sees_only_their_own_committee(client, member, committee, other_committee):
    client.force_login(member)
    content = client.get("/admin/governance/dataaccesscommittee/").content.decode()
    assert committee.name in content
    assert other_committee.name not in content
    other = f"/admin/governance/dataaccesscommittee/{other_committee.pk}/change/"
    assert client.get(other).status_code == 404


def test_member_cannot_change_their_committee_or_its_members(client, member, committee):
    client.force_login(member)
    url = f"/admin/governance/dataaccesscommittee/{committee.pk}/change/"
    assert client.get(url).status_code == 200
    response = client.post(url, {"name": "Renamed", "slug": committee.slug})
    assert response.status_code == 403
    committee.refresh_from_db()
    assert committee.name == "Committee radboud-dac"
