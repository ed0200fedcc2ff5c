"""Scale benchmark for the governance catalogue (issue 2).

20,000 datasets and the full Human Disease Ontology. `GET /api/v1/datasets/?disease=DOID:162`
(cancer and every descendant) and the admin dataset changelist, as a superuser and as a
committee member, must run a number of queries that does not grow with the page size. Prints
query counts and median times at page sizes 10 / 25 / 100, with ratios against GET /healthz
measured in the same run.

    .venv/bin/python bench/catalogue_scale.py              # PostgreSQL (tessera_bench_catalogue)
    .venv/bin/python bench/catalogue_scale.py --sqlite     # a temporary SQLite file instead
    .venv/bin/python bench/catalogue_scale.py --datasets 2000 --runs 5   # a quick look
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

from _harness import (
    drop_database,
    git_revision,
    measure,
    setup_django,
    stopwatch,
    table,
    use_database,
)

DB = "tessera_bench_catalogue"
ORGANS = [
    "lung", "colon", "breast", "prostate", "skin", "liver", "kidney", "brain", "stomach",
    "pancreas", "lymph node", "bone marrow", "thyroid", "bladder", "uterus", "heart",
]  # fmt: skip
PAGE_SIZES = (10, 25, 100)


def build(n_datasets: int, n_committees: int, n_scopes: int) -> dict:
    """The scenery: organisations, committees, consent scopes and legal bases through the
    services (a few hundred calls), then the datasets and their object permissions in bulk."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Permission
    from django.contrib.contenttypes.models import ContentType
    from django.db import connection
    from django.utils import timezone
    from guardian.models import GroupObjectPermission

    from governance import services
    from governance.models import (
        ConsentScope,
        DataAccessCommittee,
        Dataset,
        LegalBasis,
        LegalBasisArticle,
        OntologyAncestry,
        OntologyTerm,
        Organisation,
    )

    rng = random.Random(2)
    User = get_user_model()
    organisations = [
        services.organisation_create(
            organisation=Organisation(
                name=f"Bench hospital {i}", country="NL", dpo_email=f"dpo{i}@example.org"
            ),
            actor=None,
        )
        for i in range(5)
    ]
    committees = [
        services.committee_create(
            committee=DataAccessCommittee(
                name=f"Bench DAC {i}",
                slug=f"bench-dac-{i}",
                contact_email=f"dac{i}@example.org",
                organisation=organisations[i % len(organisations)],
                decision_policy=["chair", "majority", "unanimity", "single"][i % 4],
            ),
            actor=None,
        )
        for i in range(n_committees)
    ]
    article = {(a.article, a.point): a for a in LegalBasisArticle.objects.all()}
    research = services.legal_basis_create(
        legal_basis=LegalBasis(
            name="Public interest research",
            article6=article[("6", "e")],
            article9=article[("9", "j")],
            law_reference="UAVG Art. 24",
        ),
        actor=None,
    )
    consent = services.legal_basis_create(
        legal_basis=LegalBasis(
            name="Explicit consent", article6=article[("6", "a")], article9=article[("9", "a")]
        ),
        actor=None,
    )

    duo = {
        t.shorthand: t for t in OntologyTerm.objects.filter(ontology="DUO").exclude(shorthand="")
    }
    cancers = list(
        OntologyAncestry.objects.filter(ancestor__curie="DOID:162").values_list(
            "term_id", flat=True
        )
    )
    diseases = list(
        OntologyTerm.objects.filter(ontology="DOID", obsolete=False).values_list("pk", flat=True)
    )
    by_pk = OntologyTerm.objects.in_bulk(set(cancers) | set(diseases))
    scopes = []
    for i in range(n_scopes):
        permission = ["DS", "DS", "GRU", "HMB", "NRES", "POA"][i % 6]
        modifiers = [duo[m] for m in rng.sample(["NPU", "NCU", "IRB", "PUB", "COL", "RTN"], 2)]
        picked = []
        if permission == "DS":
            # About half the disease-specific scopes are for some cancer.
            pool = cancers if i % 2 else diseases
            picked = [by_pk[pk] for pk in rng.sample(pool, rng.randint(1, 3))]
        scopes.append(
            services.consent_scope_create(
                scope=ConsentScope(name=f"Bench scope {i}", permission=duo[permission]),
                modifiers=modifiers,
                diseases=picked,
                actor=None,
            )
        )

    # Set-up data, not a service path: 20,000 dataset_create + dataset_publish calls with their
    # ledger events would take many minutes and measure nothing this benchmark is about. The
    # rows are what those services would leave (accession from the key, group permissions).
    now = timezone.now()
    datasets = []
    for i in range(1, n_datasets + 1):
        species = "animal" if i % 7 == 0 else "human"
        scope = scopes[i % len(scopes)]
        status = "draft" if i % 20 == 0 else "retired" if i % 20 == 1 else "published"
        datasets.append(
            Dataset(
                pk=i,
                accession=f"TSR-DS-{i:06d}",
                title=f"Bench dataset {i}: {rng.choice(ORGANS)} {rng.choice(['resections', 'biopsies', 'TMA'])}",
                description="Whole-slide images for the catalogue scale benchmark.",
                species=species,
                organ=ORGANS[i % len(ORGANS)],
                stains="H&E",
                scanner="Bench scanner",
                slide_count=rng.randint(10, 5000),
                total_bytes=rng.randint(10**9, 10**13),
                storage_location=f"s3://bench/{i}",
                status=status,
                controller=organisations[i % len(organisations)],
                committee=committees[i % len(committees)],
                consent_scope=scope,
                legal_basis=None if species == "animal" else consent if i % 3 == 0 else research,
                published_at=now if status != "draft" else None,
                retired_at=now if status == "retired" else None,
            )
        )
    Dataset.objects.bulk_create(datasets, batch_size=5000)
    with connection.cursor() as cursor:
        for sql in connection.ops.sequence_reset_sql(no_style(), [Dataset]):
            cursor.execute(sql)
    content_type = ContentType.objects.get_for_model(Dataset)
    perms = {
        p.codename: p
        for p in Permission.objects.filter(
            content_type=content_type,
            codename__in=["view_dataset", "change_dataset", "publish_dataset"],
        )
    }
    committee_group = {c.pk: c.member_group_id for c in committees}
    steward_group = {o.pk: o.steward_group_id for o in organisations}
    rows = []
    for d in datasets:
        rows.append(
            GroupObjectPermission(
                group_id=committee_group[d.committee_id],
                permission=perms["view_dataset"],
                content_type=content_type,
                object_pk=str(d.pk),
            )
        )
        for codename in ("view_dataset", "change_dataset", "publish_dataset"):
            rows.append(
                GroupObjectPermission(
                    group_id=steward_group[d.controller_id],
                    permission=perms[codename],
                    content_type=content_type,
                    object_pk=str(d.pk),
                )
            )
    GroupObjectPermission.objects.bulk_create(rows, batch_size=10000)
    if connection.vendor == "postgresql":
        # What autovacuum would do shortly after a bulk load; without statistics the planner
        # guesses badly for the freshly filled tables.
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")

    superuser = User.objects.create_superuser("bench-root", "root@example.org", "bench")
    member = User.objects.create_user("bench-member", password="bench", is_staff=True)
    services.membership_add(committee=committees[0], user=member, role="member", actor=None)
    return {"superuser": superuser, "member": member, "committee": committees[0]}


def no_style():
    from django.core.management.color import no_style as style

    return style()


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sqlite", action="store_true", help="a temporary SQLite file")
    parser.add_argument("--datasets", type=int, default=20_000)
    parser.add_argument("--committees", type=int, default=12)
    parser.add_argument("--scopes", type=int, default=300)
    parser.add_argument("--runs", type=int, default=15, help="timed runs per request")
    parser.add_argument("--keep", action="store_true", help="keep the database (to EXPLAIN)")
    args = parser.parse_args()

    url = use_database(DB, sqlite=args.sqlite)
    try:
        with stopwatch() as set_up:
            setup_django()
        return run(args, url, set_up["seconds"])
    finally:
        if not args.keep:
            drop_database(DB)
            if args.sqlite:
                from django.db import connections

                connections.close_all()
                for leftover in Path(url.removeprefix("sqlite:///")).parent.glob(f"{DB}.sqlite3*"):
                    leftover.unlink()


def run(args, url: str, set_up_seconds: float) -> int:
    from django.conf import settings
    from django.contrib import admin
    from django.db import connection
    from django.test import Client

    from governance import selectors
    from governance.models import Dataset, OntologyTerm

    settings.ALLOWED_HOSTS = ["*"]
    with stopwatch() as built:
        world = build(args.datasets, args.committees, args.scopes)
    published = Dataset.objects.filter(status="published").count()
    print(
        f"Tessera {git_revision()} on {connection.vendor} ({url.split('@')[-1]}): "
        f"migrate + full ontologies {set_up_seconds:.1f} s "
        f"({OntologyTerm.objects.filter(ontology='DOID').count():,} DOID terms); "
        f"{args.datasets:,} datasets ({published:,} published) across {args.committees} "
        f"committees and {args.scopes} consent scopes built in {built['seconds']:.1f} s"
    )

    anonymous, root, member = Client(), Client(), Client()
    root.force_login(world["superuser"])
    member.force_login(world["member"])

    def get(client, path):
        def call():
            response = client.get(path)
            assert response.status_code == 200, (path, response.status_code)
            return response

        return call

    base, base_queries = measure(get(anonymous, "/healthz"), runs=args.runs)
    ready, _ = measure(get(anonymous, "/readyz"), runs=args.runs)
    matches = anonymous.get("/api/v1/datasets/?disease=DOID:162&page_size=1").json()["count"]
    member_sees = selectors.dataset_list_for_user(world["member"]).count()

    dataset_admin = admin.site._registry[Dataset]
    measured: dict[tuple[str, int], tuple[float, int]] = {}
    requests = [
        ("API ?disease=DOID:162", anonymous, "/api/v1/datasets/?disease=DOID:162&page_size={n}"),
        ("API plain list", anonymous, "/api/v1/datasets/?page_size={n}"),
        ("admin changelist, superuser", root, "/admin/governance/dataset/"),
        ("admin changelist, member", member, "/admin/governance/dataset/"),
    ]
    for size in PAGE_SIZES:
        dataset_admin.list_per_page = size
        for label, client, path in requests:
            measured[label, size] = measure(get(client, path.format(n=size)), runs=args.runs)

    rows = []
    for label, _, _ in requests:
        for size in PAGE_SIZES:
            median, queries = measured[label, size]
            rows.append([label, size, queries, f"{median * 1000:.1f}", f"{median / base:.0f}x"])
    print()
    print(
        f"baseline GET /healthz: {base * 1000:.2f} ms median, {base_queries} queries; "
        f"GET /readyz {ready * 1000:.2f} ms. Medians of {args.runs} runs after 2 warm-ups."
    )
    print(
        f"DOID:162 (cancer) and its descendants match {matches:,} published datasets; "
        f"the member's committee governs {member_sees:,} datasets."
    )
    print(table(rows, ["request", "page size", "queries", "median ms", "vs healthz"]))
    print()
    ratio_rows = []
    for label, _, _ in requests:
        (t10, q10), (t100, q100) = measured[label, 10], measured[label, 100]
        ratio_rows.append([label, f"{q100 / q10:.2f}", f"{t100 / t10:.2f}"])
    print(table(ratio_rows, ["request", "queries 100 / 10", "time 100 / 10"]))
    grows = [label for label, q, _ in ratio_rows if float(q) != 1.0]
    if grows:
        print(f"\nQUERY COUNT GROWS WITH PAGE SIZE: {', '.join(grows)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
