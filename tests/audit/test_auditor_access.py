"""Auditors read the ledger (API and admin); nobody, superusers included, can change it there."""

from __future__ import annotations

import pytest
from auditlog.models import LogEntry
from django.urls import reverse

from audit import ledger
from audit.canonical import entry_hash
from audit.choices import EventType
from audit.models import AuditEvent
from governance import services
from tests import factories

EVENTS_URL = "/api/v1/audit/events/"


@pytest.fixture
def many_events(db):
    for n in range(30):
        ledger.append(
            event_type=EventType.ADMIN_ACTION if n % 3 else EventType.DATASET_PUBLISHED,
            target_type="governance.dataset",
            target_id=f"TSR-DS-{n % 2:06d}",
            payload={"n": n},
        )


def test_auditor_pages_through_the_whole_ledger_by_seq(client, auditor, many_events):
    client.force_login(auditor)
    seen, url = [], f"{EVENTS_URL}?limit=7"
    while url:
        body = client.get(url).json()
        seen += [e["seq"] for e in body["results"]]
        url = body["next"]
    assert seen == list(AuditEvent.objects.values_list("seq", flat=True))


def test_pages_are_stable_while_the_ledger_grows(client, auditor, many_events):
    client.force_login(auditor)
    first = client.get(f"{EVENTS_URL}?after=4&limit=5").json()["results"]
    ledger.append(event_type=EventType.ADMIN_ACTION, payload={"late": True})
    again = client.get(f"{EVENTS_URL}?after=4&limit=5").json()["results"]
    assert first == again
    assert [e["seq"] for e in first] == [5, 6, 7, 8, 9]


def test_returned_events_carry_what_is_needed_to_recompute_their_hash(client, auditor, many_events):
    client.force_login(auditor)
    for event in client.get(f"{EVENTS_URL}?limit=50").json()["results"]:
        assert entry_hash(event) == event["hash"]


def test_filters_by_type_area_and_target(client, auditor, many_events):
    client.force_login(auditor)
    published = client.get(f"{EVENTS_URL}?type=governance.dataset_published&limit=100").json()
    assert {e["event_type"] for e in published["results"]} == {"governance.dataset_published"}
    assert len(published["results"]) == 10
    area = client.get(f"{EVENTS_URL}?type=admin&limit=100").json()["results"]
    assert {e["event_type"] for e in area} == {"admin.action"}
    target = client.get(f"{EVENTS_URL}?target=governance.dataset:TSR-DS-000001&limit=100").json()
    assert {e["payload"]["n"] % 2 for e in target["results"]} == {1}


@pytest.mark.parametrize(
    "query",
    [
        "after=abc",
        "after=-5",
        "after=99999999999999999999999",
        "limit=0",
        "limit=100000",
        "type=" + "x" * 100,
        "target=a%00b",
    ],
)
def test_bad_query_parameters_get_400(client, auditor, query):
    client.force_login(auditor)
    assert client.get(f"{EVENTS_URL}?{query}").status_code == 400


def test_staff_who_are_not_auditors_get_403(client, outsider, many_events):
    client.force_login(outsider)
    assert client.get(EVENTS_URL).status_code == 403


def test_anonymous_callers_are_refused(client, many_events):
    assert client.get(EVENTS_URL).status_code in (401, 403)


def test_superusers_may_read_the_ledger(client, admin_user, many_events):
    client.force_login(admin_user)
    assert client.get(EVENTS_URL).status_code == 200


def test_batched_events_are_flushed_before_auditors_read(client, auditor, settings):
    settings.AUDIT_SEQUENCING = ledger.BATCHED
    queued = ledger.append(event_type=EventType.ADMIN_ACTION, payload={"queued": True})
    client.force_login(auditor)
    results = client.get(f"{EVENTS_URL}?type=admin.action&limit=1000").json()["results"]
    assert {"queued": True} in [e["payload"] for e in results]
    assert AuditEvent.objects.filter(pending_id=queued.pk).exists()


# --- admin ------------------------------------------------------------------------------------


def test_admin_shows_the_ledger_to_auditors_read_only(client, auditor, many_events):
    client.force_login(auditor)
    event = AuditEvent.objects.first()
    assert client.get(reverse("admin:audit_auditevent_changelist")).status_code == 200
    assert client.get(reverse("admin:audit_auditevent_change", args=[event.seq])).status_code == 200
    assert client.get(reverse("admin:audit_auditevent_add")).status_code == 403
    response = client.post(
        reverse("admin:audit_auditevent_change", args=[event.seq]), {"actor_id": "x"}
    )
    assert response.status_code == 403
    assert (
        client.post(reverse("admin:audit_auditevent_delete", args=[event.seq])).status_code == 403
    )


def test_even_superusers_cannot_add_change_or_delete_ledger_rows_in_the_admin(
    client, admin_user, many_events
):
    client.force_login(admin_user)
    event = AuditEvent.objects.first()
    assert client.get(reverse("admin:audit_auditevent_add")).status_code == 403
    client.post(reverse("admin:audit_auditevent_change", args=[event.seq]), {"actor_id": "x"})
    client.post(reverse("admin:audit_auditevent_delete", args=[event.seq]), {"post": "yes"})
    event.refresh_from_db()
    assert event.actor_id != "x"
    changelist = client.get(reverse("admin:audit_auditevent_changelist")).content.decode()
    assert "delete_selected" not in changelist


def test_staff_who_are_not_auditors_do_not_see_the_ledger_in_the_admin(client, outsider):
    client.force_login(outsider)
    assert client.get(reverse("admin:audit_auditevent_changelist")).status_code == 403


def test_auditlog_entries_cannot_be_deleted_in_the_admin(
    client, admin_user, committee, organisation
):
    dataset = factories.dataset(committee=committee, controller=organisation, publish=False)
    dataset.title = "Renamed"
    services.dataset_update(dataset=dataset, actor=admin_user)
    entry = LogEntry.objects.first()
    assert entry is not None
    client.force_login(admin_user)
    url = reverse("admin:auditlog_logentry_delete", args=[entry.pk])
    assert client.post(url, {"post": "yes"}).status_code == 403
    assert LogEntry.objects.filter(pk=entry.pk).exists()


def test_admin_search_takes_any_text_without_error(client, auditor, many_events):
    client.force_login(auditor)
    url = reverse("admin:audit_auditevent_changelist")
    assert client.get(url, {"q": "not-a-number"}).status_code == 200
    response = client.get(url, {"q": "3"})
    assert response.status_code == 200
    assert response.context["cl"].result_count == 1
