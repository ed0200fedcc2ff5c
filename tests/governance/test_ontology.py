"""DUO and DOID as shipped: parsed faithfully, loaded idempotently, and their hierarchy answered
in one query whatever the depth."""

from __future__ import annotations

import shutil
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError

from audit.choices import EventType
from audit.models import AuditEvent
from governance import ontology
from governance.models import OntologyAncestry, OntologyRelease, OntologyTerm

ONTOLOGY_DIR: Path = settings.TESSERA["ONTOLOGY_DIR"]
DUO_FILES = (ONTOLOGY_DIR / "duo" / "duo.csv", ONTOLOGY_DIR / "duo" / "duo.owl")


# --- DUO parsing (pure) -----------------------------------------------------------------------
@pytest.fixture(scope="module")
def duo():
    return ontology.parse_duo(*DUO_FILES)


def test_duo_has_exactly_the_five_permission_terms(duo):
    permissions = {t.shorthand: c for c, t in duo.items() if t.duo_kind == "permission"}
    assert permissions == {
        "NRES": "DUO:0000004",
        "GRU": "DUO:0000042",
        "HMB": "DUO:0000006",
        "DS": "DUO:0000007",
        "POA": "DUO:0000011",
    }


def test_duo_modifiers_include_npoa_despite_its_odd_iri(duo):
    assert "DUO:00000044" not in duo
    npoa = duo["DUO:0000044"]
    assert npoa.shorthand == "NPOA"
    assert npoa.duo_kind == "modifier"
    assert npoa.label == "population origins or ancestry research prohibited"
    assert not npoa.obsolete


def test_duo_modifiers_are_the_ones_consent_scopes_use(duo):
    modifiers = {t.shorthand for t in duo.values() if t.duo_kind == "modifier"}
    assert {
        "NPU", "NCU", "NPUNCU", "NMDS", "GSO", "IRB", "PUB", "COL", "RTN",
        "GS", "MOR", "TS", "US", "PS", "IS", "NPOA", "CC",
    } <= modifiers  # fmt: skip


def test_npu_and_ncu_are_children_of_npuncu(duo):
    assert duo["DUO:0000045"].parents == {"DUO:0000018"}
    assert duo["DUO:0000046"].parents == {"DUO:0000018"}


@pytest.mark.parametrize("curie", ["DUO:0000002", "DUO:0000003", "DUO:0000005", "DUO:0000014"])
def test_obsolete_duo_terms_are_flagged(duo, curie):
    assert duo[curie].obsolete
    assert duo[curie].duo_kind != "permission"


def test_no_current_permission_or_modifier_is_flagged_obsolete(duo):
    used = [t for t in duo.values() if t.duo_kind in ("permission", "modifier")]
    assert used
    assert [t.curie for t in used if t.obsolete] == []


OWL_HEAD = """<?xml version="1.0"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"
     xmlns:rdfs="http://www.w3.org/2000/01/rdf-schema#"
     xmlns:owl="http://www.w3.org/2002/07/owl#"
     xmlns:obo="http://purl.obolibrary.org/obo/"
     xmlns:oboInOwl="http://www.geneontology.org/formats/oboInOwl#">
"""


def owl_class(number: str, label: str, parent: str = "", extra: str = "") -> str:
    sub = f'<rdfs:subClassOf rdf:resource="{parent}"/>' if parent else ""
    return (
        f'<owl:Class rdf:about="http://purl.obolibrary.org/obo/DUO_{number}">'
        f"<rdfs:label>{label}</rdfs:label>{sub}{extra}</owl:Class>\n"
    )


def test_duo_parser_reads_deprecation_both_ways_and_normalises_iris(tmp_path):
    obo = "http://purl.obolibrary.org/obo/"
    owl = tmp_path / "duo.owl"
    owl.write_text(
        OWL_HEAD
        + owl_class("0000001", "data use permission")
        + owl_class("0000017", "data use modifier")
        + owl_class("0000042", "general research use", f"{obo}DUO_0000001")
        + owl_class("00000044", "odd modifier", f"{obo}DUO_0000017")
        + owl_class(
            "0000005",
            "obsolete thing",
            "http://www.geneontology.org/formats/oboInOwl#ObsoleteClass",
        )
        + owl_class(
            "0000014",
            "research use only",
            f"{obo}DUO_0000001",
            '<owl:deprecated rdf:datatype="http://www.w3.org/2001/XMLSchema#boolean">true'
            "</owl:deprecated>",
        )
        + "</rdf:RDF>\n",
        encoding="utf-8",
    )
    csv = tmp_path / "duo.csv"
    csv.write_text(
        "id,shorthand,label,description\n"
        "DUO:0000042,GRU,general research use,Any research.\n"
        "DUO:0000044,NPOA,odd modifier,No ancestry research.\n",
        encoding="utf-8",
    )
    terms = ontology.parse_duo(csv, owl)
    assert set(terms) == {
        "DUO:0000001",
        "DUO:0000017",
        "DUO:0000042",
        "DUO:0000044",
        "DUO:0000005",
        "DUO:0000014",
    }
    assert terms["DUO:0000044"].duo_kind == "modifier"
    assert terms["DUO:0000044"].shorthand == "NPOA"
    assert terms["DUO:0000042"].description == "Any research."
    assert terms["DUO:0000005"].obsolete
    assert terms["DUO:0000014"].obsolete
    assert not terms["DUO:0000042"].obsolete


# --- DOID parsing and closure (pure) ----------------------------------------------------------
def test_closure_keeps_the_shortest_distance_to_each_ancestor():
    closure = ontology.closure_of({"a": [], "b": ["a"], "c": ["b", "a"], "d": ["c"]})
    assert closure["d"] == {"d": 0, "c": 1, "b": 2, "a": 2}


def test_closure_refuses_a_cycle():
    with pytest.raises(ValueError, match="cycle"):
        ontology.closure_of({"a": ["b"], "b": ["a"]})


def test_doid_parser_refuses_an_unknown_parent_label(tmp_path):
    tsv = tmp_path / "HumanDO.tsv"
    tsv.write_text(
        'id\tlabel\tsubClassOf\n"DOID:1"\t"alpha"\t"no such disease"\n', encoding="utf-8"
    )
    with pytest.raises(ValueError, match="no such disease"):
        ontology.parse_doid(tsv)


def test_doid_has_disease_as_its_single_root():
    terms = ontology.parse_doid(ONTOLOGY_DIR / "doid" / "HumanDO.tsv")
    closure = ontology.closure_of({c: t.parents for c, t in terms.items()})
    assert terms["DOID:4"].label == "disease"
    assert [c for c, t in terms.items() if not t.parents] == ["DOID:4"]
    assert all("DOID:4" in ancestors for ancestors in closure.values())


# --- the loaded database ----------------------------------------------------------------------
@pytest.mark.django_db
def test_loaded_duo_permissions_are_the_ones_a_scope_may_pick():
    permissions = OntologyTerm.objects.filter(ontology="DUO", duo_kind="permission", obsolete=False)
    assert sorted(permissions.values_list("shorthand", flat=True)) == [
        "DS",
        "GRU",
        "HMB",
        "NRES",
        "POA",
    ]


@pytest.mark.django_db
def test_loaded_npoa_is_a_usable_modifier():
    npoa = OntologyTerm.objects.get(curie="DUO:0000044")
    assert (npoa.shorthand, npoa.duo_kind, npoa.obsolete) == ("NPOA", "modifier", False)


@pytest.mark.django_db
def test_lung_cancer_has_cancer_and_disease_among_its_ancestors(django_assert_num_queries):
    with django_assert_num_queries(1):
        ancestors = ontology.ancestors_of(["DOID:1324"])
    assert {"DOID:1324", "DOID:162", "DOID:4"} <= ancestors["DOID:1324"]
    assert "DOID:114" not in ancestors["DOID:1324"]  # heart disease


@pytest.mark.django_db
def test_all_ancestors_of_the_deepest_terms_are_one_query(django_assert_num_queries):
    deepest = list(
        OntologyAncestry.objects.filter(ancestor__curie="DOID:4")
        .order_by("-distance")
        .values_list("term__curie", "distance")[:5]
    )
    depth = deepest[0][1]
    assert depth >= 10
    curies = [c for c, _ in deepest] + ["DOID:1324", "DOID:162"]
    with django_assert_num_queries(1):
        ancestors = ontology.ancestors_of(curies)
    for curie, distance in deepest:
        assert len(ancestors[curie]) >= distance + 1
        assert "DOID:4" in ancestors[curie]


@pytest.mark.django_db
def test_ancestry_records_distances():
    rows = dict(
        OntologyAncestry.objects.filter(term__curie="DOID:1324").values_list(
            "ancestor__curie", "distance"
        )
    )
    assert rows["DOID:1324"] == 0
    assert rows["DOID:162"] == 3
    assert rows["DOID:4"] == 5


@pytest.mark.django_db
def test_unknown_term_has_no_ancestors():
    assert ontology.ancestors_of(["DOID:99999999"]) == {"DOID:99999999": set()}


def counts() -> dict[str, int]:
    return {
        "terms": OntologyTerm.objects.count(),
        "parents": OntologyTerm.parents.through.objects.count(),
        "ancestry": OntologyAncestry.objects.count(),
        "obsolete": OntologyTerm.objects.filter(obsolete=True).count(),
    }


@pytest.mark.django_db
def test_loading_unchanged_files_again_loads_nothing():
    before, seq = counts(), AuditEvent.objects.count()
    out = StringIO()
    call_command("load_ontologies", stdout=out)
    assert "already up to date" in out.getvalue()
    assert counts() == before
    assert AuditEvent.objects.count() == seq


@pytest.mark.django_db
def test_forced_reload_loads_both_ontologies_and_keeps_the_counts():
    before = counts()
    loaded_at = dict(OntologyRelease.objects.values_list("ontology", "loaded_at"))
    out = StringIO()
    call_command("load_ontologies", "--force", stdout=out)
    assert "DUO:" in out.getvalue()
    assert "DOID:" in out.getvalue()
    assert counts() == before
    for release in OntologyRelease.objects.all():
        assert release.loaded_at > loaded_at[release.ontology]
    event = AuditEvent.objects.filter(event_type=EventType.ONTOLOGY_LOADED).last()
    assert event.payload["counts"]["DOID"] == before["terms"] - event.payload["counts"]["DUO"]


@pytest.mark.django_db
def test_term_gone_from_the_file_becomes_obsolete_and_returns_when_restored(tmp_path):
    # DUO stands in for both ontologies (same loader, a fraction of DOID's load time): a copy
    # of the shipped files with one extra modifier, loaded, then the shipped files again.
    extended = tmp_path / "ontologies"
    shutil.copytree(ONTOLOGY_DIR, extended)
    with open(extended / "duo" / "duo.csv", "a", encoding="utf-8") as f:
        f.write("DUO:0099999,XMOD,made-up modifier,Only in this copy.\n")

    assert set(ontology.load(extended)) == {"DUO"}  # DOID did not change: skipped
    assert not OntologyTerm.objects.get(curie="DUO:0099999").obsolete

    assert set(ontology.load(ONTOLOGY_DIR)) == {"DUO"}
    gone = OntologyTerm.objects.get(curie="DUO:0099999")
    assert gone.obsolete  # kept, as scopes may refer to it, but no longer offered
    assert not OntologyTerm.objects.get(curie="DUO:0000044").obsolete

    ontology.load(extended)
    assert not OntologyTerm.objects.get(curie="DUO:0099999").obsolete


@pytest.mark.django_db
def test_missing_ontology_files_fail_the_command_with_their_names(tmp_path):
    with pytest.raises(CommandError, match=r"duo\.csv"):
        call_command("load_ontologies", "--dir", str(tmp_path), "--force")
