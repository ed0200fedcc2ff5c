"""Consent-matching benchmark (issue 5): one research purpose against 20,000 datasets.

Measures, in one run and against baselines from the same run:
- verdicts per second when the whole catalogue is matched, from loaded rows
  (`consent.evaluate_datasets`) or from columns (`consent.evaluate_catalogue`), as a ratio
  against the plain catalogue query without matching (`selectors.dataset_list_public`);
- the pure engine alone (`matching.evaluate` on prepared inputs);
- the `match` filter over the whole catalogue (`consent.filter_by_match`), against a plain count;
- `GET /api/v1/datasets/` pages with `purpose` (and `match`), against the same page without;
  the `match` page twice: with the consent decisions cache emptied before every request (cold,
  as before the cache), and warm (`consent.scope_decisions`, issue 13);
and the number of queries of each.

    .venv/bin/python bench/consent_search.py              # PostgreSQL (creates tessera_bench_consent)
    .venv/bin/python bench/consent_search.py --sqlite     # a temporary SQLite file instead
    .venv/bin/python bench/consent_search.py --scopes 200 # datasets share 200 consent scopes

By default every dataset has its own consent scope: the worst case, since datasets that share a
scope share one evaluation.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections import Counter
from datetime import date
from urllib.parse import quote

from _harness import (
    drop_database,
    git_revision,
    measure,
    organisation_and_committee,
    setup_django,
    stopwatch,
    table,
    use_database,
)

DB = "tessera_bench_consent"
PURPOSE = {
    "diseases": ["DOID:3910"],  # lung adenocarcinoma
    "methods_development": True,
    "ethics_approval": True,
    "country": "NL",
    "months": 24,
}
# Cancers of several depths, so that DS consents sometimes fit the purpose and sometimes not.
DISEASES = [
    "DOID:162", "DOID:0050686", "DOID:1324", "DOID:3905", "DOID:3908", "DOID:3910", "DOID:5409",
    "DOID:9256", "DOID:219", "DOID:1612", "DOID:305", "DOID:10534", "DOID:1793", "DOID:4362",
    "DOID:114", "DOID:9352", "DOID:2841",
]  # fmt: skip
PERMISSIONS = [("GRU", 30), ("HMB", 25), ("DS", 35), ("NRES", 5), ("POA", 5)]
# (modifier, probability); NCU/NPU/NPUNCU are drawn as one choice, as DUO makes them exclusive.
MODIFIERS = [
    ("IRB", 0.5), ("PUB", 0.3), ("GS", 0.2), ("TS", 0.15), ("NMDS", 0.15), ("COL", 0.1),
    ("RTN", 0.1), ("GSO", 0.05), ("MOR", 0.05), ("CC", 0.05), ("NPOA", 0.05), ("US", 0.03),
    ("PS", 0.02), ("IS", 0.02), ("RS", 0.01),
]  # fmt: skip
REGIONS = [["EU"], ["EEA"], ["NL"], ["US", "GB"], ["EU", "GB"]]


def build(datasets: int, scopes: int, seed: int) -> None:
    # Scenery for the reads measured here: bulk-inserted, not through the services (20,000
    # service calls with ledger events would take minutes and measure nothing of interest).
    from django.utils import timezone

    from governance.models import (
        ConsentScope,
        Dataset,
        OntologyTerm,
    )

    rng = random.Random(seed)
    terms = {
        t.shorthand or t.curie: t.pk
        for t in OntologyTerm.objects.filter(ontology="DUO").exclude(shorthand="")
    }
    terms |= dict(OntologyTerm.objects.filter(curie__in=DISEASES).values_list("curie", "pk"))
    org, dac = organisation_and_committee()
    rows, modifier_links, disease_links = [], [], []
    for i in range(scopes):
        permission = rng.choices([p for p, _ in PERMISSIONS], [w for _, w in PERMISSIONS])[0]
        mods = [m for m, p in MODIFIERS if rng.random() < p]
        if permission not in ("DS", "HMB", "GRU"):
            mods = [m for m in mods if m != "NMDS"]
        commercial = rng.choices(["", "NCU", "NPU", "NPUNCU"], [60, 25, 5, 10])[0]
        mods += [commercial] if commercial else []
        named = {
            "named_users": "Dr A. Jansen" if "US" in mods else "",
            "named_projects": "PATH-AI" if "PS" in mods else "",
            "named_institutions": "Radboudumc" if "IS" in mods else "",
        }
        rows.append(
            ConsentScope(
                name=f"Bench scope {i}",
                permission_id=terms[permission],
                region=rng.choice(REGIONS) if "GS" in mods else [],
                time_limit_months=rng.choice([12, 24, 36]) if "TS" in mods else None,
                moratorium_until=date(2027, 6, 30) if "MOR" in mods else None,
                **named,
            )
        )
        modifier_links.append(mods)
        disease_links.append(
            rng.sample(DISEASES, rng.choice([1, 1, 2])) if permission == "DS" else []
        )
    made = ConsentScope.objects.bulk_create(rows, batch_size=5000)
    ConsentScope.modifiers.through.objects.bulk_create(
        [
            ConsentScope.modifiers.through(consentscope_id=s.pk, ontologyterm_id=terms[m])
            for s, mods in zip(made, modifier_links, strict=True)
            for m in mods
        ],
        batch_size=10000,
    )
    ConsentScope.diseases.through.objects.bulk_create(
        [
            ConsentScope.diseases.through(consentscope_id=s.pk, ontologyterm_id=terms[d])
            for s, diseases in zip(made, disease_links, strict=True)
            for d in diseases
        ],
        batch_size=10000,
    )
    now = timezone.now()
    Dataset.objects.bulk_create(
        [
            Dataset(
                accession=f"TSR-DS-{i + 1:06d}",
                title=f"Bench dataset {i}",
                species="human",
                organ=rng.choice(["lung", "colon", "breast", "liver"]),
                storage_location=f"s3://bench/{i}",
                status="published",
                published_at=now,
                controller=org,
                committee=dac,
                consent_scope=made[i % scopes],
            )
            for i in range(datasets)
        ],
        batch_size=5000,
    )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sqlite", action="store_true")
    parser.add_argument("--datasets", type=int, default=20_000)
    parser.add_argument(
        "--scopes", type=int, default=0, help="distinct consent scopes (default: one per dataset)"
    )
    parser.add_argument("--runs", type=int, default=5, help="timed runs per whole-catalogue figure")
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args()
    scopes = args.scopes or args.datasets

    url = use_database(DB, sqlite=args.sqlite)
    setup_django()
    from django.conf import settings
    from django.core.cache import cache
    from django.test import Client
    from rest_framework.throttling import ScopedRateThrottle

    from governance import consent, matching, selectors

    settings.ALLOWED_HOSTS = ["*"]
    with stopwatch() as built:
        build(args.datasets, scopes, args.seed)
    from django.db import connection

    if connection.vendor == "postgresql":
        # Fresh bulk-loaded tables have no planner statistics yet; production tables do.
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    engine = url.split(":", 1)[0]
    print(
        f"consent_search @ {git_revision()} on {engine}: {args.datasets:,} published datasets, "
        f"{scopes:,} distinct consent scopes, built in {built['seconds']:.1f} s"
    )
    print(f"purpose: {json.dumps(PURPOSE)}")
    purpose = consent.purpose_from_data(PURPOSE)
    n = args.datasets

    def catalogue():
        return list(selectors.dataset_list_public())

    def catalogue_matched():
        return consent.evaluate_datasets(catalogue(), purpose)

    rows_loaded = catalogue()

    def matching_only():
        return consent.evaluate_datasets(rows_loaded, purpose)

    inputs = [consent.consent_input_from_scope(d.consent_scope) for d in rows_loaded]
    print(f"distinct consent inputs (equal ones share an evaluation): {len(set(inputs)):,}")
    ancestors, labels = consent.purpose_ancestry(purpose)

    def engine_only():
        lookup = lambda c: ancestors.get(c, frozenset({c}))  # noqa: E731
        return [matching.evaluate(i, purpose, ancestors=lookup, labels=labels) for i in inputs]

    def catalogue_columns():
        return consent.evaluate_catalogue(selectors.dataset_list_public(), purpose)

    def plain_count():
        return selectors.dataset_list_public().count()

    def match_count():
        return consent.filter_by_match(
            selectors.dataset_list_public(), purpose, {"approve"}
        ).count()

    def match_count_cold():
        cache.clear()
        return match_count()

    runs = {"runs": args.runs, "warmup": 1}
    base, base_q = measure(catalogue, **runs)
    rows = [["catalogue query, no matching (baseline)", base_q, f"{base * 1000:.0f}", "", "1.00x"]]
    for label, fn in (
        ("catalogue query + evaluate_datasets", catalogue_matched),
        ("evaluate_catalogue (columns, no rows)", catalogue_columns),
        ("evaluate_datasets on loaded rows", matching_only),
        ("engine only (matching.evaluate x N)", engine_only),
    ):
        median, queries = measure(fn, **runs)
        rows.append(
            [label, queries, f"{median * 1000:.0f}", f"{n / median:,.0f}", f"{median / base:.3f}x"]
        )
    count_base, count_q = measure(plain_count, **runs)
    rows.append(["count(), no matching (baseline 2)", count_q, f"{count_base * 1000:.0f}", "", ""])
    for label, fn in (
        ("filter_by_match(approve).count(), cold", match_count_cold),
        ("filter_by_match(approve).count(), warm", match_count),
    ):
        count_match, count_match_q = measure(fn, **runs)
        rows.append(
            [
                label,
                count_match_q,
                f"{count_match * 1000:.0f}",
                f"{n / count_match:,.0f}",
                f"{count_match / base:.3f}x ({count_match / count_base:.1f}x baseline 2)",
            ]
        )
    print()
    print(
        table(
            rows,
            ["whole catalogue", "queries", "median ms", "verdicts/s", "vs catalogue query"],
        )
    )

    verdicts = catalogue_matched()
    tally = Counter(str(v.decision) for v in verdicts.values())
    print(
        "\nverdicts: "
        + ", ".join(f"{k} {tally[k]:,}" for k in ("approve", "review", "deny"))
        + f" (filter says approve {match_count():,})"
    )

    # The throttle would stop the benchmark: it measures the work, not the rate limit.
    ScopedRateThrottle.THROTTLE_RATES = {**ScopedRateThrottle.THROTTLE_RATES, "consent": None}
    client = Client()
    encoded = quote(json.dumps(PURPOSE))
    pages = []
    plain_page = None
    ratios = []
    for size in (25, 100):
        matched = f"/api/v1/datasets/?page_size={size}&purpose={encoded}&match=approve"
        urls = [
            ("page, no purpose (baseline)", f"/api/v1/datasets/?page_size={size}", False),
            ("page + purpose", f"/api/v1/datasets/?page_size={size}&purpose={encoded}", False),
            ("page + purpose + match=approve, cold cache", matched, True),
            ("page + purpose + match=approve, warm cache", matched, False),
        ]
        for label, path, cold in urls:

            def call(path=path, cold=cold):
                if cold:
                    cache.clear()  # as before the cache: every scope evaluated on every request
                response = client.get(path)
                assert response.status_code == 200, (path, response.status_code)

            median, queries = measure(call, runs=max(args.runs, 7), warmup=1)
            if label.startswith("page, no purpose"):
                plain_page = median
            if "match=" in label:
                ratios.append(f"page {size} {label.rsplit(', ', 1)[1]}: {median / plain_page:.2f}x")
            pages.append(
                [label, size, queries, f"{median * 1000:.1f}", f"{median / plain_page:.2f}x"]
            )
    print()
    print(table(pages, ["GET /api/v1/datasets/", "page size", "queries", "median ms", "vs page"]))
    print("\nfiltered/plain page: " + "; ".join(ratios))
    if not args.keep:
        drop_database(DB)
    return 0


if __name__ == "__main__":
    sys.exit(main())
