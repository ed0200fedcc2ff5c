"""Every change django-auditlog records also lands in the ledger, with its diff, pseudonymously."""

from __future__ import annotations

import pytest
from auditlog.context import set_actor
from auditlog.models import LogEntry
from auditlog.registry import auditlog
from django.contrib.auth import get_user_model
from django.db import transaction

from audit import ledger
from audit.actors import pseudonym_for
from audit.models import AuditEvent
from governance import services
from tests import factories


def field_changes(target_type: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(event_type="audit.field_change", target_type=target_type))


def test_a_field_change_is_mirrored_with_its_diff_and_the_actors_pseudonym(
    db, committee, organisation, steward
):
    dataset = factories.dataset(committee=committee, controller=organisation, publish=False)
    dataset.title = "Renamed slides"
    services.dataset_update(dataset=dataset, actor=steward)
    entry = LogEntry.objects.filter(object_pk=str(dataset.pk)).order_by("-pk").first()
    event = field_changes("governance.dataset")[-1]
    assert event.payload["log_entry"] == entry.pk
    assert event.payload["action"] == "update"
    assert event.payload["changes"]["title"][1] == "Renamed slides"
    assert event.target_id == str(dataset.pk)


def test_every_auditlog_entry_has_exactly_one_ledger_event(db, committee, organisation):
    factories.dataset(committee=committee, controller=organisation)
    scope = factories.consent_scope("HMB", modifiers=["NPU"])
    entries = set(LogEntry.objects.values_list("pk", flat=True))
    mirrored = [
        e.payload["log_entry"] for e in AuditEvent.objects.filter(event_type="audit.field_change")
    ]
    assert sorted(mirrored) == sorted(entries)
    assert scope.pk is not None


def test_a_rolled_back_change_leaves_neither_log_entry_nor_ledger_event(db, organisation):
    before = (LogEntry.objects.count(), AuditEvent.objects.count())
    with pytest.raises(RuntimeError), transaction.atomic():
        organisation.name = "Renamed"
        services.organisation_update(organisation=organisation, actor=None)
        raise RuntimeError
    assert (LogEntry.objects.count(), AuditEvent.objects.count()) == before


def test_if_the_ledger_refuses_the_event_the_change_fails(db, organisation, monkeypatch):
    def refuse(**kwargs):
        raise RuntimeError("ledger unavailable")

    monkeypatch.setattr(ledger, "append", refuse)
    monkeypatch.setattr("audit.events.append", refuse)
    organisation.name = "Renamed"
    with pytest.raises(RuntimeError, match="ledger unavailable"):
        services.organisation_update(organisation=organisation, actor=None)
    organisation.refresh_from_db()
    assert organisation.name != "Renamed"


def test_changes_to_people_keep_field_names_but_never_values(db):
    User = get_user_model()
    auditlog.register(User)
    try:
        person = factories.user("dr-jones")
        person.email = "indiana@example.org"
        person.save()
    finally:
        auditlog.unregister(User)
    events = field_changes("auth.user")
    assert events
    text = str([e.payload for e in events])
    assert "indiana@example.org" not in text and "dr-jones" not in text
    assert "email" in events[-1].payload["changes"]


def test_the_actor_of_a_field_change_is_the_request_users_pseudonym(db, organisation, steward):
    organisation.name = "Renamed by the steward"
    with set_actor(steward):  # what AuditlogMiddleware does for a logged-in request
        services.organisation_update(organisation=organisation, actor=steward)
    event = field_changes("governance.organisation")[-1]
    assert event.actor_id == pseudonym_for(steward)
    assert event.actor_kind == "user"
