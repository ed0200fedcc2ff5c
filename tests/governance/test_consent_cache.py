"""The purpose-filtered catalogue keeps each purpose's consent decisions in Django's cache
(`consent.scope_decisions`, issue 13): the same answers cold or warm, and never a stale one after a
scope is edited, a dataset moves to another scope, the ontologies are reloaded or the engine
changes."""

from __future__ import annotations

import json
import shutil

import pytest
from django.conf import settings
from django.core.cache import cache

from governance import consent, matching, ontology, selectors, services
from governance.models import Dataset

from .. import factories

pytestmark = pytest.mark.django_db

ONTOLOGY_DIR = settings.TESSERA["ONTOLOGY_DIR"]
LUNG_ADENOCARCINOMA = {"diseases": ["DOID:3910"], "ethics_approval": True, "country": "NL"}
PURPOSES = [
    LUNG_ADENOCARCINOMA,
    {"diseases": ["DOID:114"], "commercial": True},
    {"methods_development": True, "country": "US", "months": 36},
    {"population_ancestry": True, "for_profit_organisation": True},
]


@pytest.fixture
def world(committee, organisation):
    def dataset(title, permission, **scope):
        return factories.dataset(
            committee=committee,
            controller=organisation,
            title=title,
            consent_scope=factories.consent_scope(permission, **scope),
        )

    return {
        "lung": dataset("Lung cancer", "DS", diseases=["DOID:1324"], modifiers=["IRB"]),
        "heart": dataset("Heart failure", "DS", diseases=["DOID:114"]),
        "archive": dataset("Archive", "GRU", modifiers=["NCU"]),
        "eu": dataset("EU only", "HMB", modifiers=["GS"], region=["EU"]),
        "methods": dataset("No methods", "HMB", modifiers=["NMDS", "TS"], time_limit_months=24),
        "ancestry": dataset("Ancestry", "POA", modifiers=["NPU"]),
        "anything": dataset("Anything", "NRES"),
    }


def matched(client, purpose, match="approve") -> set[str]:
    response = client.get(
        "/api/v1/datasets/",
        {"purpose": json.dumps(purpose), "match": match, "page_size": 100},
    )
    assert response.status_code == 200, response.content
    return {d["accession"] for d in response.json()["results"]}


def reference(purpose, decisions) -> set[str]:
    """Each dataset evaluated on its own, without the cache: what the filter must agree with."""
    p = consent.purpose_from_data(purpose)
    return {
        accession
        for accession, verdict in consent.evaluate_datasets(
            selectors.dataset_list_public(), p
        ).items()
        if verdict.decision in decisions
    }


@pytest.mark.parametrize("purpose", PURPOSES)
@pytest.mark.parametrize("match", ["approve", "review", "deny", "approve,review"])
def test_cold_and_warm_cache_give_the_same_datasets_as_evaluating_each(
    client, world, purpose, match
):
    cache.clear()
    cold = matched(client, purpose, match)
    warm = matched(client, purpose, match)
    assert cold == warm == reference(purpose, set(match.split(",")))


def test_the_purposes_of_this_file_reach_every_decision(world):
    # Otherwise the comparison above could pass with every dataset in one bucket.
    seen = set()
    for purpose in PURPOSES:
        verdicts = consent.evaluate_datasets(
            selectors.dataset_list_public(), consent.purpose_from_data(purpose)
        )
        seen |= {v.decision for v in verdicts.values()}
    assert seen == set(matching.Outcome)


def test_a_warm_filter_evaluates_nothing_and_reads_two_small_rows(world, django_assert_num_queries):
    purpose = consent.purpose_from_data(LUNG_ADENOCARCINOMA)
    qs = selectors.dataset_list_public()
    cold = set(consent.filter_by_match(qs, purpose, {"approve"}).values_list("pk", flat=True))
    with django_assert_num_queries(2):  # the key: ontology releases, scope count/max/versions
        warm = consent.filter_by_match(qs, purpose, {"approve"})
    assert set(warm.values_list("pk", flat=True)) == cold


def test_equal_purposes_written_differently_share_one_entry(world):
    cache.clear()
    a = consent.purpose_from_data({"diseases": ["DOID:3910", "DOID:1324"], "country": "nl"})
    b = consent.purpose_from_data({"diseases": ["doid:1324", "DOID:3910"], "country": "NL"})
    assert consent.decisions_cache_key(a) == consent.decisions_cache_key(b)
    other = consent.purpose_from_data({"diseases": ["DOID:3910"], "country": "NL"})
    assert consent.decisions_cache_key(other) != consent.decisions_cache_key(a)


def test_the_portal_page_filters_alike_cold_and_warm(client, world):
    cache.clear()
    query = {"p-diseases": "DOID:3910", "p-ethics_approval": "on", "p-match": "approve"}
    pages = [client.get("/datasets/", query).content.decode() for _ in range(2)]
    for page in pages:
        assert "Lung cancer" in page and "Heart failure" not in page and "Archive" in page


def test_editing_a_scope_changes_the_answer_at_once(client, world):
    lung = world["lung"]
    assert lung.accession in matched(client, LUNG_ADENOCARCINOMA)  # now cached
    scope = lung.consent_scope
    services.consent_scope_update(
        scope=scope,
        modifiers=list(scope.modifiers.all()),
        diseases=[factories.term("DOID:114")],
        actor=None,
    )
    assert lung.accession not in matched(client, LUNG_ADENOCARCINOMA)
    assert lung.accession in matched(client, LUNG_ADENOCARCINOMA, "deny")
    # Modifiers and diseases are rows of their own, not columns of the scope: still caught.
    services.consent_scope_update(
        scope=scope,
        modifiers=[factories.term("NCU")],
        diseases=[factories.term("DOID:1324")],
        actor=None,
    )
    assert lung.accession in matched(client, LUNG_ADENOCARCINOMA)
    assert lung.accession in matched(client, {**LUNG_ADENOCARCINOMA, "commercial": True}, "deny")


def test_moving_a_dataset_to_another_scope_changes_the_answer(client, world):
    heart = world["heart"]
    assert heart.accession not in matched(client, LUNG_ADENOCARCINOMA)
    heart = Dataset.objects.get(pk=heart.pk)
    heart.consent_scope = world["anything"].consent_scope
    services.dataset_update(dataset=heart, actor=None)
    assert heart.accession in matched(client, LUNG_ADENOCARCINOMA)


def test_new_datasets_with_new_scopes_are_matched(client, world, committee, organisation):
    before = {m: matched(client, LUNG_ADENOCARCINOMA, m) for m in ("approve", "deny")}
    fits, does_not = (
        factories.dataset(
            committee=committee,
            controller=organisation,
            consent_scope=factories.consent_scope("DS", diseases=[disease]),
        )
        for disease in ("DOID:3905", "DOID:114")
    )
    assert matched(client, LUNG_ADENOCARCINOMA) == before["approve"] | {fits.accession}
    assert matched(client, LUNG_ADENOCARCINOMA, "deny") == before["deny"] | {does_not.accession}


def test_reloading_the_ontologies_changes_the_answer(client, world, tmp_path):
    # In this copy of DOID lung adenocarcinoma is no longer a kind of lung cancer.
    copy = tmp_path / "ontologies"
    shutil.copytree(ONTOLOGY_DIR, copy)
    tsv = copy / "doid" / "HumanDO.tsv"
    text = tsv.read_text(encoding="utf-8")
    line = '"DOID:3910"\t"lung adenocarcinoma"\t"lung non-small cell carcinoma"'
    assert line in text
    tsv.write_text(
        text.replace(line, '"DOID:3910"\t"lung adenocarcinoma"\t"respiratory system cancer"'),
        encoding="utf-8",
    )
    lung = world["lung"].accession
    assert lung in matched(client, LUNG_ADENOCARCINOMA)  # now cached

    assert set(ontology.load(copy)) == {"DOID"}
    assert lung not in matched(client, LUNG_ADENOCARCINOMA)
    assert lung in matched(client, LUNG_ADENOCARCINOMA, "deny")


def test_a_new_engine_version_is_a_new_key(world, monkeypatch):
    purpose = consent.purpose_from_data(LUNG_ADENOCARCINOMA)
    key = consent.decisions_cache_key(purpose)
    monkeypatch.setattr(matching, "ENGINE_VERSION", "999.0.0")
    assert consent.decisions_cache_key(purpose) != key
