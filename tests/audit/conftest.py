"""Audit personas."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, Permission

from tests import factories


@pytest.fixture
def auditor(db):
    person = factories.user("auditor", is_staff=True)
    # Transactional tests elsewhere flush tables, migration-made groups included.
    group, _ = Group.objects.get_or_create(name="auditors")
    if not group.permissions.exists():
        group.permissions.add(
            *Permission.objects.filter(
                content_type__app_label="audit",
                codename__in=["view_auditevent", "view_checkpoint"],
            )
        )
    person.groups.add(group)
    return person
