"""Concurrent decisions on one review: exactly one wins, the other is refused (PostgreSQL)."""

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from access.lifecycle import TransitionRefused
from access.models import Decision, Review
from access.services import decisions as decision_services
from access.services import requests as request_services
from tests.access_world import accept_all, make_draft, reference_data_restore

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]


@pytest.fixture(autouse=True)
def _postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip(
            "row locks under real concurrent transactions are tested on PostgreSQL (CI runs it)"
        )
    reference_data_restore()  # what a transactional flush removed


def test_two_concurrent_decisions_one_wins_the_other_is_refused(
    researcher, chair, dataset, agreement
):
    draft = make_draft(researcher, [dataset])
    accept_all(draft, researcher)
    request_services.request_submit(access_request=draft, actor=researcher)
    review = Review.objects.get(request=draft)
    barrier = threading.Barrier(2)
    results: dict[str, str] = {}

    def decide(name, **kwargs):
        try:
            barrier.wait(timeout=10)
            decision_services.decision_record(review=review, actor=chair, **kwargs)
            results[name] = "won"
        except TransitionRefused as exc:
            results[name] = f"refused: {exc}"
        finally:
            connection.close()

    threads = [
        threading.Thread(
            target=decide,
            args=("approve",),
            kwargs={"outcome": "approve", "end_date": timezone.localdate() + timedelta(days=30)},
        ),
        threading.Thread(
            target=decide, args=("reject",), kwargs={"outcome": "reject", "reason": "Out of scope."}
        ),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)

    assert sorted(v.split(":")[0] for v in results.values()) == ["refused", "won"], results
    assert Decision.objects.filter(review=review).count() == 1
    review.refresh_from_db()
    winner = next(k for k, v in results.items() if v == "won")
    assert review.status == {"approve": "approved", "reject": "rejected"}[winner]
