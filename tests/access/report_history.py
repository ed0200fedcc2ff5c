"""A committee's seeded history for the report tests (tests/access/test_committee_reports.py and
tests/access/committee/test_reports_page.py): requests submitted, decided, returned and withdrawn
at chosen dates, with chosen consent verdicts. Import `history_fixture` (and
`second_dataset_fixture`) into a test module to use the `history` fixture."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from access.models import AccessRequest, ConsentMatch, Decision, Review
from access.services import decisions as decision_services
from access.services import requests as request_services
from tests import factories
from tests.access_world import submit_request

PERIOD = {"from": "2026-01-01", "to": "2026-06-30"}


def at(day: str, hour: int = 10) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=UTC)


def seeded(applicant_name, datasets, *, submitted: str, verdicts=None):
    """A request for `datasets`, submitted (its stored submission time moved to `submitted`),
    with the consent verdicts `verdicts` ({dataset: approve / deny / review}) stored."""
    applicant = factories.user(applicant_name)
    access_request = submit_request(applicant, datasets)
    AccessRequest.objects.filter(pk=access_request.pk).update(submitted_at=at(submitted))
    for dataset, verdict in (verdicts or {}).items():
        ConsentMatch.objects.filter(request=access_request, dataset=dataset).update(
            decision=verdict
        )
    return access_request


def decide(access_request, committee, chair, outcome, *, on: str, **fields):
    review = Review.objects.get(request=access_request, committee=committee)
    if outcome == "approve":
        fields.setdefault("end_date", timezone.localdate() + timedelta(days=180))
    if outcome == "reject":
        fields.setdefault("reason", "Out of the consent's scope.")
    if outcome == "return":
        fields.setdefault("questions", "Which cohort?")
    decision = decision_services.decision_record(
        review=review, actor=chair, outcome=outcome, **fields
    )
    Decision.objects.filter(pk=decision.pk).update(decided_at=at(on))
    return decision


@pytest.fixture(name="second_dataset")
def second_dataset_fixture(committee, organisation):
    return factories.dataset(committee=committee, controller=organisation, title="Lung frozen")


@pytest.fixture(name="history")
def history_fixture(
    committee,
    other_committee,
    chair,
    other_chair,
    dataset,
    second_dataset,
    other_dataset,
    agreement,
    other_agreement,
):
    """radboud-dac's history over the first half of 2026 (the PERIOD), and around it:

    | request | submitted | consent verdicts | decision | days |
    | r1 (+ leeds' dataset) | 1 Mar | approve | approved 11 Mar | 10 |
    | r2 | 5 Mar | deny | rejected 25 Mar | 20 |
    | r3 | 1 Apr | deny | approved 1 May | 30 |
    | r4 (both datasets) | 10 Apr | approve, approve | dataset 1 approved 14 Apr | 4 |
    | r5 | 1 May | approve | returned 3 May | |
    | r6 | 10 May | approve | withdrawn 12 May | |
    | r7 | 2 Jan | review | rejected 11 Feb | 40 |
    | r8 | 1 Dec 2025 | approve | approved 5 Dec 2025 (grant ends in 10 days) | |
    | r9 | 1 Jun | approve | none: open, overdue | |
    """
    r1 = seeded(
        "a1",
        [dataset, other_dataset],
        submitted="2026-03-01",
        verdicts={dataset: "approve", other_dataset: "deny"},
    )
    decide(r1, committee, chair, "approve", on="2026-03-11")
    decide(r1, other_committee, other_chair, "approve", on="2026-03-12")  # leeds' part
    r2 = seeded("a2", [dataset], submitted="2026-03-05", verdicts={dataset: "deny"})
    decide(r2, committee, chair, "reject", on="2026-03-25")
    r3 = seeded("a3", [dataset], submitted="2026-04-01", verdicts={dataset: "deny"})
    decide(r3, committee, chair, "approve", on="2026-05-01")
    r4 = seeded(
        "a4",
        [dataset, second_dataset],
        submitted="2026-04-10",
        verdicts={dataset: "approve", second_dataset: "approve"},
    )
    decide(r4, committee, chair, "approve", on="2026-04-14", datasets=[dataset])
    r5 = seeded("a5", [dataset], submitted="2026-05-01")
    decide(r5, committee, chair, "return", on="2026-05-03")
    r6 = seeded("a6", [dataset], submitted="2026-05-10")
    request_services.request_withdraw(access_request=r6, actor=r6.applicant)
    Review.objects.filter(request=r6).update(updated_at=at("2026-05-12"))
    r7 = seeded("a7", [dataset], submitted="2026-01-02", verdicts={dataset: "review"})
    decide(r7, committee, chair, "reject", on="2026-02-11")
    r8 = seeded("a8", [dataset], submitted="2025-12-01")
    decide(
        r8,
        committee,
        chair,
        "approve",
        on="2025-12-05",
        end_date=timezone.localdate() + timedelta(days=10),
    )
    seeded("a9", [dataset], submitted="2026-06-01")
    # Leeds' own request, which is none of radboud-dac's figures.
    r10 = seeded("a10", [other_dataset], submitted="2026-02-01", verdicts={other_dataset: "deny"})
    decide(r10, other_committee, other_chair, "reject", on="2026-02-02")
    return {"r3": r3, "r4": r4, "second_dataset": second_dataset}
