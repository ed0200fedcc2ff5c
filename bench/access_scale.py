"""Scale benchmark for access requests (issue 4).

100,000 requests across 50 committees; a committee member's admin changelist and
`GET /api/v1/access-requests/` must keep a constant number of queries per page. Prints query
counts and median times per page size, with ratios against GET /healthz in the same run.

    .venv/bin/python bench/access_scale.py            # PostgreSQL (creates tessera_bench_access)
    .venv/bin/python bench/access_scale.py --sqlite   # a temporary SQLite file instead
"""

from __future__ import annotations

import argparse
import random
import sys
from datetime import timedelta

from _harness import drop_database, measure, setup_django, stopwatch, table, use_database

DB = "tessera_bench_access"


def build(requests: int, committees: int) -> dict:
    # Set-up data is bulk-inserted (not through the services): it is scenery for the reads
    # measured here, and 100,000 service calls with ledger events would take many minutes.
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Permission
    from django.utils import timezone

    from access.models import AccessRequest, Review, ReviewGroupObjectPermission
    from governance import services as gov
    from governance.models import (
        ConsentScope,
        DataAccessCommittee,
        Dataset,
        OntologyTerm,
        Organisation,
    )

    User = get_user_model()
    rng = random.Random(42)
    org = gov.organisation_create(
        organisation=Organisation(
            name="Bench Organisation", country="NL", dpo_email="dpo@example.org"
        ),
        actor=None,
    )
    dacs = [
        gov.committee_create(
            committee=DataAccessCommittee(
                name=f"Bench DAC {i}", slug=f"bench-{i}", contact_email=f"dac{i}@example.org"
            ),
            actor=None,
        )
        for i in range(committees)
    ]
    gru = OntologyTerm.objects.get(ontology="DUO", shorthand="GRU")
    scope = ConsentScope.objects.create(name="GRU", permission=gru)
    now = timezone.now()
    datasets = Dataset.objects.bulk_create(
        [
            Dataset(
                accession=f"TSR-DS-{i + 1:06d}",
                title=f"Bench dataset {i}",
                species="animal",
                organ="liver",
                storage_location=f"s3://bench/{i}",
                status="published",
                controller=org,
                committee=dacs[i % committees],
                consent_scope=scope,
                published_at=now,
            )
            for i in range(committees * 4)
        ]
    )
    by_committee: dict[int, list] = {}
    for d in datasets:
        by_committee.setdefault(d.committee_id, []).append(d)
    users = User.objects.bulk_create(
        [User(username=f"bench{i}", email=f"bench{i}@example.org") for i in range(1000)]
    )
    requests_ = AccessRequest.objects.bulk_create(
        [
            AccessRequest(
                applicant=users[i % len(users)],
                title=f"Project {i}",
                lay_summary="Bench",
                scientific_abstract="Bench",
                status="submitted",
                submitted_at=now - timedelta(days=i % 400),
                requested_months=12,
            )
            for i in range(requests)
        ],
        batch_size=5000,
    )
    through = AccessRequest.datasets.through
    links, reviews = [], []
    for i, r in enumerate(requests_):
        first = dacs[i % committees]
        chosen = [first] + ([dacs[(i + 7) % committees]] if i % 5 == 0 else [])
        for dac in chosen:
            links.append(
                through(accessrequest_id=r.pk, dataset_id=rng.choice(by_committee[dac.pk]).pk)
            )
            reviews.append(
                Review(
                    request=r,
                    committee=dac,
                    status=rng.choice(["submitted", "under_review", "approved"]),
                )
            )
    through.objects.bulk_create(links, batch_size=10000)
    Review.objects.bulk_create(reviews, batch_size=10000)
    view = Permission.objects.get(codename="view_review", content_type__app_label="access")
    change = Permission.objects.get(codename="change_review", content_type__app_label="access")
    groups = {d.pk: d.member_group_id for d in dacs}
    ReviewGroupObjectPermission.objects.bulk_create(
        [
            ReviewGroupObjectPermission(
                content_object_id=rv.pk, group_id=groups[rv.committee_id], permission=perm
            )
            for rv in Review.objects.only("pk", "committee_id").iterator(chunk_size=10000)
            for perm in (view, change)
        ],
        batch_size=10000,
    )
    from django.db import connection

    if connection.vendor == "postgresql":
        # What autovacuum would do shortly after a bulk load in production; without statistics
        # the planner guesses badly for the freshly filled tables.
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    member = User.objects.create_user("bench-member", password="bench", is_staff=True)
    gov.membership_add(committee=dacs[0], user=member, role="chair", actor=None)
    return {
        "member": member,
        "researcher": users[0],
        "reviews_of_member": Review.objects.filter(committee=dacs[0]).count(),
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sqlite", action="store_true")
    parser.add_argument("--requests", type=int, default=100_000)
    parser.add_argument("--committees", type=int, default=50)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument(
        "--keep", action="store_true", help="keep the database afterwards (to EXPLAIN)"
    )
    parser.add_argument("--reuse", action="store_true", help="measure a database kept by --keep")
    args = parser.parse_args()

    if args.reuse:
        import os

        os.environ["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{DB}"
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
        setup_django(migrate=False, ontologies=False)
    else:
        use_database(DB, sqlite=args.sqlite)
        setup_django()
    from django.conf import settings
    from django.contrib import admin
    from django.test import Client

    from access.models import Review

    settings.ALLOWED_HOSTS = ["*"]
    if args.reuse:
        from django.contrib.auth import get_user_model

        User = get_user_model()
        member_user = User.objects.get(username="bench-member")
        world = {
            "member": member_user,
            "researcher": User.objects.get(username="bench0"),
            "reviews_of_member": Review.objects.filter(
                committee__memberships__user=member_user
            ).count(),
        }
        built = {"seconds": 0.0}
    else:
        with stopwatch() as built:
            world = build(args.requests, args.committees)
    print(
        f"built {args.requests:,} requests / {Review.objects.count():,} reviews across {args.committees} committees "
        f"in {built['seconds']:.1f} s; the member's committee reviews {world['reviews_of_member']:,}"
    )

    member, researcher = Client(), Client()
    member.force_login(world["member"])
    researcher.force_login(world["researcher"])
    anonymous = Client()
    base, _ = measure(lambda: anonymous.get("/healthz"), runs=args.runs)

    def get(client, url):
        def call():
            response = client.get(url)
            assert response.status_code == 200, (url, response.status_code)

        return call

    rows = []
    for size in (10, 25, 100):
        for who, client, url in (
            ("member", member, f"/api/v1/access-requests/?role=committee&page_size={size}"),
            ("researcher", researcher, f"/api/v1/access-requests/?page_size={size}"),
        ):
            median, queries = measure(get(client, url), runs=args.runs)
            rows.append(
                [f"API {who}", size, queries, f"{median * 1000:.1f}", f"{median / base:.1f}x"]
            )
    review_admin = admin.site._registry.get(Review)
    if review_admin is not None:
        for size in (10, 25, 100):
            review_admin.list_per_page = size
            median, queries = measure(get(member, "/admin/access/review/"), runs=args.runs)
            rows.append(
                [
                    "admin reviews (member)",
                    size,
                    queries,
                    f"{median * 1000:.1f}",
                    f"{median / base:.1f}x",
                ]
            )
    else:
        print("(no Review admin registered: admin changelist not measured)")
    print(f"baseline GET /healthz: {base * 1000:.2f} ms median")
    print(table(rows, ["what", "page size", "queries", "median ms", "vs healthz"]))
    if not (args.keep or args.reuse):
        drop_database(DB)
    return 0


if __name__ == "__main__":
    sys.exit(main())
