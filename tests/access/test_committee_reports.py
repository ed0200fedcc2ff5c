"""Committee reports (access/reports.py): the figures of a seeded history, computed by hand below;
who may read them (members, stewards of the committee's datasets, auditors; 404 for anyone
else); bad periods answered 400 with a sentence; the CSV the same figures as the JSON; and a
report that costs the same number of queries at two sizes of history."""

from __future__ import annotations

import csv
import io
import secrets
from datetime import date, datetime, timedelta

import pytest
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from oauth2_provider.models import AccessToken, Application

from access import reports
from access.models import AccessRequest, ConsentMatch, Decision, Grant, Review
from audit.choices import EventType
from audit.models import AuditEvent
from governance import services as gov
from tests import factories
from tests.access_world import api

from .report_history import PERIOD, at, history_fixture, second_dataset_fixture  # noqa: F401

pytestmark = pytest.mark.django_db

URL = "/api/v1/committees/{}/report"


def report_of(committee, period=PERIOD):
    return reports.committee_report(committee=committee, period=reports.report_period(period))


# --- the figures --------------------------------------------------------------------------------
def test_the_report_gives_the_figures_computed_by_hand(history, committee, dataset):
    report = report_of(committee)
    assert report["committee"] == {"slug": "radboud-dac", "name": committee.name}
    assert report["period"] == {"from": "2026-01-01", "to": "2026-06-30"}
    # r1, r2, r3, r4, r5, r6, r7, r9 were submitted in the period; r8 before it.
    assert report["requests"] == {"received": 8, "decided": 5, "withdrawn": 1}
    # r1, r3, r4 approved; r2, r7 rejected; r5 returned (a step, not a decision).
    assert report["outcomes"] == {"approved": 3, "rejected": 2, "returned": 1, "automatic": 0}
    # 4, 10, 20, 30, 40 days: the median is 20; the 90th percentile is at rank 0.9 x 4 = 3.6,
    # between 30 and 40: 30 + 0.6 x 10 = 36.
    assert report["days_to_decision"] == {"decisions": 5, "median": 20.0, "p90": 36.0}
    agreement = report["consent_agreement"]
    # Agreed: r1 (approve, approved), r2 (deny, rejected), r4's first dataset (approve,
    # approved). Disagreed: r3 (deny, approved), r4's second dataset (approve, not approved).
    # r7's verdict asked for a person (review), and the committee rejected.
    assert (agreement["agreed"], agreement["disagreed"], agreement["rate"]) == (3, 2, 0.6)
    assert agreement["review_verdicts_approved"] == 0
    assert agreement["review_verdicts_not_approved"] == 1
    listed = {
        (d["request"], d["dataset"], d["verdict"], d["committee"])
        for d in agreement["disagreements"]
    }
    assert listed == {
        (history["r3"].reference, dataset.accession, "deny", "approved"),
        (history["r4"].reference, history["second_dataset"].accession, "approve", "not approved"),
    }
    assert agreement["disagreements_listed"] == 2
    # Now: the grants of r1, r3, r4 (180 days) and r8 (10 days); r9 overdue, r5 returned.
    now = report["now"]
    assert (now["grants_active"], now["grants_ending_soon"]) == (4, 1)
    assert (now["reviews_open"], now["reviews_overdue"]) == (2, 1)
    assert report["by_month"] == [
        {"month": "2026-01", "received": 1, "decided": 0},
        {"month": "2026-02", "received": 0, "decided": 1},
        {"month": "2026-03", "received": 2, "decided": 2},
        {"month": "2026-04", "received": 2, "decided": 1},
        {"month": "2026-05", "received": 2, "decided": 1},
        {"month": "2026-06", "received": 1, "decided": 0},
    ]


def test_a_revoked_grant_is_no_longer_counted_as_active(history, committee):
    grant = Grant.objects.filter(request=history["r3"]).get()
    Grant.objects.filter(pk=grant.pk).update(revoked_at=timezone.now())
    assert report_of(committee)["now"]["grants_active"] == 3


def test_a_period_without_history_has_zeros_and_no_percentiles(history, committee):
    report = report_of(committee, {"from": "2024-01-01", "to": "2024-03-31"})
    assert report["requests"] == {"received": 0, "decided": 0, "withdrawn": 0}
    assert report["days_to_decision"] == {"decisions": 0, "median": None, "p90": None}
    assert report["consent_agreement"]["rate"] is None
    assert [m["month"] for m in report["by_month"]] == ["2024-01", "2024-02", "2024-03"]


def test_the_other_committee_sees_only_its_own_figures(history, other_committee):
    report = report_of(other_committee)
    # r1's leeds part (approved against a deny) and r10 (rejected on a deny).
    assert report["requests"] == {"received": 2, "decided": 2, "withdrawn": 0}
    agreement = report["consent_agreement"]
    assert (agreement["agreed"], agreement["disagreed"]) == (1, 1)


@pytest.mark.parametrize(
    ("values", "median", "p90"),
    [([5.0], 5.0, 5.0), ([1.0, 2.0], 1.5, 1.9), ([4.0, 40.0, 10.0, 30.0, 20.0], 20.0, 36.0)],
)
def test_percentiles_interpolate_between_ranks(values, median, p90):
    assert reports.percentile(values, 0.5) == pytest.approx(median)
    assert reports.percentile(values, 0.9) == pytest.approx(p90)


# --- the query count ----------------------------------------------------------------------------
def _grow(committee, dataset, template, n: int) -> None:
    """`n` more decided requests like `template` (bulk rows: the report reads rows, not services)."""
    base = AccessRequest.objects.get(pk=template.pk)
    made = AccessRequest.objects.bulk_create(
        [
            AccessRequest(
                applicant_id=base.applicant_id,
                title=f"Bulk {i}",
                status="submitted",
                submitted_at=at("2026-03-01"),
            )
            for i in range(n)
        ]
    )
    reviews = Review.objects.bulk_create(
        [Review(request=r, committee=committee, status="rejected") for r in made]
    )
    ConsentMatch.objects.bulk_create(
        [
            ConsentMatch(request=r, dataset=dataset, decision="approve", engine_version="1")
            for r in made
        ]
    )
    Decision.objects.bulk_create(
        [
            Decision(review=r, round=1, outcome="reject", decided_at=at("2026-03-20"))
            for r in reviews
        ]
    )


def test_the_report_costs_the_same_queries_whatever_the_history(history, committee, dataset):
    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            report_of(committee)
        return len(queries)

    small = count()
    _grow(committee, dataset, history["r3"], 300)
    assert report_of(committee)["requests"]["decided"] == 305
    assert count() == small == reports.REPORT_QUERIES


@pytest.mark.parametrize("where", ["api json", "api csv", "workspace"])
def test_the_api_and_the_page_cost_the_same_queries_whatever_the_history(
    history, client, committee, dataset, chair, where
):
    client.force_login(chair)
    url, query = {
        "api json": (URL.format(committee.slug), PERIOD),
        "api csv": (URL.format(committee.slug), {**PERIOD, "format": "csv"}),
        "workspace": (reverse("admin:committee_report", args=[committee.slug]), PERIOD),
    }[where]

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url, query)
        assert response.status_code == 200
        assert response["Content-Type"].startswith("text/csv") == (where == "api csv")
        return len(queries)

    count()  # the session and the site's first-use reads
    small = count()
    _grow(committee, dataset, history["r3"], 300)
    assert count() == small


# --- the API: who may read it -------------------------------------------------------------------
@pytest.fixture
def auditor(db):
    person = factories.user("auditor", is_staff=True)
    group, _ = Group.objects.get_or_create(name="auditors")
    group.permissions.add(
        *Permission.objects.filter(content_type__app_label="audit", codename="view_auditevent")
    )
    person.groups.add(group)
    return person


@pytest.mark.parametrize(
    ("persona", "status"),
    [
        ("chair", 200),
        ("member", 200),
        ("steward", 200),
        ("auditor", 200),
        ("admin_user", 200),
        ("other_chair", 404),
        ("other_member", 404),
        ("researcher", 404),
        ("outsider", 404),
    ],
)
def test_who_may_read_a_committees_report(request, committee, dataset, persona, status):
    person = request.getfixturevalue(persona)
    response = api(person).get(URL.format(committee.slug), PERIOD)
    assert response.status_code == status, response.content[:300]


def test_a_steward_of_another_organisations_datasets_gets_404(committee, other_dataset):
    leeds = other_dataset.controller
    person = factories.user("leedssteward", is_staff=True)

    gov.organisation_steward_add(organisation=leeds, user=person, actor=None)
    assert api(person).get(URL.format(committee.slug), PERIOD).status_code == 404
    assert api(person).get(URL.format(other_dataset.committee.slug), PERIOD).status_code == 200


def test_a_refused_reader_is_in_the_ledger(committee, other_chair):
    assert api(other_chair).get(URL.format(committee.slug), PERIOD).status_code == 404
    event = AuditEvent.objects.filter(event_type=EventType.ACCESS_REFUSED).latest("seq")
    assert event.payload["action"] == "committee.report"
    assert event.payload["status"] == 404


def test_nobody_signed_in_is_refused(committee):
    assert api().get(URL.format(committee.slug), PERIOD).status_code in (401, 403)


def test_an_unknown_committee_is_404_before_the_dates_are_read(chair):
    assert api(chair).get(URL.format("no-such-dac"), {"from": "junk"}).status_code == 404


def _token(user, scope):
    app = Application.objects.create(
        name="reporting tool",
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
        redirect_uris="https://tool.example.org/cb",
    )
    return AccessToken.objects.create(
        user=user,
        application=app,
        token=secrets.token_urlsafe(16),
        scope=scope,
        expires=timezone.now() + timedelta(hours=1),
    ).token


@pytest.mark.parametrize(("scope", "status"), [("reports:read", 200), ("committee:review", 403)])
def test_a_token_needs_the_reports_scope(committee, chair, scope, status):
    client = api()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {_token(chair, scope)}")
    assert client.get(URL.format(committee.slug), PERIOD).status_code == status


# --- the API: bad input -------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("query", "field", "words"),
    [
        ({}, "from", "from=YYYY-MM-DD"),
        ({"from": "2026-01-01"}, "to", "to=YYYY-MM-DD"),
        ({"from": "2026-13-01", "to": "2026-12-31"}, "from", "is not a date"),
        ({"from": "1/2/2026", "to": "2026-12-31"}, "from", "is not a date"),
        ({"from": "2026-W01-1", "to": "2026-12-31"}, "from", "is not a date"),
        ({"from": "2026-01-01", "to": "99999-12-31"}, "to", "is not a date"),
        ({"from": "2026-06-01", "to": "2026-01-01"}, "from", "after it ends"),
        ({"from": "2020-01-01", "to": "2025-01-01"}, "to", "at most 5 years"),
        ({"from": "0001-01-01", "to": "0001-12-31"}, "from", "between"),
        ({"from": "9999-01-01", "to": "9999-12-31"}, "from", "between"),
    ],
)
def test_a_bad_period_is_a_400_that_says_why(committee, chair, query, field, words):
    response = api(chair).get(URL.format(committee.slug), query)
    assert response.status_code == 400
    assert words in response.json()[field][0]


def test_five_years_to_the_day_before_is_the_longest_period(committee, chair):
    ok = {"from": "2020-01-01", "to": "2024-12-31"}
    assert api(chair).get(URL.format(committee.slug), ok).status_code == 200


# --- the API: JSON and CSV ----------------------------------------------------------------------
def test_the_csv_has_the_json_figures(history, committee, chair):
    client = api(chair)
    data = client.get(URL.format(committee.slug), PERIOD).json()
    response = client.get(URL.format(committee.slug), {**PERIOD, "format": "csv"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "report-radboud-dac-2026-01-01-2026-06-30.csv" in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == ["figure", "value"]
    figures = dict(rows[1:])
    assert len(figures) == len(rows) - 1, "each figure once"
    data.pop("generated_at")
    figures.pop("generated_at")
    assert figures == dict(reports.report_rows(data))
    assert figures["requests.received"] == "8"
    assert figures["days_to_decision.p90"] == "36.0"
    assert figures["consent_agreement.disagreements.0.committee"] in ("approved", "not approved")
    assert figures["by_month.5.month"] == "2026-06"


def test_the_report_is_in_the_openapi_schema(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    operation = schema["paths"]["/api/v1/committees/{slug}/report"]["get"]
    assert {p["name"] for p in operation["parameters"]} >= {"slug", "from", "to", "format"}
    assert set(operation["responses"]["200"]["content"]) == {"application/json", "text/csv"}
    assert "CommitteeReport" in schema["components"]["schemas"]


def test_a_date_is_read_in_the_sites_time_zone():
    period = reports.report_period(
        {"from": "2026-03-01", "to": "2026-03-31"}, today=date(2026, 12, 5)
    )
    assert period.start == timezone.make_aware(datetime(2026, 3, 1))
    assert period.end == timezone.make_aware(datetime(2026, 4, 1))


def test_a_csv_cell_that_a_spreadsheet_would_run_is_neutralised():
    """CSV injection (found in review): a text that starts like a formula gets an apostrophe;
    numbers, including negative ones, stay numbers."""
    rows = dict(
        reports.report_rows(
            {"committee": {"name": '=HYPERLINK("https://evil.example","x")'}, "n": -3, "t": "@x"}
        )
    )
    assert rows["committee.name"] == '\'=HYPERLINK("https://evil.example","x")'
    assert rows["t"] == "'@x"
    assert rows["n"] == "-3"


def test_automatic_decisions_are_not_counted_as_agreeing_with_the_verdict(
    history, committee, dataset
):
    """An automatic approval follows the consent verdict by construction: counting it would
    only inflate the rate (found in review). It is counted under outcomes.automatic."""
    before = report_of(committee)["consent_agreement"]
    Decision.objects.filter(review__committee=committee, outcome="approve").update(decided_by=None)
    after = report_of(committee)
    assert after["outcomes"]["automatic"] == 3
    agreement = after["consent_agreement"]
    assert agreement["agreed"] + agreement["disagreed"] < before["agreed"] + before["disagreed"]
    assert all(d["committee"] != "approved" for d in agreement["disagreements"])
