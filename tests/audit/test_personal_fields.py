"""Names and e-mail addresses in catalogue objects never reach the ledger or auditlog: they
record that the field changed, with a keyed fingerprint, never the value."""

from __future__ import annotations

import hashlib

import pytest
from auditlog.models import LogEntry
from auditlog.registry import auditlog
from django.apps import apps
from django.db import models

from audit import ledger, personal
from audit.models import AuditEvent
from governance import services
from tests import factories

pytestmark = pytest.mark.django_db

OLD_EMAIL, NEW_EMAIL = "old.dpo@radboudumc.example", "Jane.Doe@radboudumc.example"
OLD_NAME, NEW_NAME = "Piet Jansen", "Jane Doe"


def everything_recorded() -> str:
    """Every ledger payload and every auditlog entry, as one text to search."""
    ledger.flush()
    payloads = [str(p) for p in AuditEvent.objects.values_list("payload", flat=True)]
    entries = [f"{e.changes} {e.changes_text} {e.serialized_data}" for e in LogEntry.objects.all()]
    return "\n".join(payloads + entries)


def last(event_type: str, target_type: str) -> AuditEvent:
    ledger.flush()
    return AuditEvent.objects.filter(event_type=event_type, target_type=target_type).last()


@pytest.fixture
def organisation(db):
    return factories.organisation(
        "Radboud University Medical Center", dpo_name=OLD_NAME, dpo_email=OLD_EMAIL
    )


def test_changing_the_dpo_records_that_it_changed_and_never_the_value(organisation, steward):
    organisation.dpo_email = NEW_EMAIL
    organisation.dpo_name = NEW_NAME
    services.organisation_update(organisation=organisation, actor=steward)

    recorded = everything_recorded()
    for value in (OLD_EMAIL, NEW_EMAIL, OLD_NAME, NEW_NAME, "Jane", "Piet"):
        assert value not in recorded
    # Both the service's event and the auditlog mirror say which fields changed...
    changed = last("governance.organisation_changed", "governance.organisation")
    mirrored = last("audit.field_change", "governance.organisation")
    entry = LogEntry.objects.filter(object_pk=str(organisation.pk)).latest("pk")
    for changes in (changed.payload["changes"], mirrored.payload["changes"], entry.changes):
        assert {"dpo_email", "dpo_name"} <= set(changes)
        # ...with a keyed fingerprint of each value, the same in all three.
        assert list(changes["dpo_email"]) == [
            personal.fingerprint(OLD_EMAIL),
            personal.fingerprint(NEW_EMAIL),
        ]


def test_creating_an_organisation_or_a_committee_records_no_address(db):
    organisation = factories.organisation("Leeds", dpo_name=OLD_NAME, dpo_email=OLD_EMAIL)
    factories.committee("leeds-dac", organisation=organisation, contact_email=NEW_EMAIL)
    recorded = everything_recorded()
    for value in (OLD_EMAIL, NEW_EMAIL, OLD_NAME):
        assert value not in recorded
    created = last("governance.committee_created", "governance.dataaccesscommittee")
    assert created.payload["fields"]["contact_email"] == personal.fingerprint(NEW_EMAIL)


def test_changing_a_committees_contact_address_records_only_its_fingerprint(committee):
    old = committee.contact_email
    committee.contact_email = NEW_EMAIL
    services.committee_update(committee=committee, actor=None)
    assert NEW_EMAIL not in everything_recorded()
    assert old not in everything_recorded()
    changed = last("governance.committee_changed", "governance.dataaccesscommittee")
    assert changed.payload["changes"]["contact_email"] == [
        personal.fingerprint(old),
        personal.fingerprint(NEW_EMAIL),
    ]


def test_other_fields_keep_their_values(organisation):
    organisation.name = "Radboudumc"
    services.organisation_update(organisation=organisation, actor=None)
    changed = last("governance.organisation_changed", "governance.organisation")
    assert changed.payload["changes"]["name"] == ["Radboud University Medical Center", "Radboudumc"]


def test_the_fingerprint_is_keyed_not_a_plain_hash(settings):
    plain = hashlib.sha256(NEW_EMAIL.encode()).hexdigest()
    first = personal.fingerprint(NEW_EMAIL)
    assert plain not in first and first.startswith(personal.PREFIX)
    assert personal.fingerprint(NEW_EMAIL) == first  # stable, so an auditor can check a value
    settings.AUDIT_PERSONAL_FIELD_KEY = "another key"
    assert personal.fingerprint(NEW_EMAIL) != first


def test_every_email_field_of_an_audited_model_is_listed_as_personal():
    """A new e-mail field on an audited model must join PERSONAL_FIELDS (or this test fails)."""
    for model in auditlog.get_models():
        label = model._meta.label_lower
        for field in model._meta.concrete_fields:
            if isinstance(field, models.EmailField):
                assert field.name in personal.personal_fields(label), f"{label}.{field.name}"


def test_every_listed_field_exists():
    for label, names in personal.PERSONAL_FIELDS.items():
        model = apps.get_model(label)
        for name in names:
            model._meta.get_field(name)
