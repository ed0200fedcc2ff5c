"""Committee report at scale (issue 15, part 3).

100,000 requests for one committee, decided, returned, withdrawn and open, with their consent
verdicts and grants, over five years; a second committee with 1,000. Measures
`access.reports.committee_report` for the whole five years (the longest period a report may
cover) and `GET /api/v1/committees/{slug}/report` (JSON and CSV), against a plain
`SELECT COUNT(*)` over the committee's reviews in the same run. The report's query count must be
the same for both committees (`queries 100k / 1k` = 1.00), else the script exits 1.

    .venv/bin/python bench/committee_report.py            # PostgreSQL (tessera_bench_report)
    .venv/bin/python bench/committee_report.py --sqlite   # a temporary SQLite file instead
"""

from __future__ import annotations

import argparse
import random
import sys
from datetime import timedelta

from _harness import (
    drop_database,
    measure,
    organisation_and_committee,
    setup_django,
    stopwatch,
    table,
    use_database,
)

DB = "tessera_bench_report"


def build(committee, dataset, users, requests: int, *, rng: random.Random) -> None:
    # The history is bulk-inserted (not through the services): it is scenery for the report,
    # and 100,000 submissions and decisions with their ledger events would take many minutes.
    from django.utils import timezone

    from access.models import AccessRequest, ConsentMatch, Decision, Grant, Review

    now = timezone.now()
    days = 5 * 365
    submitted = [now - timedelta(days=rng.uniform(1, days)) for _ in range(requests)]
    made = AccessRequest.objects.bulk_create(
        [
            AccessRequest(
                applicant=users[i % len(users)],
                title=f"Project {i}",
                status="submitted",
                submitted_at=submitted[i],
                requested_months=12,
            )
            for i in range(requests)
        ],
        batch_size=5000,
    )
    # 70% decided (approved or rejected), 10% returned, 5% withdrawn, the rest open.
    fates = [
        rng.choices(["approve", "reject", "return", "withdrawn", "open"], [45, 25, 10, 5, 15])[0]
        for _ in made
    ]
    status = {
        "approve": "approved",
        "reject": "rejected",
        "return": "returned",
        "withdrawn": "withdrawn",
        "open": "under_review",
    }
    reviews = Review.objects.bulk_create(
        [
            Review(request=r, committee=committee, status=status[f])
            for r, f in zip(made, fates, strict=True)
        ],
        batch_size=5000,
    )
    Review.objects.filter(committee=committee, status="withdrawn").update(
        updated_at=now - timedelta(days=30)
    )
    ConsentMatch.objects.bulk_create(
        [
            ConsentMatch(
                request=r,
                dataset=dataset,
                decision=rng.choices(["approve", "deny", "review"], [70, 10, 20])[0],
                engine_version="2.0.0",
                rules=[{"term": "DUO:0000042", "outcome": "approve", "reason": "GRU"}],
            )
            for r in made
        ],
        batch_size=5000,
    )
    decisions = []
    for review, fate, when in zip(reviews, fates, submitted, strict=True):
        if fate in ("approve", "reject", "return"):
            decided_at = min(now, when + timedelta(days=rng.uniform(1, 90)))
            decisions.append(Decision(review=review, round=1, outcome=fate, decided_at=decided_at))
    decisions = Decision.objects.bulk_create(decisions, batch_size=5000)
    approvals = [d for d in decisions if d.outcome == "approve"]
    Decision.approved_datasets.through.objects.bulk_create(
        [
            Decision.approved_datasets.through(decision_id=d.pk, dataset_id=dataset.pk)
            for d in approvals
        ],
        batch_size=10000,
    )
    by_review = {r.pk: r.request_id for r in reviews}
    Grant.objects.bulk_create(
        [
            Grant(
                user=users[i % len(users)],
                dataset=dataset,
                request_id=by_review[d.review_id],
                decision=d,
                valid_from=d.decided_at,
                valid_until=d.decided_at + timedelta(days=365),
            )
            for i, d in enumerate(approvals)
        ],
        batch_size=10000,
    )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sqlite", action="store_true")
    parser.add_argument("--requests", type=int, default=100_000)
    parser.add_argument("--small", type=int, default=1_000, help="the second committee's requests")
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--keep", action="store_true", help="keep the database (to EXPLAIN)")
    args = parser.parse_args()

    use_database(DB, sqlite=args.sqlite)
    setup_django()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client

    from access import reports
    from access.models import Review
    from governance import services as gov
    from governance.models import ConsentScope, DataAccessCommittee, Dataset, OntologyTerm

    settings.ALLOWED_HOSTS = ["*"]
    User = get_user_model()
    rng = random.Random(15)
    org, big = organisation_and_committee(slug="big")
    small = gov.committee_create(
        committee=DataAccessCommittee(
            name="Small DAC", slug="small", contact_email="s@example.org"
        ),
        actor=None,
    )
    scope = ConsentScope.objects.create(
        name="GRU", permission=OntologyTerm.objects.get(ontology="DUO", shorthand="GRU")
    )
    datasets = {
        dac.pk: Dataset.objects.create(
            accession=f"TSR-DS-{i:06d}",
            title=f"Bench {dac.slug}",
            species="animal",
            organ="liver",
            storage_location=f"s3://bench/{dac.slug}",
            status="published",
            controller=org,
            committee=dac,
            consent_scope=scope,
        )
        for i, dac in enumerate((big, small), start=1)
    }
    users = User.objects.bulk_create(
        [User(username=f"bench{i}", email=f"bench{i}@example.org") for i in range(1000)]
    )
    with stopwatch() as built:
        build(big, datasets[big.pk], users, args.requests, rng=rng)
        build(small, datasets[small.pk], users, args.small, rng=rng)
    if connection.vendor == "postgresql":
        # What autovacuum would do shortly after a bulk load in production.
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    print(
        f"built {args.requests:,} + {args.small:,} requests in {built['seconds']:.1f} s "
        f"({connection.vendor})"
    )
    chair = User.objects.create_user("bench-chair", password="bench", is_staff=True)
    gov.membership_add(committee=big, user=chair, role="chair", actor=None)
    gov.membership_add(committee=small, user=chair, role="chair", actor=None)
    client = Client()
    client.force_login(chair)

    period = reports.default_period()
    period = reports.report_period(
        {
            "from": (
                period.last.replace(year=period.last.year - 5) + timedelta(days=1)
            ).isoformat(),
            "to": period.last.isoformat(),
        }
    )
    query = {"from": period.first.isoformat(), "to": period.last.isoformat()}

    def count(dac):
        return lambda: Review.objects.filter(committee=dac).count()

    def report(dac):
        return lambda: reports.committee_report(committee=dac, period=period)

    def api(dac, fmt: str):
        def call():
            response = client.get(f"/api/v1/committees/{dac.slug}/report", {**query, "format": fmt})
            assert response.status_code == 200, response.content[:300]

        return call

    rows, queries = [], {}
    for dac, n in ((big, args.requests), (small, args.small)):
        base, _ = measure(count(dac), runs=args.runs)
        for what, fn in (
            ("COUNT(*) of the reviews (baseline)", count(dac)),
            ("committee_report()", report(dac)),
            ("GET …/report (JSON)", api(dac, "json")),
            ("GET …/report?format=csv", api(dac, "csv")),
        ):
            median, q = measure(fn, runs=args.runs)
            queries[(what, dac.slug)] = q
            rows.append([what, f"{n:,}", q, f"{median * 1000:.1f}", f"{median / base:.1f}x"])
    print(f"period {period.first} to {period.last}")
    print(table(rows, ["what", "requests", "queries", "median ms", "vs COUNT(*)"]))
    broken = [
        what
        for what in ("committee_report()", "GET …/report (JSON)", "GET …/report?format=csv")
        if queries[(what, "big")] != queries[(what, "small")]
    ]
    print(
        "queries 100k / 1k: "
        + ", ".join(
            f"{what} {queries[(what, 'big')] / queries[(what, 'small')]:.2f}"
            for what in ("committee_report()", "GET …/report (JSON)")
        )
    )
    if not args.keep:
        drop_database(DB)
    if broken:
        print(f"query count grows with the history: {', '.join(broken)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
