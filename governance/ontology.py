"""Reading the shipped DUO and DOID files, and loading them into `OntologyTerm`.

Parsing is pure (files in, dataclasses out); `load()` writes. The transitive closure is computed
here once, so that "every ancestor of a term" is one indexed query at run time.
"""

from __future__ import annotations

import csv
import hashlib
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from django.db import transaction
from django.utils import timezone

from audit import events

from .choices import DuoKind, Ontology
from .models import OntologyAncestry, OntologyRelease, OntologyTerm

DUO_PERMISSION_ROOT = "DUO:0000001"
DUO_MODIFIER_ROOT = "DUO:0000017"
DOID_ROOT = "DOID:4"

_NS = {
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
    "owl": "http://www.w3.org/2002/07/owl#",
    "oboInOwl": "http://www.geneontology.org/formats/oboInOwl#",
    "obo": "http://purl.obolibrary.org/obo/",
}
_DUO_IRI = re.compile(r"/obo/DUO_(\d+)$")


@dataclass
class ParsedTerm:
    curie: str
    label: str
    shorthand: str = ""
    description: str = ""
    obsolete: bool = False
    parents: set[str] = field(default_factory=set)
    duo_kind: str = ""


def _duo_curie(iri: str) -> str | None:
    # duo.owl spells NPOA's IRI with an extra zero (DUO_00000044): normalise through int().
    m = _DUO_IRI.search(iri or "")
    return f"DUO:{int(m.group(1)):07d}" if m else None


def parse_duo(csv_path: Path, owl_path: Path) -> dict[str, ParsedTerm]:
    terms: dict[str, ParsedTerm] = {}
    root = ET.parse(owl_path).getroot()  # noqa: S314
    for cls in root.findall("owl:Class", _NS):
        curie = _duo_curie(cls.get(f"{{{_NS['rdf']}}}about", ""))
        if not curie:
            continue
        label = cls.findtext("rdfs:label", default="", namespaces=_NS)
        term = ParsedTerm(
            curie=curie,
            label=label,
            shorthand=cls.findtext("oboInOwl:shorthand", default="", namespaces=_NS),
            description=cls.findtext("obo:IAO_0000115", default="", namespaces=_NS),
            obsolete=cls.findtext("owl:deprecated", default="", namespaces=_NS).strip() == "true",
        )
        for sub in cls.findall("rdfs:subClassOf", _NS):
            resource = sub.get(f"{{{_NS['rdf']}}}resource", "")
            if resource.endswith("#ObsoleteClass") or label.startswith("obsolete "):
                term.obsolete = True
            parent = _duo_curie(resource)
            if parent:
                term.parents.add(parent)
        terms[curie] = term
    # duo.csv is authoritative for shorthands, labels and descriptions of current terms.
    with open(csv_path, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            curie = row["id"].strip()
            term = terms.setdefault(curie, ParsedTerm(curie=curie, label=row["label"]))
            term.label = row["label"].strip() or term.label
            term.shorthand = row["shorthand"].strip() or term.shorthand
            term.description = row["description"].strip() or term.description
    closure = closure_of({c: t.parents for c, t in terms.items()})
    for curie, term in terms.items():
        ancestors = closure[curie]
        if curie in (DUO_PERMISSION_ROOT, DUO_MODIFIER_ROOT):
            term.duo_kind = DuoKind.OTHER
        elif DUO_PERMISSION_ROOT in ancestors:
            term.duo_kind = DuoKind.PERMISSION
        elif DUO_MODIFIER_ROOT in ancestors:
            term.duo_kind = DuoKind.MODIFIER
        else:
            term.duo_kind = DuoKind.OTHER
    return terms


def parse_doid(tsv_path: Path) -> dict[str, ParsedTerm]:
    """HumanDO.tsv: id, label, parent *label*; several rows for several parents."""
    rows = []
    with open(tsv_path, newline="", encoding="utf-8") as f:
        reader = csv.reader(f, delimiter="\t")
        next(reader)
        for row in reader:
            if len(row) >= 2:
                rows.append(
                    (row[0].strip(), row[1].strip(), row[2].strip() if len(row) > 2 else "")
                )
    # The root class "disease" (DOID:4) has no row of its own; it only appears as a parent.
    terms = {DOID_ROOT: ParsedTerm(curie=DOID_ROOT, label="disease")}
    for curie, label, _ in rows:
        terms.setdefault(curie, ParsedTerm(curie=curie, label=label))
    by_label = {t.label: c for c, t in terms.items()}
    for curie, _, parent_label in rows:
        if parent_label:
            parent = by_label.get(parent_label)
            if parent is None:
                raise ValueError(
                    f"{tsv_path.name}: {curie} names an unknown parent {parent_label!r}"
                )
            terms[curie].parents.add(parent)
    return terms


def closure_of(parents: dict[str, Iterable[str]]) -> dict[str, dict[str, int]]:
    """{term: {ancestor: shortest distance}} including the term itself at distance 0."""
    result: dict[str, dict[str, int]] = {}

    def visit(node: str, stack: frozenset[str]) -> dict[str, int]:
        if node in result:
            return result[node]
        if node in stack:
            raise ValueError(f"cycle in ontology at {node}")
        dist = {node: 0}
        for p in parents.get(node, ()):
            if p not in parents:
                continue
            for anc, d in visit(p, stack | {node}).items():
                if d + 1 < dist.get(anc, 1 << 30):
                    dist[anc] = d + 1
        result[node] = dist
        return dist

    for n in parents:
        visit(n, frozenset())
    return result


def source_digest(paths: Iterable[Path]) -> str:
    h = hashlib.sha256()
    for p in paths:
        h.update(p.name.encode())
        h.update(p.read_bytes())
    return h.hexdigest()


def _store(ontology: str, terms: dict[str, ParsedTerm]) -> int:
    OntologyTerm.objects.bulk_create(
        [
            OntologyTerm(
                curie=t.curie,
                ontology=ontology,
                label=t.label[:255],
                shorthand=t.shorthand,
                description=t.description,
                duo_kind=t.duo_kind,
                obsolete=t.obsolete,
            )
            for t in terms.values()
        ],
        update_conflicts=True,
        unique_fields=["curie"],
        update_fields=["ontology", "label", "shorthand", "description", "duo_kind", "obsolete"],
        batch_size=2000,
    )
    # Terms that left the ontology stay (scopes may refer to them) but become obsolete.
    gone = OntologyTerm.objects.filter(ontology=ontology).exclude(curie__in=list(terms))
    for term in gone:
        term.obsolete = True
        term.save(update_fields=["obsolete"])
    ids = dict(OntologyTerm.objects.filter(ontology=ontology).values_list("curie", "id"))
    through = OntologyTerm.parents.through
    through.objects.filter(from_ontologyterm_id__in=ids.values()).delete()
    through.objects.bulk_create(
        [
            through(from_ontologyterm_id=ids[t.curie], to_ontologyterm_id=ids[p])
            for t in terms.values()
            for p in t.parents
            if p in ids
        ],
        batch_size=5000,
    )
    OntologyAncestry.objects.filter(term_id__in=ids.values()).delete()
    closure = closure_of({c: t.parents for c, t in terms.items()})
    OntologyAncestry.objects.bulk_create(
        [
            OntologyAncestry(term_id=ids[c], ancestor_id=ids[a], distance=d)
            for c, ancestors in closure.items()
            for a, d in ancestors.items()
        ],
        batch_size=5000,
    )
    return len(terms)


def load(directory: Path, *, force: bool = False, actor=None) -> dict[str, int]:
    """Load or refresh DUO and DOID from `directory`. Returns {ontology: term count loaded};
    an ontology whose files did not change since the last load is skipped unless `force`."""
    sources = {
        Ontology.DUO: [directory / "duo" / "duo.csv", directory / "duo" / "duo.owl"],
        Ontology.DOID: [directory / "doid" / "HumanDO.tsv"],
    }
    loaded: dict[str, int] = {}
    with transaction.atomic():
        for ontology, paths in sources.items():
            missing = [str(p) for p in paths if not p.exists()]
            if missing:
                raise FileNotFoundError(f"ontology files missing: {', '.join(missing)}")
            digest = source_digest(paths)
            release = OntologyRelease.objects.filter(ontology=ontology).first()
            if release and release.source_sha256 == digest and not force:
                continue
            terms = parse_duo(*paths) if ontology == Ontology.DUO else parse_doid(paths[0])
            loaded[str(ontology)] = _store(ontology, terms)
            OntologyRelease.objects.update_or_create(
                ontology=ontology,
                defaults={
                    "source_sha256": digest,
                    "term_count": len(terms),
                    "loaded_at": timezone.now(),
                },
            )
        if loaded:
            events.ontology_loaded(actor=actor, counts=loaded)
    return loaded


def ancestors_of(curies: Iterable[str]) -> dict[str, set[str]]:
    """{curie: every ancestor's curie, itself included}, in one query whatever the depth."""
    out: dict[str, set[str]] = {c: set() for c in curies}
    rows = OntologyAncestry.objects.filter(term__curie__in=list(out)).values_list(
        "term__curie", "ancestor__curie"
    )
    for term, ancestor in rows:
        out[term].add(ancestor)
    return out
