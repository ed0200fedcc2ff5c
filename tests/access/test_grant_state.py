"""The one rule for "is this grant active", over plain values: no database, every reason in
its order, and a state read lazily is read no further than the rule needs."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from access.lifecycle import GrantRecord, grant_inactive_reason
from governance.choices import DatasetStatus

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)

ACTIVE = GrantRecord(
    revoked_at=None,
    valid_from=NOW - timedelta(days=1),
    valid_until=NOW + timedelta(days=30),
    user_active=True,
    dataset_status=DatasetStatus.PUBLISHED,
    requires_ethics=True,
    ethics_expiry=date(2026, 12, 31),
    needs_agreement=True,
    agreement_accepted=True,
)


def test_a_grant_with_every_condition_met_is_active():
    assert grant_inactive_reason(ACTIVE, NOW) is None


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"revoked_at": NOW - timedelta(hours=1)}, "The grant was revoked."),
        ({"valid_from": NOW + timedelta(seconds=1)}, "The grant is not valid yet."),
        ({"valid_until": NOW}, "The grant has expired."),
        ({"user_active": False}, "The account is suspended."),
        ({"dataset_status": DatasetStatus.RETIRED}, "The dataset is no longer published."),
        ({"ethics_expiry": date(2026, 5, 31)}, "The ethics approval has expired."),
        ({"ethics_expiry": None}, "The ethics approval has expired."),
        ({"agreement_accepted": False}, "The access agreement was not accepted."),
    ],
)
def test_each_unmet_condition_gives_its_reason(change, reason):
    assert grant_inactive_reason(replace(ACTIVE, **change), NOW) == reason


def test_ethics_and_agreements_count_only_where_required():
    relaxed = replace(
        ACTIVE,
        requires_ethics=False,
        ethics_expiry=None,
        needs_agreement=False,
        agreement_accepted=False,
    )
    assert grant_inactive_reason(relaxed, NOW) is None


def test_the_ethics_approval_holds_through_its_last_day():
    assert grant_inactive_reason(replace(ACTIVE, ethics_expiry=NOW.date()), NOW) is None


def test_the_first_unmet_condition_is_the_reason_given():
    everything_wrong = GrantRecord(
        revoked_at=NOW,
        valid_from=NOW + timedelta(days=1),
        valid_until=NOW - timedelta(days=1),
        user_active=False,
        dataset_status=DatasetStatus.RETIRED,
        requires_ethics=True,
        ethics_expiry=None,
        needs_agreement=True,
        agreement_accepted=False,
    )
    assert grant_inactive_reason(everything_wrong, NOW) == "The grant was revoked."
    suspended_and_retired = replace(ACTIVE, user_active=False, dataset_status=DatasetStatus.RETIRED)
    assert grant_inactive_reason(suspended_and_retired, NOW) == "The account is suspended."


class _Lazy:
    """A state whose facts past the grant's own fields must not be read."""

    revoked_at = NOW
    valid_from = ACTIVE.valid_from
    valid_until = ACTIVE.valid_until

    def __getattr__(self, name):
        raise AssertionError(f"{name} was read after the grant was found revoked")


def test_a_revoked_grant_is_judged_without_reading_its_relations():
    assert grant_inactive_reason(_Lazy(), NOW) == "The grant was revoked."
